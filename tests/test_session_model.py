"""A session is a static model plus data: the model is read-only, shared, and gives the same session."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from vr.config import load_profile
from vr.sim import Command, FrameInputs, Session
from vr.sim.distraction import DistractionSession
from vr.sim.model import distraction_model, exposure_model

DT = 1 / 30


def _run(session, steps: int = 300):
    out = []
    for k in range(steps):
        commands = (Command("step_up"),) if k == 60 else ()
        world, events = session.step(FrameInputs(session.head, commands), DT)
        out.append((world.humans.position_m.tobytes(), [(e.t_s, e.kind, repr(e.data)) for e in events]))
    return out


def test_two_sessions_of_one_model_run_alike_and_leave_the_model_as_it_was():
    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    model = exposure_model(loaded.config, loaded.scene.config, 11)
    heights, looks = model.height_m.copy(), model.human_seed.copy()
    first, second = Session.from_model(model), Session.from_model(model)
    assert _run(first) == _run(second)
    assert np.array_equal(model.height_m, heights) and np.array_equal(model.human_seed, looks)
    with pytest.raises(ValueError):
        model.height_m[0] = 2.5   # read-only: no step or view can change it
    # Built from the profile or from its model: the same session, step for step.
    assert _run(Session(loaded.config, loaded.scene.config, 11)) == _run(Session.from_model(model))
    assert model.n == len(model.ids) > 0 and model.start_head == first.model.start_head


def test_a_distraction_model_gives_the_same_session_and_kinds_are_not_mixed():
    loaded = load_profile(ROOT / "exposure_profiles" / "needle_reef.yaml")
    model = distraction_model(loaded.config, loaded.scene.config, 4)
    assert _run(DistractionSession(loaded.config, loaded.scene.config, 4), 200) == _run(
        DistractionSession.from_model(model), 200)
    with pytest.raises(ValueError, match="exposure model"):
        Session.from_model(model)
    speaking = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    with pytest.raises(ValueError, match="distraction model"):
        DistractionSession.from_model(exposure_model(speaking.config, speaking.scene.config, 1))
