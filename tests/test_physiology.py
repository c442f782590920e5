"""Body samples in the session: the shared input type, the body rules, the synthetic physiology."""

from __future__ import annotations

import json

from vr.record.replay import load_inputs
from vr.record.writer import encode_inputs
from vr.sim.types import FrameInputs, HeadPose, PhysioSample

HEAD = HeadPose((0.0, 1.6, 0.0))


def test_physio_samples_are_kept_when_steps_merge():
    a = FrameInputs(HEAD, physio=(PhysioSample("hr", 71.5, 0.1, "polar"),))
    b = FrameInputs(HEAD, physio=(PhysioSample("eda", 2.25, 0.15, "shimmer"),))
    assert a.then(b).physio == a.physio + b.physio
    assert FrameInputs(HEAD).plus(physio=a.physio).physio == a.physio
    assert a.eventful and not FrameInputs(HEAD).eventful


def test_physio_round_trips_through_inputs_jsonl(tmp_path):
    plain = FrameInputs(HEAD)
    with_body = FrameInputs(HEAD, physio=(PhysioSample("hr", 88.125, 3.0, "synthetic"),
                                          PhysioSample("eda", 4.0625, 3.05, "synthetic")))
    line_plain, line_body = encode_inputs(plain, 0.05), encode_inputs(with_body, 0.05)
    assert len(json.loads(line_plain)) == 7   # no physiology: no eighth element, as before
    assert json.loads(line_body)[7]["p"] == [["hr", 88.125, 3.0, "synthetic"], ["eda", 4.0625, 3.05, "synthetic"]]
    (tmp_path / "inputs.jsonl").write_bytes(line_plain + line_body)
    (back_plain, _), (back_body, dt) = load_inputs(tmp_path)
    assert back_plain == plain and back_body == with_body and dt == 0.05


# -- the body rules, in the session core ---------------------------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vr.config import ConfigError, load_profile  # noqa: E402
from vr.sim import Command, Session  # noqa: E402

BODY_PROFILE = """\
schema_version: 1
name: Body rules test
scene: auditorium
safety: {max_intensity: 0.7}
ratings: {suds_every_s: 0}
physiology:
  signal_lost_s: 10
  rules:
    - hr_above_baseline_bpm: 25
      for_s: 30
      then: step_down
  advance_only_when:
    eda_settled: {slope_us_per_min: 0.05, for_s: 60}
steps:
  - {name: Baseline, duration_s: 60}
  - {name: One, intensity: 0.2}
  - {name: Two, intensity: 0.4}
  - {name: Three, intensity: 0.6, duration_s: 100}
  - {name: Four, intensity: 0.7}
"""


def body_profile(tmp_path, text=BODY_PROFILE):
    path = tmp_path / "exposure_profiles" / "body.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def run(loaded, seconds, hr=None, eda=None, commands=None, dt=0.1):
    """Step a session with hand-made body samples: ``hr(t)``/``eda(t)`` give a value or None (no
    sample), HR once a second and EDA twice; ``commands`` maps a time to commands. Returns the
    events and the worlds."""
    session = Session(loaded.config, loaded.scene.config, seed=1)
    events, worlds = [], []
    commands = dict(commands or {})
    for k in range(int(round(seconds / dt))):
        t = k * dt
        samples = []
        if hr is not None and k % int(round(1 / dt)) == 0 and hr(t) is not None:
            samples.append(PhysioSample("hr", hr(t), t, "test"))
        if eda is not None and k % int(round(0.5 / dt)) == 0 and eda(t) is not None:
            samples.append(PhysioSample("eda", eda(t), t, "test"))
        due = tuple(c for at in [a for a in commands if a <= t + 1e-9] for c in commands.pop(at))
        world, evs = session.step(FrameInputs(HEAD, commands=due, physio=tuple(samples)), dt)
        events.extend(evs)
        worlds.append(world)
    return events, worlds


def of(events, kind, **match):
    return [e for e in events if e.kind == kind and all(e.data.get(k) == v for k, v in match.items())]


def steps(events):
    return [(round(e.t_s, 1), e.data["index"], e.data["reason"]) for e in of(events, "step_started")]


GOTO_2 = {61.0: [Command("goto_step", value=2.0, source="test")]}


def flat_eda(t):
    return 2.0


