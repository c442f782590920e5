"""Motion of the skinned humans (vr.render.motion through the posing pass): gait, sitting, turning, gestures."""

from __future__ import annotations

import numpy as np
import pytest

from vr.render import bodies, motion, posing
from vr.sim.crowd import POSTURE_SEATED, POSTURE_STANDING, POSTURE_WALKING
from vr.sim.social import GESTURES
from tests.test_posing import DT, joints_world, state


@pytest.fixture(scope="module")
def assets():
    return {name: bodies.load_body(name) for name in bodies.BODY_NAMES}


def walk(rig, speed_mps: float, yaw_deg: float, frames: int):
    """Walk every human in a straight line at constant speed; (phases (T, N), joints (T, N, J, 3))."""
    poser = posing.CrowdPoser(rig)
    n = rig.count
    fwd = np.array([-np.sin(np.radians(yaw_deg)), np.cos(np.radians(yaw_deg))])
    phases, world = [], []
    for k in range(frames):
        pos = np.tile(fwd * speed_mps * k * DT, (n, 1)) + np.arange(n)[:, None] * np.array([[2.0, 0.0]])
        h = state(n, position_m=pos, speed_mps=np.full(n, speed_mps), posture=np.full(n, POSTURE_WALKING, np.int8),
                  body_yaw_deg=np.full(n, yaw_deg), head_yaw_deg=np.full(n, yaw_deg),
                  height_m=rig.heights_m.astype(float))
        out = poser.pose(h, k * DT, DT, (0, 0, 0))
        phases.append(poser.phase.copy())
        world.append(joints_world(rig, out))
    return np.array(phases), np.array(world)


@pytest.mark.parametrize("speed_mps", [0.7, 1.2, 1.5])
def test_stance_feet_stay_planted(assets, speed_mps):
    """Over whole stances at constant speed, each foot's toe joint moves < 2 cm over the ground,
    and the ankle not at all while the foot is flat."""
    heights = np.array([1.52, 1.70, 1.95])
    rig = posing.build_rig([3, 4, 5], heights, ["female", "male", "male"], assets=assets)
    phases, world = walk(rig, speed_mps, 30.0, 400)
    checked = 0
    for side, lag in (("L", 0.0), ("R", 0.5)):
        toe, ankle = rig.joint_index(f"toe3-1.{side}"), rig.joint_index(f"foot.{side}")
        for i in range(rig.count):
            p = (phases[:, i] + lag) % 1.0
            on = np.flatnonzero(p < motion.STANCE)
            for run in np.split(on, np.flatnonzero(np.diff(on) > 1) + 1)[1:-1]:   # whole stances only ...
                if run[0] < 90:                                                     # ... once up to speed
                    continue
                xy = world[run, i, toe, :2]
                assert np.linalg.norm(xy[:, None] - xy[None], axis=-1).max() < 0.02
                flat = run[(p[run] > motion.HEEL_ROCK * motion.STANCE + 0.02)
                           & (p[run] < motion.BALL_ROCK * motion.STANCE - 0.02)]
                assert np.ptp(world[flat, i, ankle], axis=0).max() < 0.005
                assert world[run, i, toe, 2].min() > 0.0               # above the floor ...
                checked += 1
    assert checked >= 3 * rig.count
    # ... and the swing foot really lifts and travels a stride.
    ankle = world[:, 0, rig.joint_index("foot.L")]
    assert np.ptp(ankle[:, 2]) > 0.04


