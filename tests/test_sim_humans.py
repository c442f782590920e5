"""Virtual-human behaviour: approach and stop at distance, personal space, gaze statistics, moods."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import _tuples, make_profile
from vr.config import SceneConfig
from vr.sim import Command, FrameInputs, HeadPose, Session
from vr.sim.mathutil import direction, wrap_deg, yaw_pitch_to
from vr.sim.session import eye_position_m
from vr.sim.social import deal_moods

DT = 1 / 30


@pytest.fixture(scope="module")
def corridor() -> SceneConfig:
    """Six walkers whose paths all lead straight at the patient (a worst case for crowding)."""
    spawns = [{"id": f"w{i}", "path_m": [[-3.0 + 1.2 * i, 9.0], [0.0, 3.0], [0.0, 0.0]]} for i in range(6)]
    return SceneConfig.model_validate(_tuples({
        "schema_version": 1, "name": "corridor", "kind": "social", "room": {"size_m": [10, 20, 3]},
        "patient": {"position_m": [0, -1], "yaw_deg": 0}, "spawns": spawns}))


def step_n(session, n, head=None, commands=()):
    world = None
    for k in range(n):
        world, _ = session.step(FrameInputs(head or session.head, tuple(commands) if k == 0 else ()), DT)
    return world


def test_walkers_approach_to_target_distance_without_crowding(corridor):
    profile = make_profile([{"name": "a", "humans": 1, "proximity": {"distance_m": 2.0, "approach_speed_mps": 0.6}},
                            {"name": "b", "humans": 6, "proximity": {"distance_m": 1.0}}],
                           scene="corridor", safety={"min_distance_m": 0.8})
    session = Session(profile, corridor, 3)
    speeds, accel = [], []
    prev_v = 0.0
    for _ in range(int(40 / DT)):
        world, _ = session.step(FrameInputs(session.head), DT)
        v = float(world.humans.speed_mps[world.humans.present][0])
        speeds.append(v)
        accel.append(abs(v - prev_v) / DT)
        prev_v = v
    d = world.humans.distance_m[world.humans.present]
    assert d[0] == pytest.approx(2.0, abs=0.06)
    assert max(speeds) <= 0.6 + 1e-9 and max(accel) <= 0.8 + 1e-6  # speed and acceleration limits
    step_n(session, 1, commands=[Command("step_up")])
    world = step_n(session, int(60 / DT))
    h = world.humans
    pos = h.position_m[h.present]
    gaps = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(len(pos)) * 9
    assert h.count == 6 and gaps.min() >= 0.5 - 1e-6
    assert h.distance_m[h.present].min() >= 0.8 - 1e-6
    assert np.sort(h.distance_m[h.present])[0] == pytest.approx(1.0, abs=0.06)


def test_patient_walking_into_a_human_pushes_them_back(corridor):
    profile = make_profile([{"name": "a", "humans": 1, "proximity": {"distance_m": 1.5}}], scene="corridor",
                           safety={"min_distance_m": 1.0})
    session = Session(profile, corridor, 3)
    world = step_n(session, int(30 / DT))
    human = world.humans.position_m[world.humans.present][0]
    head = HeadPose((float(human[0]), float(human[1]) - 0.3, 1.6))  # the patient steps right up to them
    world = step_n(session, 1, head=head)
    assert world.humans.distance_m[world.humans.present][0] >= 1.0 - 1e-6


def test_seats_fill_nearest_the_target_distance(auditorium):
    near = Session(make_profile([{"name": "a", "humans": 15, "proximity": {"distance_m": 3.0}}]), auditorium, 1)
    far = Session(make_profile([{"name": "a", "humans": 15, "proximity": {"distance_m": 10.0}}]), auditorium, 1)
    dn = step_n(near, 2).humans
    df = step_n(far, 2).humans
    assert np.median(dn.distance_m[dn.present]) < 4.5 < 9.0 < np.median(df.distance_m[df.present])
    assert (dn.posture[dn.present] == 2).all()


@pytest.mark.parametrize("share,dwell", [(0.2, 1.5), (0.5, 3.3), (0.85, 5.0)])
def test_gaze_share_and_dwell_follow_the_profile(auditorium, share, dwell):
    profile = make_profile([{"name": "a", "humans": 30, "mood": "attentive", "proximity": {"distance_m": 5.0},
                             "gaze": {"at_patient_share": share, "mutual_dwell_s": dwell},
                             "dialogue": {"lines_per_min": 0}}])
    session = Session(profile, auditorium, 7)
    looking = []
    for _ in range(int(240 / DT)):
        world, _ = session.step(FrameInputs(session.head), DT)
        looking.append(world.humans.gaze_at_patient[world.humans.present])
    looks = np.array(looking[int(10 / DT):])
    assert looks.mean() == pytest.approx(share, abs=0.06)
    starts = (looks[1:] & ~looks[:-1]).sum()
    mean_bout_s = looks.sum() * DT / max(starts, 1)
    assert mean_bout_s == pytest.approx(dwell, rel=0.25)


def test_eyes_and_head_point_at_the_patient_when_looking(auditorium):
    profile = make_profile([{"name": "a", "humans": 20, "gaze": {"at_patient_share": 1.0},
                             "dialogue": {"lines_per_min": 0}}])
    session = Session(profile, auditorium, 2)
    world = step_n(session, int(5 / DT))
    h = world.humans
    idx = np.nonzero(h.present & h.gaze_at_patient)[0]
    assert len(idx) >= 15
    eye = eye_position_m(h.position_m, h.body_yaw_deg, h.height_m, h.posture)[idx]
    seen = direction(h.head_yaw_deg[idx] + h.eye_yaw_deg[idx], h.head_pitch_deg[idx] + h.eye_pitch_deg[idx])
    want = np.asarray(world.head.position_m) - eye
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.degrees(np.arccos(np.clip((seen * want).sum(1), -1, 1))).max() < 6.0
    # Head follows eyes: eyes sit within the follow threshold of the head's direction.
    assert np.abs(h.eye_yaw_deg[idx]).max() <= 15.0 + 1e-6


def test_head_follows_eyes_only_past_the_threshold(auditorium):
    profile = make_profile([{"name": "a", "humans": 30, "gaze": {"at_patient_share": 0.5, "head_follow_deg": 20}}])
    session = Session(profile, auditorium, 4)
    step_n(session, int(3 / DT))
    offsets = []
    for _ in range(int(30 / DT)):
        world, _ = session.step(FrameInputs(session.head), DT)
        h = world.humans
        offsets.append(np.abs(h.eye_yaw_deg[h.present]))
    offsets = np.concatenate(offsets)
    assert offsets.max() <= 35.0 + 1e-6          # eyes never past their limit in the head
    assert (offsets > 5.0).mean() > 0.05          # small shifts are made by the eyes alone
    assert np.percentile(offsets, 90) < 21.0      # larger ones bring the head along


def test_mixed_moods_are_dealt_by_share(auditorium):
    assert sorted(deal_moods((("attentive", 0.5), ("bored", 0.3), ("hostile", 0.2)), 10)) == [0] * 5 + [1] * 3 + [2] * 2
    assert len(deal_moods((("attentive", 1 / 3), ("bored", 1 / 3), ("hostile", 1 / 3)), 7)) == 7
    profile = make_profile([{"name": "a", "humans": 40, "mood": {"mixed": {"bored": 0.25, "hostile": 0.75}}}])
    h = step_n(Session(profile, auditorium, 1), 2).humans
    moods = h.mood[h.present]
    assert (moods == 1).sum() == 10 and (moods == 2).sum() == 30


def test_speaking_turns_follow_the_rate_one_at_a_time(auditorium):
    profile = make_profile([{"name": "a", "humans": 10, "dialogue": {"lines_per_min": 6.0}}])
    session = Session(profile, auditorium, 9)
    turns = 0
    for _ in range(int(600 / DT)):
        world, events = session.step(FrameInputs(session.head), DT)
        turns += sum(e.kind == "speech_turn" for e in events)
        assert world.humans.speaking.sum() <= 1
    # Poisson starts at 6/min while nobody speaks (turns last about 3 s): about 50 in 10 minutes.
    assert 35 <= turns <= 65


def test_wrap_and_yaw_conventions():
    assert wrap_deg(190.0) == pytest.approx(-170.0)
    yaw, pitch = yaw_pitch_to(np.array([-1.0, 0.0, 0.0]))
    assert yaw == pytest.approx(90.0) and pitch == pytest.approx(0.0)  # heading 90 faces -X
    np.testing.assert_allclose(direction(0.0, 0.0), [0, 1, 0], atol=1e-12)
    rng = np.random.default_rng(0)
    for yaw, pitch in rng.uniform([-180, -80], [180, 80], size=(200, 2)):
        y2, p2 = yaw_pitch_to(direction(yaw, pitch))
        assert wrap_deg(y2 - yaw) == pytest.approx(0.0, abs=1e-9) and p2 == pytest.approx(pitch)


@pytest.fixture(scope="module")
def chair_beside() -> SceneConfig:
    """One stranger who comes in at the far corner and sits on the chair beside the patient."""
    spawns = [{"id": "s", "path_m": [[3.0, 5.0], [1.5, 1.0], [0.7, 0.0]], "sits_at_end": True, "yaw_deg": 90.0}]
    return SceneConfig.model_validate(_tuples({
        "schema_version": 1, "name": "chair_beside", "kind": "social", "room": {"size_m": [10, 12, 3]},
        "patient": {"position_m": [0, 0], "yaw_deg": 0, "posture": "sitting"}, "spawns": spawns}))


def test_a_stranger_walks_over_turns_and_sits_beside_the_patient(chair_beside):
    profile = make_profile([{"name": "a", "humans": 1, "proximity": {"distance_m": 3.0}},
                            {"name": "b", "humans": 1, "proximity": {"distance_m": 2.0}}],
                           scene="chair_beside", safety={"min_distance_m": 0.5})
    session = Session(profile, chair_beside, 4)
    postures, first_seated, stood = [], None, None
    for k in range(int(30 / DT)):
        h = session.step(FrameInputs(session.head), DT)[0].humans
        postures.append(int(h.posture[0]))
        if h.posture[0] != 2:
            stood = h.position_m[0].copy()
        if first_seated is None and h.posture[0] == 2:
            first_seated = (h.position_m[0].copy(), float(h.body_yaw_deg[0]))
    assert postures[0] != 2 and 1 in postures                        # comes in at the door on foot
    assert first_seated is not None, "never sat down"
    walked = postures.index(2)
    assert postures[walked - 1] == 0                                 # stopped (and turned) before sitting
    assert np.allclose(first_seated[0], [0.7, 0.0], atol=0.01)       # on the seat, not short of it
    assert abs(wrap_deg(first_seated[1] - 90.0)) < 20.0              # facing the seat's way
    assert np.linalg.norm(stood - [0.7, 0.0]) == pytest.approx(0.3, abs=0.01)   # stood in front of it, sat back
    assert set(postures[walked:]) == {2}                             # and stays seated
    # A step that keeps the same person keeps them in their seat.
    world = step_n(session, int(5 / DT), commands=[Command("step_up")])
    assert world.humans.posture[0] == 2 and np.allclose(world.humans.position_m[0], [0.7, 0.0], atol=0.01)


def test_a_seat_inside_the_minimum_distance_is_never_taken(chair_beside):
    profile = make_profile([{"name": "a", "humans": 1, "proximity": {"distance_m": 3.0}}],
                           scene="chair_beside", safety={"min_distance_m": 1.0})
    session = Session(profile, chair_beside, 4)
    closest = 9.0
    for _ in range(int(30 / DT)):
        h = session.step(FrameInputs(session.head), DT)[0].humans
        closest = min(closest, float(h.distance_m[0]))
        assert h.posture[0] != 2
    assert 1.0 - 1e-6 <= closest < 1.1                                # stops at the limit, standing