def test_the_baseline_is_the_median_over_the_first_step(tmp_path):
    events, worlds = run(body_profile(tmp_path), 62, hr=lambda t: 70.0 + (t % 3), eda=flat_eda)
    (base,) = of(events, "physio_baseline")
    assert base.data["over"] == "first_step" and base.data["hr_bpm"] == 71.0 and base.data["eda_us"] == 2.0
    assert 60.0 <= base.t_s < 60.2 and base.data["hr_samples"] == 60
    w = worlds[-1].physio
    assert w.hr_baseline_bpm == 71.0 and w.baseline_taken and w.watching and w.lost == ()


def test_a_sustained_heart_rate_rise_steps_down_once(tmp_path):
    def hr(t):
        return 100.0 if t >= 100 else 70.0

    events, worlds = run(body_profile(tmp_path), 260, hr=hr, eda=flat_eda, commands=GOTO_2)
    body = [s for s in steps(events) if s[2] == "hr_above_baseline"]
    assert len(body) == 1, steps(events)   # once per rise, though the heart rate stays up
    t, index, _ = body[0]
    assert index == 1 and 130.0 <= t <= 134.0   # 30 s held (after the 5 s median has crossed)
    (alert,) = of(events, "alert", reason="body_rule")
    assert alert.data["signal"] == "hr" and alert.data["then"] == "step_down" and alert.data["baseline"] == 70.0
    assert "stepped down" in alert.data["message"]


def test_a_short_spike_does_not_step_down(tmp_path):
    def hr(t):
        return 115.0 if 100 <= t < 120 else 70.0

    events, _ = run(body_profile(tmp_path), 200, hr=hr, eda=flat_eda, commands=GOTO_2)
    assert not [s for s in steps(events) if s[2] == "hr_above_baseline"] and not of(events, "alert", reason="body_rule")


def test_a_rule_acts_again_after_the_heart_rate_came_down_and_rose_again(tmp_path):
    def hr(t):
        return 100.0 if 100 <= t < 150 or t >= 170 else 70.0

    events, _ = run(body_profile(tmp_path), 240, hr=hr, eda=flat_eda,
                    commands={61.0: [Command("goto_step", value=3.0, source="test")]})
    assert [s[1] for s in steps(events) if s[2] == "hr_above_baseline"] == [2, 1]


def test_the_advance_waits_until_eda_has_settled(tmp_path):
    """Step Three advances after 100 s, but EDA rises until 230 s: the step waits, then moves on."""
    def eda(t):
        return 2.0 + 0.5 * (min(t, 230.0) - 61.0) / 60.0 if t > 61 else 2.0

    events, _ = run(body_profile(tmp_path), 320, hr=lambda t: 70.0, eda=eda,
                    commands={61.0: [Command("goto_step", value=3.0, source="test")]})
    (held,) = of(events, "advance_held")
    assert held.data == {"index": 3, "rule": "after_time", "waiting_for": ["eda_settled"]}
    assert 160.9 <= held.t_s <= 161.2
    advanced = [s for s in steps(events) if s[1] == 4]
    assert advanced and advanced[0][2] == "after_time" and 230.0 < advanced[0][0] < 290.0


def test_without_a_gate_the_step_advances_on_time(tmp_path):
    loaded = body_profile(tmp_path, BODY_PROFILE.replace(
        "  advance_only_when:\n    eda_settled: {slope_us_per_min: 0.05, for_s: 60}\n", ""))
    events, _ = run(loaded, 170, hr=lambda t: 70.0, eda=lambda t: 2.0 + t / 30,
                    commands={61.0: [Command("goto_step", value=3.0, source="test")]})
    assert not of(events, "advance_held") and (161.1, 4, "after_time") in steps(events)