def test_gait_phase_follows_distance_not_the_clock(assets):
    rig = posing.build_rig([1], [1.7], assets=assets)
    poser = posing.CrowdPoser(rig)
    for k in range(50):                       # standing: no walking however long
        poser.pose(state(1), k * DT, DT, (0, 0, 0))
    assert poser.phase[0] == 0.0
    walking = state(1, speed_mps=np.array([1.0]), posture=np.array([1], np.int8))
    for k in range(90):                       # up to speed (the gait eases in over a fraction of a second)
        poser.pose(walking, k * DT, DT, (0, 0, 0))
    before = poser.phase[0]
    for k in range(90, 180):
        poser.pose(walking, k * DT, DT, (0, 0, 0))
    hip = rig.joint_heads_m[:, rig.joint_index("upperleg01.L"), 2]
    cycles = motion.cadence_hz(np.array([1.0 / rig.scale[0]]), hip)[0]    # one second at 1 m/s
    assert 0.8 < cycles < 1.2
    assert abs((poser.phase[0] - before) % 1.0 - cycles % 1.0) < 0.01


def test_gait_cycle_arms_swing_against_the_legs():
    phase = np.linspace(0, 1, 9)[:-1].astype(np.float32)
    body = motion.gait_body(phase, np.ones_like(phase))
    feet, pitch, _ = motion.gait(phase, np.full_like(phase, 1.1), np.full_like(phase, 0.07),
                                 np.full_like(phase, 0.05), np.full_like(phase, 0.14), np.full_like(phase, 0.08),
                                 np.full_like(phase, 0.025))
    forward = -feet[..., 1]                  # the body faces -Y
    # At the left heel strike the left foot is ahead and the left arm back, the right arm forward.
    assert forward[0, 0] > 0.2 and forward[0, 1] < -0.2
    assert body["arm_deg"][0, 0] < -10 and body["arm_deg"][0, 1] > 10
    assert pitch[0, 0] > 5 and pitch[0, 1] < -10               # heel strike toes up, toe-off heel up


def test_sitting_down_and_standing_up_is_continuous(assets):
    """A human stands, sits (posture 2), stands up: joints never jump more than 3 cm a frame at
    90 Hz, the transition takes about a second, and seated hips and knees are near 90 degrees."""
    rig = posing.build_rig([8], [1.75], assets=assets)
    poser = posing.CrowdPoser(rig)
    plan = [POSTURE_STANDING] * 30 + [POSTURE_SEATED] * 200 + [POSTURE_STANDING] * 200
    world, seated_at = [], None
    for k, posture in enumerate(plan):
        h = state(1, posture=np.array([posture], np.int8), height_m=np.array([1.75]), position_m=np.array([[1.0, 2.0]]))
        out = poser.pose(h, k * DT, DT, (0, 0, 0))
        world.append(joints_world(rig, out)[0])
        if k == 229:
            seated_at = joints_world(rig, out)[0]
    world = np.array(world)
    step = np.linalg.norm(np.diff(world, axis=0), axis=-1).max(axis=1)
    assert step.max() < 0.03, step.max()
    eye = world[:, rig.joint_index("eye.L"), 2]
    moving = np.flatnonzero(np.abs(np.diff(eye)) > 1e-3)
    sit_frames = moving[(moving >= 30) & (moving < 230)]
    assert 60 <= sit_frames[-1] - sit_frames[0] + 1 <= 130        # about a second
    hip, knee, ankle = (seated_at[rig.joint_index(f"{j}.L")] for j in ("upperleg01", "lowerleg01", "foot"))
    thigh, shin = knee - hip, ankle - knee
    assert abs(np.degrees(np.arctan2(thigh[2], np.hypot(thigh[0], thigh[1])))) < 20       # thigh level
    assert np.degrees(np.arccos(-shin[2] / np.linalg.norm(shin))) < 25                   # shin upright
    assert seated_at[rig.joint_index("toe1-1.L"), 2] < 0.06                              # feet on the floor
    assert world[-1, rig.joint_index("eye.L"), 2] == pytest.approx(world[20, rig.joint_index("eye.L"), 2], abs=0.03)


def test_a_human_arriving_seated_starts_seated(assets):
    rig = posing.build_rig([8], [1.75], assets=assets)
    h = state(1, posture=np.array([2], np.int8), height_m=np.array([1.75]))
    out = posing.CrowdPoser(rig).pose(h, 0.0, DT, (0, 0, 0))
    assert out.eye_m[0, 2] == pytest.approx(0.30 + 0.52 * 1.75, abs=0.03)


