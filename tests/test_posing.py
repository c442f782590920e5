"""The posing pass of the skinned humans (vr.render.posing): conventions, placement, gaze, face, repeatability."""

from __future__ import annotations

import numpy as np
import pytest

from vr.render import bodies, motion, posing
from vr.sim.crowd import POSTURE_SEATED, POSTURE_STANDING
from vr.sim.mathutil import direction, yaw_pitch_to
from vr.sim.session import eye_position_m
from vr.sim.types import HumansState

DT = 1.0 / 90.0


@pytest.fixture(scope="module")
def assets():
    return {name: bodies.load_body(name) for name in bodies.BODY_NAMES}


def state(n: int, **kw) -> HumansState:
    """A crowd of ``n`` standing humans at the origin facing +Y, changed by keyword."""
    z = np.zeros(n)
    d = dict(ids=tuple(f"h{i}" for i in range(n)), present=np.ones(n, bool), position_m=np.zeros((n, 2)),
             height_m=np.full(n, 1.7), body_yaw_deg=z.copy(), head_yaw_deg=z.copy(), head_pitch_deg=z.copy(),
             eye_yaw_deg=z.copy(), eye_pitch_deg=z.copy(), gaze_target_m=np.tile([0.0, 3.0, 1.6], (n, 1)),
             gaze_at_patient=np.zeros(n, bool), distance_m=np.full(n, 3.0), speed_mps=z.copy(),
             posture=np.zeros(n, np.int8), mood=np.full(n, 4, np.int8), gesture=np.zeros(n, np.int8),
             blinking=np.zeros(n, bool), speaking=np.zeros(n, bool), seed=np.arange(n, dtype=np.int64) + 1)
    d.update(kw)
    return HumansState(**d)


def joints_world(rig: posing.CrowdRig, pose: posing.CrowdPose) -> np.ndarray:
    """Every joint's world position (N, J, 3): its skinning matrix applied to its shaped rest position."""
    p = rig.joint_heads_m
    return np.einsum("njab,njb->nja", pose.skin[..., :3], p) + pose.skin[..., 3]


def run(poser: posing.CrowdPoser, h: HumansState, frames: int, t0: float = 0.0, **kw) -> posing.CrowdPose:
    out = None
    for k in range(frames):
        out = poser.pose(h, t0 + k * DT, DT, (0.0, 0.0, 1.6), **kw)
    return out


def test_face_units_are_baked_units():
    labels = set(np.load(bodies.ASSETS_DIR / "face_units.npz")["labels"].astype(str))
    assert set(posing.FACE_UNITS) <= labels and len(posing.FACE_UNITS) <= 16


def test_identity_skin_at_rest(assets):
    rig = posing.build_rig([5, 6], [1.65, 1.8], ["female", "male"], assets=assets)
    n, a = rig.count, len(rig.animated)
    local = np.broadcast_to(np.eye(3, dtype=np.float32), (n, a, 3, 3)).copy()
    root_t = rig.rest_m[:, 0]
    g_rot, g_t = posing.forward_kinematics(rig, local, root_t, np.broadcast_to(np.eye(3, dtype=np.float32), (n, 3, 3)),
                                           np.zeros((n, 3), np.float32))
    skin = posing.skin_matrices(rig, g_rot, g_t)
    assert skin.shape == (n, len(rig.joint_names), 3, 4) and skin.dtype == np.float32
    np.testing.assert_allclose(skin[..., :3], np.broadcast_to(np.eye(3), skin[..., :3].shape), atol=1e-6)
    np.testing.assert_allclose(skin[..., 3], 0.0, atol=1e-6)
    # ... and the joints then sit at their shaped rest positions (all 104, moving or not).
    np.testing.assert_allclose(g_t, rig.rest_m, atol=1e-6)