def test_a_quiet_stream_pauses_its_rules_and_alerts_never_stalls(tmp_path):
    def hr(t):   # high, then the strap goes quiet at 110 s, back at 200 s
        return None if 110 <= t < 200 else (100.0 if t >= 100 else 70.0)

    def eda(t):  # EDA quiet from 150 s: the gate stops waiting for it
        return None if t >= 150 else 2.0 + (t / 60 if t > 61 else 0.0)

    events, worlds = run(body_profile(tmp_path), 215, hr=hr, eda=eda,
                         commands={61.0: [Command("goto_step", value=3.0, source="test")]})
    lost = of(events, "alert", reason="physiology_lost")
    assert [(e.data["signal"], round(e.t_s)) for e in lost] == [("hr", 119), ("eda", 160)]
    assert all(e.data["level"] == "warning" and "check the sensor" in e.data["message"] for e in lost)
    assert not [s for s in steps(events) if s[2] == "hr_above_baseline"]   # the HR hold broke off at 110 s
    assert [s for s in steps(events) if s[1] == 4 and s[2] == "after_time"]  # the gate let go once EDA was lost
    (back,) = of(events, "alert", reason="physiology_back")
    assert back.data["signal"] == "hr" and round(back.t_s) == 200
    assert worlds[-1].physio.lost == ("eda",)


def test_a_session_without_any_sample_alerts_and_runs_on_suds_and_time(tmp_path):
    events, worlds = run(body_profile(tmp_path), 70)
    assert [e.data["signal"] for e in of(events, "alert", reason="physiology_lost")] == ["hr", "eda"]
    assert (60.0, 1, "after_time") in steps(events)
    assert {e.data["signal"] for e in of(events, "alert", reason="physiology_no_baseline")} == {"hr", "eda"}
    assert worlds[-1].physio.hr_bpm is None and worlds[-1].physio.hr_baseline_bpm is None


def test_body_rules_never_go_past_the_caps(tmp_path):
    """At the first step a step-down is only an alert; a body rule never raises a step or the intensity."""
    loaded = body_profile(tmp_path, BODY_PROFILE.replace("{name: Baseline, duration_s: 60}", "{name: Baseline}")
                          .replace("signal_lost_s: 10", "signal_lost_s: 10\n  baseline_s: 20"))
    events, worlds = run(loaded, 120, hr=lambda t: 110.0 if t > 30 else 70.0, eda=flat_eda)
    assert [s[1] for s in steps(events)] == [0]
    (alert,) = of(events, "alert", reason="body_rule")
    assert "first step" in alert.data["message"]
    events, worlds = run(body_profile(tmp_path), 400, hr=lambda t: 72.0 + 60.0 * (t > 100), eda=flat_eda,
                         commands={61.0: [Command("goto_step", value=4.0, source="test")],
                                   62.0: [Command("set_intensity", value=1.0, source="test")]})
    for _, index, reason in steps(events):
        assert reason != "hr_above_baseline" or index < 4
    assert max(w.intensity for w in worlds) <= 0.7


def test_samples_show_in_the_world_and_the_record_samples(tmp_path):
    events, worlds = run(body_profile(tmp_path), 5, hr=lambda t: 81.25, eda=lambda t: 3.1234)
    assert worlds[-1].physio.hr_bpm == 81.25 and worlds[-1].physio.eda_us == 3.1234
    sample = of(events, "sample")[-1]
    assert sample.data["hr_bpm"] == 81.2 and sample.data["eda_us"] == 3.123


def test_samples_without_a_physiology_block_are_shown_but_change_nothing(tmp_path):
    loaded = body_profile(tmp_path, BODY_PROFILE.split("physiology:")[0] + "steps:" + BODY_PROFILE.split("steps:")[1])
    assert loaded.config.physiology is None
    plain, _ = run(loaded, 3)
    events, worlds = run(loaded, 3, hr=lambda t: 90.0)
    assert worlds[-1].physio.hr_bpm == 90.0 and not worlds[-1].physio.watching
    assert not run(loaded, 3)[1][-1].physio   # nothing measured, nothing watched: no physiology at all
    assert [e.kind for e in events] == [e.kind for e in plain] and "hr_bpm" in of(events, "sample")[-1].data


@pytest.mark.parametrize("block, where, says", [
    ("    - {hr_above_baseline_bpm: 25, eda_above_baseline_us: 2, for_s: 30}\n", 5,
     "watches one signal: give hr_above_baseline_bpm or eda_above_baseline_us, not both"),
    ("    - {for_s: 30, then: step_down}\n", 5, "watches one signal"),
    ("    - {hr_above_baseline_bpm: 25, then: jump}\n", 5, "'jump' is not an allowed value"),
    ("    - {hr_above_baseline_bpm: 25, held_s: 30}\n", 5, "unknown key 'held_s'"),
])
def test_body_rule_mistakes_are_named_with_their_line(tmp_path, block, where, says):
    text = BODY_PROFILE.replace("    - hr_above_baseline_bpm: 25\n      for_s: 30\n      then: step_down\n", block)
    with pytest.raises(ConfigError) as err:
        body_profile(tmp_path, text)
    message = str(err.value)
    assert f"body.yaml:{where + 4}:" in message and says in message, message