def test_turning_on_the_spot_steps(assets):
    rig = posing.build_rig([2], [1.7], assets=assets)
    poser = posing.CrowdPoser(rig)
    lifts = []
    for k in range(180):
        yaw = np.array([90.0 * k * DT if k >= 60 else 0.0])     # still for 60 frames, then turning 90 deg/s
        out = poser.pose(state(1, body_yaw_deg=yaw, head_yaw_deg=yaw), k * DT, DT, (0, 0, 0))
        w = joints_world(rig, out)[0]
        lifts.append(max(w[rig.joint_index("foot.L"), 2], w[rig.joint_index("foot.R"), 2]))
    lifts = np.array(lifts) - lifts[0]
    assert np.abs(lifts[:60]).max() < 0.005 and lifts[70:].max() > 0.02


def test_gestures_pose_the_body_and_ease_in(assets):
    n = len(GESTURES)
    rig = posing.build_rig(np.ones(n, int), np.full(n, 1.7), ["female"] * n, assets=assets)
    poser = posing.CrowdPoser(rig)
    g = np.arange(n, dtype=np.int8)
    first = joints_world(rig, poser.pose(state(n, gesture=g, seed=np.ones(n, np.int64)), 0.0, DT, (0, 0, 0)))
    later = joints_world(rig, run_frames(poser, state(n, gesture=g, seed=np.ones(n, np.int64)), 60))
    moved = np.linalg.norm(later - later[0], axis=-1).max(axis=1)     # against 'none', same person and time
    jump = np.linalg.norm(first - first[0], axis=-1).max(axis=1)
    for name in ("lean_in", "look_at_phone", "slump", "cross_arms"):
        assert moved[GESTURES.index(name)] > 0.05, name
        assert jump[GESTURES.index(name)] < 0.02, name                 # eased in, not snapped
    wrists = [rig.joint_index(f"wrist.{s}") for s in "LR"]
    crossed = later[GESTURES.index("cross_arms"), wrists]
    assert abs(crossed[0, 0] - crossed[1, 0]) < abs(later[0, wrists[0], 0] - later[0, wrists[1], 0]) - 0.2


def run_frames(poser, h, frames):
    out = None
    for k in range(frames):
        out = poser.pose(h, (k + 1) * DT, DT, (0, 0, 0))
    return out


def test_a_walker_stopped_within_a_frame_winds_down_smoothly(assets):
    """The simulation may set a walker's speed to 0 from one step to the next (at its target) and
    start turning it: the legs and arms settle without jumps. A jump shows as a second difference
    of a joint's path (a swinging foot's own acceleration is a few millimetres a frame squared)."""
    rig = posing.build_rig([2], [1.8], assets=assets)
    poser = posing.CrowdPoser(rig)
    world, x = [], 0.0
    for k in range(300):
        walking = k < 150
        x += 1.2 * DT if walking else 0.0
        yaw = np.array([-90.0 if k < 160 else -90.0 + 2.0 * min(k - 160, 30)])     # then a 60 degree turn
        h = state(1, position_m=np.array([[x, 0.0]]), speed_mps=np.array([1.2 if walking else 0.0]),
                  posture=np.array([1 if walking else 0], np.int8), body_yaw_deg=yaw, head_yaw_deg=yaw)
        rel = joints_world(rig, poser.pose(h, k * DT, DT, (0, 0, 0)))[0] - np.array([x, 0.0, 0.0])
        c, s = np.cos(np.radians(-yaw[0])), np.sin(np.radians(-yaw[0]))       # in the human's own frame
        world.append(rel @ np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]))
    jerk = np.linalg.norm(np.diff(np.array(world), n=2, axis=0), axis=-1).max(axis=1)
    assert jerk[100:].max() < 0.012, (int(np.argmax(jerk[100:])) + 100, jerk[100:].max())