def test_rig_shapes_heights_and_body_choice(assets):
    seeds, heights = np.arange(40) + 100, np.linspace(1.50, 1.98, 40)
    rig = posing.build_rig(seeds, heights, assets=assets)
    assert rig.shape_weights.shape == (40, 2 * len(bodies.SHAPE_AXES)) and rig.joint_heads_m.shape == (40, 104, 3)
    assert rig.bodies[0] == "female" and rig.bodies[-1] == "male"       # 1.50 m and 1.98 m slots
    assert rig.bodies == posing.build_rig(seeds, heights, assets=assets).bodies
    for i in (0, 17, 39):                      # the scaled, shaped stature is the slot's height
        a = assets[rig.bodies[i]]
        verts = a.vertices + np.tensordot(rig.shape_weights[i], a.shape_deltas, 1)
        assert abs(np.ptp(verts[:, 2]) * rig.scale[i] - heights[i]) < 0.003
        np.testing.assert_allclose(rig.joint_heads_m[i], assets[rig.bodies[i]].joint_heads + np.tensordot(
            rig.shape_weights[i], assets[rig.bodies[i]].shape_joint_deltas, 1), atol=1e-5)
    # The seed's shape keeps every axis but height.
    shape = bodies.target_weights(bodies.shape_for_seed(117))
    k = bodies.SHAPE_AXES.index("height")
    keep = np.r_[0:2 * k, 2 * k + 2:len(shape)]
    np.testing.assert_allclose(rig.shape_weights[17, keep], shape[keep], atol=1e-6)


def test_rig_errors_say_what_is_wrong(assets):
    with pytest.raises(ValueError, match="2 seeds but 1 heights"):
        posing.build_rig([1, 2], [1.7], assets=assets)
    with pytest.raises(ValueError, match="unknown bodies"):
        posing.build_rig([1], [1.7], ["robot"], assets=assets)
    import dataclasses
    odd = dataclasses.replace(assets["male"], joint_names=("pelvis",) + assets["male"].joint_names[1:])
    with pytest.raises(ValueError, match="different rigs"):
        posing.build_rig([1, 2], [1.7, 1.7], ["female", "male"], assets={"female": assets["female"], "male": odd})
    poser = posing.CrowdPoser(posing.build_rig([1], [1.7], assets=assets))
    with pytest.raises(ValueError, match="rig has 1 humans but the state 2"):
        poser.pose(state(2), 0.0, DT, (0, 0, 0))


@pytest.mark.parametrize("posture", [POSTURE_STANDING, POSTURE_SEATED])
def test_eyes_where_the_simulation_puts_them(assets, posture):
    n = 6
    rng = np.random.default_rng(3)
    pos = rng.uniform(-4, 4, (n, 2))
    yaw = np.array([0.0, 90.0, -90.0, 180.0, 33.0, -140.0])
    heights = np.array([1.52, 1.60, 1.68, 1.75, 1.86, 1.97])
    rig = posing.build_rig(np.arange(n) + 11, heights, assets=assets)
    h = state(n, position_m=pos, body_yaw_deg=yaw, head_yaw_deg=yaw, height_m=heights,
              posture=np.full(n, posture, np.int8))
    eye_sim = eye_position_m(pos, yaw, heights, h.posture)
    h = state(n, position_m=pos, body_yaw_deg=yaw, head_yaw_deg=yaw, height_m=heights, posture=h.posture,
              gaze_target_m=eye_sim + direction(yaw, 0.0) * 2.0)
    out = run(posing.CrowdPoser(rig), h, 90)
    err = np.linalg.norm(out.eye_m - eye_sim, axis=1)
    assert err.max() < 0.03, err
    # The eye joints are what the renderer skins the eyeballs with: eye_m is their midpoint.
    world = joints_world(rig, out)
    mid = 0.5 * (world[:, rig.joint_index("eye.L")] + world[:, rig.joint_index("eye.R")])
    np.testing.assert_allclose(mid, out.eye_m, atol=1e-5)


