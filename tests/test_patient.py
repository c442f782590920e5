"""The synthetic patient: exposure raises SUDS, staying lowers it, anxiety makes the head avoid."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_profile
from vr.sim import Command, PatientParams, Session, SyntheticPatient
from vr.sim.patient import stimulus

DT = 1 / 30


def drive(session, patient, seconds, commands=()):
    world, felt, looks = None, [], []
    for k in range(int(seconds / DT)):
        inputs = patient.act(world, DT)
        if k == 0 and commands:
            from dataclasses import replace
            inputs = replace(inputs, commands=tuple(commands))
        world, _ = session.step(inputs, DT)
        felt.append(patient.anxiety)
        looks.append(world.head.pitch_deg)
    return world, np.array(felt), np.array(looks)


def test_exposure_raises_anxiety_which_then_habituates(auditorium):
    profile = make_profile([{"name": "none", "intensity": 0.0},
                            {"name": "crowd", "humans": 60, "intensity": 0.8, "mood": "hostile",
                             "proximity": {"distance_m": 3.0}}], safety={"suds_ceiling": 100})
    session = Session(profile, auditorium, 1)
    patient = SyntheticPatient(PatientParams(), 1, session.head)
    _, calm, _ = drive(session, patient, 60)
    world, felt, _ = drive(session, patient, 600, [Command("step_up")])
    assert stimulus(world) > 0.6
    peak = felt.max()
    assert peak > calm.mean() + 25, "a strong step raises SUDS"
    assert felt[-1] < peak - 10, "staying in the step lets SUDS come down"


def test_more_sensitive_patients_peak_higher(auditorium):
    profile = make_profile([{"name": "crowd", "humans": 40, "intensity": 0.7}])
    peaks = []
    for sensitivity in (0.6, 1.0, 1.6):
        session = Session(profile, auditorium, 2)
        _, felt, _ = drive(session, SyntheticPatient(PatientParams(sensitivity=sensitivity), 2, session.head), 240)
        peaks.append(felt.max())
    assert peaks == sorted(peaks) and peaks[-1] - peaks[0] > 20


def test_anxious_patients_look_down_and_away_more(auditorium):
    profile = make_profile([{"name": "crowd", "humans": 40, "intensity": 0.7}])
    pitch = {}
    for sensitivity in (0.3, 2.0):
        session = Session(profile, auditorium, 5)
        _, _, looks = drive(session, SyntheticPatient(PatientParams(sensitivity=sensitivity), 5, session.head), 300)
        pitch[sensitivity] = looks.mean()
    assert pitch[2.0] < pitch[0.3] - 5


def test_patient_answers_prompts_and_can_press_panic(auditorium):
    profile = make_profile([{"name": "crowd", "humans": 60, "intensity": 0.9, "mood": "hostile"}],
                           safety={"max_intensity": 0.9, "suds_ceiling": 100}, ratings={"suds_every_s": 20})
    session = Session(profile, auditorium, 3)
    patient = SyntheticPatient(PatientParams(sensitivity=2.0, panic_at_suds=70), 3, session.head)
    world, _, _ = drive(session, patient, 120)
    assert world.mode == "safe" and world.scene == "calm_room"
    assert world.last_suds is not None


def test_patient_parameters_parse_with_clear_errors():
    assert PatientParams.parse("sensitivity=1.3, rise_s=10").sensitivity == 1.3
    with pytest.raises(ValueError, match="unknown patient parameter 'sensitivty'"):
        PatientParams.parse("sensitivty=2")
    with pytest.raises(ValueError, match="not a number"):
        PatientParams.parse("gain=high")