def test_an_empty_gate_is_refused(tmp_path):
    text = BODY_PROFILE.replace("    eda_settled: {slope_us_per_min: 0.05, for_s: 60}\n", "    {}\n")
    with pytest.raises(ConfigError) as err:
        body_profile(tmp_path, text.replace("  advance_only_when:\n    {}\n", "  advance_only_when: {}\n"))
    assert "advance_only_when needs eda_settled or hr_settled" in str(err.value)


# -- the synthetic patient's body -------------------------------------------------------------------

from vr.sim.patient import PatientParams, SyntheticBody, SyntheticPatient  # noqa: E402


def test_the_synthetic_heart_rate_follows_anxiety_with_its_lag():
    p = PatientParams(hr_noise_bpm=0.0, eda_noise_us=0.0)
    body = SyntheticBody(p, seed=4)
    out = []
    for k in range(1, 1201):   # 60 s at 20 Hz; anxiety jumps from the baseline (15) to 75 at t = 0
        out.extend(body.step(75.0, k / 20, 1 / 20))
    hr = {round(s.t_s): s.value for s in out if s.kind == "hr"}
    eda = {round(s.t_s, 2): s.value for s in out if s.kind == "eda"}
    rise = p.hr_per_suds_bpm * 60.0
    assert hr[1] - p.hr_rest_bpm < 0.25 * rise                      # not at once
    assert abs(hr[8] - p.hr_rest_bpm - rise * (1 - math.exp(-1))) < 2.0   # 63 % after one time constant
    assert abs(hr[60] - p.hr_rest_bpm - rise) < 2.0
    assert eda[25.0] - p.eda_rest_us == pytest.approx(p.eda_per_suds_us * 60 * (1 - math.exp(-1)), abs=0.15)
    assert abs(len(eda) - 4 * len(hr)) <= 4 and {s.source for s in out} == {"synthetic"}


def test_the_synthetic_body_is_seeded():
    def samples(seed):
        body = SyntheticBody(PatientParams(), seed)
        return [s for k in range(400) for s in body.step(40.0, k / 20, 1 / 20)]

    assert samples(7) == samples(7) and samples(7) != samples(8)


def test_the_synthetic_patient_wears_sensors_only_when_the_session_watches(tmp_path):
    from vr.sim.types import WorldState

    loaded = body_profile(tmp_path)
    session = Session(loaded.config, loaded.scene.config, seed=2)
    patient = SyntheticPatient(PatientParams(), 2, session.head)
    world, _ = session.step(patient.act(None, 0.05), 0.05)
    assert world.physio is not None and world.physio.watching
    got = patient.act(world, 0.05)
    assert [s.kind for s in got.physio] == ["hr", "eda"] and got.physio[0].source == "synthetic"
    plain = load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
    s2 = Session(plain.config, plain.scene.config, seed=2)
    w2, _ = s2.step(FrameInputs(s2.head), 0.05)
    assert w2.physio is None and SyntheticPatient(PatientParams(), 2, s2.head).act(w2, 0.05).physio == ()
    assert isinstance(w2, WorldState)


# -- a simulated session with physiology, recorded and replayed ----------------------------------------

from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_a_simulated_session_with_physiology_replays_exactly(tmp_path):
    from vr.app.simulate import run_simulation
    from vr.record import read_record
    from vr.record.replay import verify_replay

    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking_body.yaml")
    out = tmp_path / "rec"
    run_simulation(loaded, seconds=150, seed=5, out=out, pseudonym="P-0500", rate_hz=20.0,
                   patient=PatientParams(sensitivity=1.5))
    rec = read_record(out)
    assert rec.of_kind("physio_baseline") and "hr_bpm" in rec.of_kind("sample")[-1]
    rows = [json.loads(line) for line in (out / "inputs.jsonl").read_text().splitlines()]
    assert any(len(r) > 7 and r[7].get("p") for r in rows)
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    assert np.isfinite([s["hr_bpm"] for s in rec.of_kind("sample")[1:]]).all()   # from the second step on
