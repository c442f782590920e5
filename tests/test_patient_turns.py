"""The patient's turns in the session core: numbered, withheld or corrected by the clinician, and
humans who yield when the patient starts speaking over them."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from vr.config import load_profile
from vr.dialogue.bank import DIALOGUE_DIR, load_bank, vetted_lines
from vr.sim import Command, FrameInputs, PatientWords, Session, SpokenLine
from vr.sim.talk import YIELD_S

DT = 1 / 30


@pytest.fixture(scope="module")
def interview():
    return load_profile(ROOT / "exposure_profiles" / "job_interview.yaml")


@pytest.fixture(scope="module")
def lines():
    return vetted_lines(load_bank("interview_room"))


def in_place(loaded, lines, seconds=15.0):
    s = Session(loaded.config, loaded.scene.config, 5, lines=lines)
    s.step(FrameInputs(s.head, (Command("goto_step", value=4),)), DT)
    for _ in range(int(seconds / DT)):
        s.step(FrameInputs(s.head), DT)
    return s


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def test_turns_are_numbered_and_a_withheld_reply_is_never_said(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("I worked in a bakery", "microphone"),
                                                 PatientWords("for three years", "microphone"))), DT)
    heard = kinds(events, "patient_said")
    assert [e.data["said"] for e in heard] == [1, 2]
    wanted = kinds(events, "reply_wanted")
    assert [e.data["said"] for e in wanted] == [1, 2]
    _, events = s.step(FrameInputs(s.head, (Command("withhold_reply", value=1.0, id="w1"),)), DT)
    command = kinds(events, "clinician_command")[0]
    assert command.data["applied"] and kinds(events, "reply_withheld")[0].data["request"] == wanted[0].data["request"]
    line_id, text = next(iter(lines.items()))
    late = SpokenLine(wanted[0].data["human"], line_id, text, "warm", 2.0, wanted[0].data["request"])
    _, events = s.step(FrameInputs(s.head, lines=(late,)), DT)
    assert kinds(events, "line_dropped")[0].data["reason"] == "the clinician withheld the reply"
    _, events = s.step(FrameInputs(s.head, (Command("withhold_reply", value=9.0, id="w2"),)), DT)
    assert not kinds(events, "clinician_command")[0].data["applied"]


def test_a_correction_withholds_the_misheard_turn_and_asks_for_a_reply_to_the_words_put_right(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("I'm a bad cook", "microphone"),)), DT)
    first = kinds(events, "reply_wanted")[0]
    line_id, text = next(iter(lines.items()))
    spoken = SpokenLine(first.data["human"], line_id, text, "warm", 4.0, first.data["request"])
    world, events = s.step(FrameInputs(s.head, lines=(spoken,)), DT)
    assert kinds(events, "utterance") and world.humans.speaking.any()
    world, events = s.step(FrameInputs(s.head, said=(PatientWords("I'm a baker, not a bad cook", "clinician",
                                                                  corrects=1),)), DT)
    said = kinds(events, "patient_said")[0]
    assert said.data["corrects"] == 1 and said.data["said"] == 2
    assert kinds(events, "reply_withheld")[0].data["why"] == "corrected"
    assert kinds(events, "line_stopped") and not world.humans.speaking[s.ids.index(first.data["human"])]
    assert kinds(events, "reply_wanted")[0].data["said"] == 2


def test_the_patient_speaking_over_a_human_makes_them_finish_the_phrase_and_wait(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("could you repeat that?"),)), DT)
    wanted = kinds(events, "reply_wanted")[0]
    line_id, text = next(iter(lines.items()))
    s.step(FrameInputs(s.head, lines=(SpokenLine(wanted.data["human"], line_id, text, "warm", 6.0,
                                                 wanted.data["request"]),)), DT)
    who = s.ids.index(wanted.data["human"])
    world, events = s.step(FrameInputs(s.head, patient_speaking=True), DT)
    assert kinds(events, "turn_yielded")[0].data["within_s"] == YIELD_S
    quiet_for = []
    for k in range(int(8 / DT)):
        world, events = s.step(FrameInputs(s.head, patient_speaking=True), DT)
        assert not kinds(events, "speech_turn") and not kinds(events, "turn_yielded")
        quiet_for.append(bool(world.humans.speaking[who]))
    assert any(quiet_for) and not any(quiet_for[int((YIELD_S + 0.1) / DT):])


def test_turns_corrections_and_speaking_replay_exactly(interview, lines, tmp_path):
    from vr.app.summary import record_files, record_meta
    from vr.record import SessionWriter
    from vr.record.replay import load_inputs, verify_replay

    bank = load_bank("interview_room")
    s = Session(interview.config, interview.scene.config, 9, lines=lines)
    out = tmp_path / "rec"
    files = record_files(interview)
    files["lines.yaml"] = (DIALOGUE_DIR / "interview_room.yaml").read_bytes()
    writer = SessionWriter(out, record_meta(interview, pseudonym="T-22", backend="test", seed=9,
                                            lines={"name": bank.name, "sha256": bank.sha256}), attachments=files)
    script = {1: FrameInputs(s.head, (Command("goto_step", value=4),)),
              300: FrameInputs(s.head, said=(PatientWords("I'm a bad cook", "microphone"),)),
              305: FrameInputs(s.head, said=(PatientWords("I'm a baker", "clinician", corrects=1),)),
              310: FrameInputs(s.head, (Command("withhold_reply", value=2.0, id="w"),), patient_speaking=True)}
    for k in range(360):
        inputs = script.get(k, FrameInputs(s.head, patient_speaking=320 <= k < 330))
        _, events = s.step(inputs, DT)
        writer.write_inputs(inputs, DT)
        writer.write(events)
    writer.write(s.end("stopped_by_clinician"))
    writer.close(events=0, ended="stopped_by_clinician", session_s=s.t_s, frames=360)
    loaded = load_inputs(out)
    assert loaded[305][0].said[0].corrects == 1 and loaded[310][0].patient_speaking and not loaded[0][0].patient_speaking
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    recorded = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert sum(e["kind"] == "reply_withheld" for e in recorded) == 2
