"""Safety properties over random valid profiles and random clinician and patient behaviour.

For any profile the validator accepts and any sequence of commands, ratings and head movement:
no human is ever inside ``min_distance_m``, intensity never exceeds the cap, panic reaches the
safe scene in the same step, and the step index stays in range.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, make_profile
from vr.config import expand_spawns, load_scene
from vr.sim import Command, FrameInputs, HeadPose, Rating, Session

SCENES = {name: load_scene(ROOT / "scenes" / f"{name}.yaml").config
          for name in ("auditorium", "waiting_room", "elevator", "subway_car")}
MOODS = ("attentive", "bored", "hostile", "friendly", "neutral")


@st.composite
def profiles(draw):
    scene_name = draw(st.sampled_from(sorted(SCENES)))
    capacity = min(len(expand_spawns(SCENES[scene_name])), 40)
    min_d = draw(st.floats(0.46, 2.0))
    cap = draw(st.floats(0.1, 1.0))
    steps = []
    for i in range(draw(st.integers(1, 6))):
        step = {"name": f"s{i}", "humans": draw(st.integers(0, capacity)), "intensity": draw(st.floats(0.0, cap))}
        if draw(st.booleans()):
            step["mood"] = draw(st.sampled_from(MOODS))
        else:
            a = draw(st.floats(0.0, 1.0))
            step["mood"] = {"mixed": {"attentive": a, "hostile": 1.0 - a}}
        if draw(st.booleans()):
            step["proximity"] = {"distance_m": draw(st.floats(min_d, 8.0)),
                                 "approach_speed_mps": draw(st.floats(0.05, 1.5)),
                                 "max_accel_mps2": draw(st.floats(0.1, 3.0))}
        if draw(st.booleans()):
            step["gaze"] = {"at_patient_share": draw(st.floats(0.0, 1.0)), "mutual_dwell_s": draw(st.floats(0.3, 20))}
        if draw(st.booleans()):
            step["dialogue"] = {"intensity": draw(st.floats(0.0, cap)), "lines_per_min": draw(st.floats(0.0, 20.0))}
        rule = draw(st.sampled_from(["time", "suds", "clinician"]))
        if rule == "time":
            step["duration_s"] = draw(st.floats(1.0, 60.0))
        elif rule == "suds":
            step["advance_when"] = {"suds_at_most": draw(st.integers(0, 60)), "held_s": draw(st.floats(0, 30)),
                                    "min_s": draw(st.floats(0, 30))}
        if draw(st.booleans()):
            step["retreat_when"] = {"suds_at_least": draw(st.integers(61, 100)), "held_s": draw(st.floats(0, 30))}
        steps.append(step)
    safety = {"min_distance_m": min_d, "max_intensity": cap, "suds_ceiling": draw(st.integers(61, 100)),
              "ceiling_hold_s": draw(st.floats(0.0, 30.0)), "max_session_min": draw(st.floats(1.0, 10.0))}
    return make_profile(steps, scene=scene_name, safety=safety,
                        ratings={"suds_every_s": draw(st.sampled_from([0.0, 10.0, 60.0]))}), SCENES[scene_name]


COMMAND_NAMES = ["pause", "resume", "panic", "stop", "step_up", "step_down", "goto_step", "set_intensity",
                 "clear_intensity", "ask_rating", "note", "bogus"]


@st.composite
def scripts(draw):
    """(step number, command or rating) pairs over a long run."""
    events = []
    for _ in range(draw(st.integers(0, 30))):
        at = draw(st.integers(0, 2999))
        if draw(st.booleans()):
            name = draw(st.sampled_from(COMMAND_NAMES))
            value = draw(st.one_of(st.none(), st.floats(-2.0, 12.0), st.integers(-1, 8)))
            events.append((at, Command(name, value=None if value is None else float(value), id=f"c{at}")))
        else:
            events.append((at, Rating("suds", float(draw(st.integers(0, 100))))))
    return sorted(events, key=lambda e: e[0])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(profiles(), scripts(), st.sampled_from([1 / 90, 1 / 30, 0.1, 0.25]), st.integers(0, 2**31 - 1))
def test_caps_hold_and_panic_is_immediate(profile_scene, script, dt, seed):
    profile, scene = profile_scene
    session = Session(profile, scene, seed)
    cap, min_d = profile.safety.max_intensity, profile.safety.min_distance_m
    rng = np.random.default_rng(seed)
    x, y = scene.patient.position_m
    by_step: dict[int, list] = {}
    for at, item in script:
        by_step.setdefault(at, []).append(item)
    steps = min(3000, int(12 * 60 / dt))
    for k in range(steps):
        # The patient wanders up to 1.5 m from their place, sometimes straight into the humans.
        x = float(np.clip(x + rng.normal(0, 0.02), scene.patient.position_m[0] - 1.5, scene.patient.position_m[0] + 1.5))
        y = float(np.clip(y + rng.normal(0, 0.02), scene.patient.position_m[1] - 1.5, scene.patient.position_m[1] + 1.5))
        items = by_step.get(k, [])
        commands = tuple(i for i in items if isinstance(i, Command))
        ratings = tuple(i for i in items if isinstance(i, Rating))
        world, events = session.step(FrameInputs(HeadPose((x, y, 1.6), float(rng.uniform(-180, 180))),
                                                 commands, ratings), dt)
        h = world.humans
        assert h.distance_m[h.present].min(initial=np.inf) >= min_d - 1e-6
        assert world.intensity <= cap + 1e-9 and world.dialogue_intensity <= cap + 1e-9
        assert 0 <= world.step_index < len(profile.steps)
        if any(c.name in ("panic", "stop") for c in commands) and world.mode != "running":
            assert world.scene == profile.safety.safe_scene and h.count == 0 and not h.speaking.any()
        if commands and commands[-1].name in ("panic", "stop"):
            assert world.mode in ("safe", "ended") and h.count == 0
        if world.mode in ("safe", "ended"):
            assert h.count == 0
        assert len([e for e in events if e.kind == "sample"]) <= 1