def test_body_yaw_faces_like_the_old_humans(assets):
    """body_yaw 0 faces +Y (vr.sim.mathutil.forward_xy); 90 faces -X; the toes point the same way."""
    rig = posing.build_rig([1, 2], [1.7, 1.7], assets=assets)
    out = run(posing.CrowdPoser(rig), state(2, body_yaw_deg=np.array([0.0, 90.0]), head_yaw_deg=np.array([0.0, 90.0]),
                                            gaze_target_m=np.array([[0, 3, 1.6], [-3, 0, 1.6]])), 5)
    world = joints_world(rig, out)
    toe = world[:, rig.joint_index("toe1-1.L")] - world[:, rig.joint_index("foot.L")]
    assert toe[0, 1] > 0.1 and abs(toe[0, 0]) < 0.05
    assert toe[1, 0] < -0.1 and abs(toe[1, 1]) < 0.05
    left = world[:, rig.joint_index("upperarm01.L")]          # the body's left hand side
    assert left[0, 0] < -0.1 and left[1, 1] < -0.1


def eye_forward(rig: posing.CrowdRig, pose: posing.CrowdPose, name: str) -> np.ndarray:
    rot = pose.skin[:, rig.joint_index(name), :, :3]
    f = rot @ np.array([0.0, -1.0, 0.0])                     # the eyes look along -Y at rest
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_eyes_look_at_the_patient(assets):
    """With the sim's head angles toward the patient, both eyes point at the patient's eyes."""
    n = 5
    pos = np.array([[0.0, 1.2], [1.5, 2.0], [-2.0, 3.0], [0.5, 0.9], [3.0, -1.0]])
    patient = np.array([0.0, 0.0, 1.62])
    yaw_body = np.array([180.0, 150.0, -140.0, 160.0, 60.0])
    heights = np.full(n, 1.72)
    posture = np.array([0, 0, 2, 0, 2], np.int8)
    eye = eye_position_m(pos, yaw_body, heights, posture)
    head_yaw, head_pitch = yaw_pitch_to(patient[None] - eye)
    rig = posing.build_rig(np.arange(n) + 40, heights, assets=assets)
    h = state(n, position_m=pos, body_yaw_deg=yaw_body, head_yaw_deg=head_yaw, head_pitch_deg=0.6 * head_pitch,
              height_m=heights, posture=posture, gaze_target_m=np.tile(patient, (n, 1)),
              gaze_at_patient=np.ones(n, bool))
    out = run(posing.CrowdPoser(rig), h, 30)
    world = joints_world(rig, out)
    for name in ("eye.L", "eye.R"):
        to = patient[None] - world[:, rig.joint_index(name)]
        to /= np.linalg.norm(to, axis=1, keepdims=True)
        angle = np.degrees(np.arccos(np.clip(np.sum(eye_forward(rig, out, name) * to, axis=1), -1, 1)))
        assert angle.max() < 2.0, angle
    # The head turned with the sim's head heading: its forward is within a few degrees of it.
    head = out.skin[:, rig.joint_index("head"), :, :3] @ np.array([0.0, -1.0, 0.0])
    head_world_yaw, _ = yaw_pitch_to(head)
    assert np.abs((head_world_yaw - head_yaw + 180) % 360 - 180).max() < 8.0


def test_same_seed_and_state_give_identical_arrays(assets):
    rng = np.random.default_rng(5)
    n = 12
    h = state(n, position_m=rng.uniform(-3, 3, (n, 2)), body_yaw_deg=rng.uniform(-180, 180, n),
              speed_mps=np.where(np.arange(n) % 3 == 0, 1.1, 0.0), posture=np.array([1, 0, 2] * 4, np.int8),
              gesture=rng.integers(0, 9, n).astype(np.int8), speaking=np.arange(n) % 4 == 0,
              mood=rng.integers(0, 5, n).astype(np.int8), seed=rng.integers(0, 2**31, n))
    outs = []
    for _ in range(2):
        poser = posing.CrowdPoser(posing.build_rig(h.seed, h.height_m, assets=assets))
        outs.append(run(poser, h, 40, t0=12.0))
    for field in ("skin", "local_rot", "face", "visible", "eye_m"):
        np.testing.assert_array_equal(getattr(outs[0], field), getattr(outs[1], field))


