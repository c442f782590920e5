"""The session core's behaviour: hierarchy rules, clinician commands, safety caps, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_profile
from vr.sim import Command, FrameInputs, HeadPose, Rating, Session

DT = 1 / 30


def run(session: Session, seconds: float, head: HeadPose | None = None, commands=(), ratings=()):
    """Step for ``seconds``; commands and ratings go in the first step. Returns (world, all events)."""
    head = head or session.head
    events = []
    world = None
    for k in range(max(1, int(round(seconds / DT)))):
        inputs = FrameInputs(head, tuple(commands) if k == 0 else (), tuple(ratings) if k == 0 else ())
        world, ev = session.step(inputs, DT)
        events.extend(ev)
    return world, events


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


@pytest.fixture
def ladder(auditorium):
    profile = make_profile([
        {"name": "empty", "humans": 0, "intensity": 0.0},
        {"name": "few", "humans": 5, "intensity": 0.3, "advance_when": {"suds_at_most": 40, "held_s": 5, "min_s": 2}},
        {"name": "more", "humans": 20, "intensity": 0.6, "retreat_when": {"suds_at_least": 70, "held_s": 3}},
        {"name": "most", "humans": 40, "intensity": 0.8},
    ], safety={"max_intensity": 0.85, "suds_ceiling": 80, "ceiling_hold_s": 4, "max_session_min": 5})
    return Session(profile, auditorium, seed=11)


def test_panic_reaches_safe_scene_in_one_step_from_every_mode(ladder):
    run(ladder, 1.0, commands=[Command("goto_step", 3)])
    world, _ = run(ladder, 2.0)
    assert world.humans.count == 40 and world.scene == "auditorium"
    world, events = ladder.step(FrameInputs(ladder.head, (Command("panic"),)), DT)
    assert world.scene == "calm_room" and world.mode == "safe"
    assert world.humans.count == 0 and not world.humans.speaking.any()
    assert [e.kind for e in events][:3] == ["clinician_command", "panic", "safe_scene"]
    # From paused, too.
    world, _ = run(ladder, 0.5, commands=[Command("resume")])
    assert world.mode == "running"
    run(ladder, 0.5, commands=[Command("pause")])
    world, _ = ladder.step(FrameInputs(ladder.head, (Command("panic"),)), DT)
    assert world.mode == "safe" and world.humans.count == 0


def test_resume_after_panic_goes_one_step_lower(ladder):
    run(ladder, 0.5, commands=[Command("goto_step", 2)])
    run(ladder, 0.5, commands=[Command("panic")])
    world, events = run(ladder, 0.5, commands=[Command("resume")])
    assert world.mode == "running" and world.step_index == 1
    assert kinds(events, "step_started")[0].data["reason"] == "resume_after_safe"


def test_pause_freezes_humans_and_step_clock(ladder):
    world, _ = run(ladder, 0.2, commands=[Command("goto_step", 3)])
    world, _ = run(ladder, 1.0)
    run(ladder, DT, commands=[Command("pause")])
    before_pos, before_t = ladder.crowd.pos.copy(), ladder.engine.step_t_s
    world, events = run(ladder, 3.0)
    assert world.mode == "paused"
    np.testing.assert_array_equal(before_pos, world.humans.position_m)
    assert ladder.engine.step_t_s == before_t
    assert not kinds(events, "speech_turn") and not kinds(events, "gesture")


def test_suds_settled_advances_after_hold_and_min_time(ladder):
    run(ladder, 0.5, commands=[Command("step_up")])
    world, events = run(ladder, 1.0, ratings=[Rating("suds", 30)])
    assert world.step_index == 1, "min_s and held_s not reached yet"
    world, events = run(ladder, 5.0)
    started = kinds(events, "step_started")
    assert started and started[0].data == {"index": 2, "name": "more", "reason": "suds_settled", "from": 1}


def test_a_higher_rating_resets_the_hold(ladder):
    run(ladder, 0.5, commands=[Command("step_up")])
    run(ladder, 3.0, ratings=[Rating("suds", 30)])
    world, _ = run(ladder, 3.0, ratings=[Rating("suds", 55)])
    assert world.step_index == 1


def test_retreat_rule_steps_down(ladder):
    run(ladder, 0.5, commands=[Command("goto_step", 2)])
    world, events = run(ladder, 4.0, ratings=[Rating("suds", 75)])
    assert world.step_index == 1
    assert kinds(events, "step_started")[0].data["reason"] == "retreat_rule"


def test_suds_above_ceiling_steps_down_once_per_rating_and_alerts(ladder):
    run(ladder, 0.5, commands=[Command("goto_step", 3)])
    world, events = run(ladder, 4.5, ratings=[Rating("suds", 90)])
    assert world.step_index == 2
    alert = kinds(events, "alert")[0].data
    assert alert["reason"] == "suds_ceiling" and alert["suds"] == 90
    assert world.rating_prompt == "suds"
    world, _ = run(ladder, 10.0)
    assert world.step_index == 2, "one stale rating steps down only once"
    # A new rating above the ceiling: this step's retreat rule (70, 3 s) and then the ceiling (4 s) both act.
    world, events = run(ladder, 4.5, ratings=[Rating("suds", 95)])
    assert [e.data["reason"] for e in kinds(events, "step_started")] == ["retreat_rule", "suds_ceiling"]
    assert world.step_index == 0


def test_clinician_intensity_is_clamped_to_the_cap(ladder):
    world, events = run(ladder, 0.5, commands=[Command("goto_step", 1), Command("set_intensity", 5.0)])
    assert world.intensity == pytest.approx(0.85)
    cmd = [e for e in kinds(events, "clinician_command") if e.data["command"] == "set_intensity"][0]
    assert cmd.data["applied"] and cmd.data["clamped_to"] == pytest.approx(0.85)
    world, _ = run(ladder, 0.5, commands=[Command("clear_intensity")])
    assert world.intensity == pytest.approx(0.3)


def test_duplicate_command_ids_apply_once(ladder):
    world, events = run(ladder, 0.5, commands=[Command("step_up", id="c-1"), Command("step_up", id="c-1")])
    assert world.step_index == 1
    applied = [e.data["applied"] for e in kinds(events, "clinician_command")]
    assert applied == [True, False]


def test_bad_commands_are_refused_not_raised(ladder):
    world, events = run(ladder, 0.2, commands=[Command("explode"), Command("goto_step", 99),
                                               Command("goto_step", 1.5), Command("step_down"),
                                               Command("set_intensity"), Command("ask_rating", text="joy")])
    results = [(e.data["command"], e.data["applied"]) for e in kinds(events, "clinician_command")]
    assert all(not applied for _, applied in results) and len(results) == 6
    assert world.step_index == 0 and world.mode == "running"


def test_out_of_range_ratings_are_refused(ladder):
    world, events = run(ladder, 0.2, ratings=[Rating("suds", 140), Rating("pain", 11), Rating("mood", 3)])
    assert len(kinds(events, "rating_refused")) == 3 and world.last_suds is None


def test_max_session_length_ends_in_the_safe_scene(ladder):
    world, events = run(ladder, 5 * 60 + 1.0)
    assert world.mode == "ended" and world.scene == "calm_room" and world.humans.count == 0
    assert kinds(events, "session_ended")[0].data["reason"] == "max_session_length"


def test_after_time_advances_and_last_step_holds(auditorium):
    profile = make_profile([{"name": "a", "duration_s": 2}, {"name": "b", "humans": 2, "duration_s": 2}])
    session = Session(profile, auditorium, 1)
    world, events = run(session, 5.0)
    assert world.step_index == 1
    assert [e.data["reason"] for e in kinds(events, "step_started")] == ["start", "after_time"]
    assert len(kinds(events, "hierarchy_completed")) == 1


def test_step_time_rating_prompts_follow_the_schedule(auditorium):
    profile = make_profile([{"name": "a", "humans": 1}], ratings={"suds_every_s": 10, "pain_every_s": 25})
    _, events = run(Session(profile, auditorium, 1), 31.0)
    prompts = [(round(e.t_s), e.data["scale"]) for e in kinds(events, "rating_prompt")]
    assert prompts == [(10, "suds"), (20, "suds"), (25, "pain"), (30, "suds")]


def test_invalid_dt_is_refused(ladder):
    for dt in (0.0, -0.1, 1.0, float("nan")):
        with pytest.raises(ValueError):
            ladder.step(FrameInputs(ladder.head), dt)


def test_same_seed_same_events_and_world(speaking):
    def trace(seed):
        s = Session(speaking.config, speaking.scene.config, seed)
        _, ev = run(s, 1.0, commands=[Command("goto_step", 4)])
        world, ev2 = run(s, 20.0)
        return [(e.t_s, e.kind, repr(e.data)) for e in ev + ev2], world.humans.position_m.copy()

    a, pa = trace(5)
    b, pb = trace(5)
    c, _ = trace(6)
    assert a == b and np.array_equal(pa, pb)
    assert a != c