def test_neighbours_breathe_and_sway_out_of_step(assets):
    rig = posing.build_rig([1, 2], [1.7, 1.7], ["female", "female"], assets=assets)
    poser = posing.CrowdPoser(rig)
    chest = rig.joint_index("spine01")
    track = []
    for k in range(360):                       # four seconds standing still
        out = poser.pose(state(2, position_m=np.array([[0.0, 0.0], [1.0, 0.0]])), k * DT, DT, (0, 0, 0))
        track.append(joints_world(rig, out)[:, chest] - np.array([[0, 0, 0], [1.0, 0, 0]]))
    track = np.array(track)                     # (T, 2, 3)
    assert np.ptp(track[:, 0], axis=0).max() > 0.004         # they move at all ...
    assert np.abs(track[:, 0] - track[:, 1]).max() > 0.004   # ... and not together


def test_blinks_close_both_lids(assets):
    rig = posing.build_rig([1, 2], [1.7, 1.7], assets=assets)
    out = run(posing.CrowdPoser(rig), state(2, blinking=np.array([True, False])), 2)
    f = {u: out.face[:, i] for i, u in enumerate(posing.FACE_UNITS)}
    assert f["eyeBlinkLeft"][0] == 1.0 and f["eyeBlinkRight"][0] == 1.0
    assert f["eyeBlinkLeft"][1] < 0.2 and f["eyeBlinkRight"][1] < 0.2
    assert out.face.dtype == np.float32 and out.face.min() >= 0.0 and out.face.max() <= 1.0


def test_mouth_loudness_opens_the_jaw_and_silence_keeps_it_shut(assets):
    n = 4
    rig = posing.build_rig(np.arange(n) + 1, np.full(n, 1.7), assets=assets)
    poser = posing.CrowdPoser(rig)
    h = state(n, speaking=np.array([True, True, True, False]))
    jaw = posing.FACE_UNITS.index("jawOpen")
    opened = []
    for k in range(90):
        out = poser.pose(h, k * DT, DT, (0, 0, 0), mouth=np.array([0.0, 0.4, 1.0, 1.0]))
        opened.append(out.face[:, jaw])
    opened = np.array(opened)
    mean = opened.mean(axis=0)
    assert mean[0] < mean[1] < mean[2]           # louder, wider
    assert opened[:, 3].max() == 0.0             # not speaking: shut, whatever the audio
    # Without audio (NaN) a speaker mimes syllables: the jaw opens and closes, varied.
    mimed = np.array([poser.pose(state(n, speaking=np.ones(n, bool)), k * DT, DT, (0, 0, 0),
                                 mouth=np.full(n, np.nan)).face[:, jaw] for k in range(180)])
    assert np.ptp(mimed, axis=0).min() > 0.3
    shapes = [posing.FACE_UNITS.index(u) for u in ("mouthFunnel", "mouthPucker")]
    assert out.face[:, shapes].shape == (n, 2)


def test_mood_shows_in_the_face(assets):
    moods = np.array([motion.M["friendly"], motion.M["hostile"], motion.M["neutral"]], np.int8)
    rig = posing.build_rig([1, 2, 3], [1.7] * 3, assets=assets)
    out = run(posing.CrowdPoser(rig), state(3, mood=moods), 2)
    f = {u: out.face[:, i] for i, u in enumerate(posing.FACE_UNITS)}
    assert f["mouthSmileLeft"][0] > 0.3 and f["mouthSmileLeft"][1] == 0.0
    assert f["mouthFrownLeft"][1] > 0.3 and f["browDownLeft"][1] > 0.3
    assert f["mouthSmileLeft"][2] == 0.0 and f["mouthFrownLeft"][2] == 0.0


def test_absent_humans_are_not_visible_and_local_rotations_are_rotations(assets):
    rig = posing.build_rig([1, 2], [1.7, 1.7], assets=assets)
    out = run(posing.CrowdPoser(rig), state(2, present=np.array([True, False]), gesture=np.array([5, 3], np.int8)), 30)
    assert out.visible.tolist() == [True, False]
    r = out.local_rot
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-5)
    fingers = rig.joint_index("finger2-2.L")
    np.testing.assert_array_equal(r[:, fingers], np.broadcast_to(np.eye(3), (2, 3, 3)))
