"""Talk in the session core: vetted lines only, risk alerts, quiet humans, replies, replay."""

from __future__ import annotations

import pytest

from conftest import ROOT
from vr.config import load_profile
from vr.config.lines import BANDS, band_for
from vr.dialogue.bank import load_bank, vetted_lines
from vr.sim import Command, FrameInputs, PatientWords, Session, SpokenLine

DT = 1 / 30


@pytest.fixture(scope="module")
def interview():
    return load_profile(ROOT / "exposure_profiles" / "job_interview.yaml")


@pytest.fixture(scope="module")
def lines():
    return vetted_lines(load_bank("interview_room"))


def started(loaded, lines, seconds=20.0, step=4):
    """A session at a step with humans, run until they are in place."""
    s = Session(loaded.config, loaded.scene.config, 5, lines=lines)
    s.step(FrameInputs(s.head, (Command("goto_step", value=step),)), DT)
    events = []
    for _ in range(int(seconds / DT)):
        events += s.step(FrameInputs(s.head), DT)[1]
    return s, events


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def test_humans_ask_for_lines_with_numbered_requests_and_bands(interview, lines):
    s, events = started(interview, lines, seconds=60.0)
    turns = kinds(events, "speech_turn")
    assert turns, "a panel that never speaks"
    numbers = [e.data["request"] for e in turns]
    assert numbers == sorted(set(numbers))
    assert all(e.data["band"] in ("warm", "neutral", "curt", "critical", "hostile") for e in turns)


def test_only_vetted_lines_are_said(interview, lines):
    s, _ = started(interview, lines)
    speaker = s.ids[int(s.crowd.present.nonzero()[0][0])]
    good = next(iter(lines.items()))
    forged = SpokenLine(speaker, good[0], good[1] + " You are worthless.", "hostile", 2.0, 1)
    unknown = SpokenLine(speaker, "interview.made_up.1", "Something nobody vetted.", "warm", 2.0, 2)
    world, events = s.step(FrameInputs(s.head, lines=(forged, unknown)), DT)
    assert len(kinds(events, "line_refused")) == 2 and not kinds(events, "utterance")
    real = SpokenLine(speaker, good[0], good[1], "warm", 2.5, 3, 0.8, "model")
    world, events = s.step(FrameInputs(s.head, lines=(real,)), DT)
    said = kinds(events, "utterance")
    assert len(said) == 1 and said[0].data["line_id"] == good[0] and said[0].data["text"] == good[1]
    index = s.ids.index(speaker)
    assert world.humans.speaking[index]
    for _ in range(int(2.6 / DT)):  # the audio's length sets how long the mouth moves
        world, _ = s.step(FrameInputs(s.head), DT)
    assert not world.humans.speaking[index]


def test_a_session_without_a_bank_refuses_every_line(interview):
    s, _ = started(interview, None, seconds=2.0)
    _, events = s.step(FrameInputs(s.head, lines=(SpokenLine("h000", "interview.greet.warm.1", "Hi.", "warm", 1, 1),)), DT)
    assert kinds(events, "line_refused")


def test_patient_words_ask_the_nearest_or_last_speaker_for_a_reply(interview, lines):
    s, _ = started(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("Sorry, could you repeat that?"),)), DT)
    heard = kinds(events, "patient_said")
    wanted = kinds(events, "reply_wanted")
    assert heard and heard[0].data["risk"] is None
    assert len(wanted) == 1 and wanted[0].data["text"] == "Sorry, could you repeat that?"
    assert wanted[0].data["human"] in s.ids


@pytest.mark.parametrize("words,category", [
    ("honestly I just want to kill myself", "suicide"), ("I can't breathe, my chest hurts", "medical"),
    ("I can't take this any more", "crisis"), ("Je veux mourir", "suicide"), ("I've been cutting my arms again", "self_harm")])
def test_risk_alerts_the_clinician_and_quiets_the_humans_until_resumed(interview, lines, words, category):
    s, _ = started(interview, lines)
    world, events = s.step(FrameInputs(s.head, said=(PatientWords(words),)), DT)
    alerts = kinds(events, "alert")
    assert alerts and alerts[0].data["level"] == "critical" and alerts[0].data["category"] == category
    assert kinds(events, "dialogue_quiet") and not kinds(events, "reply_wanted")
    assert not world.humans.speaking.any()
    present = world.humans.present
    assert (world.humans.mood[present] == s.social.mood[present]).all()
    from vr.sim.talk import NEUTRAL

    assert (world.humans.mood[present] == NEUTRAL).all()
    speaker = s.ids[int(present.nonzero()[0][0])]
    line_id, text = next(iter(lines.items()))
    quiet_events = []
    for _ in range(int(60 / DT)):  # a minute: nobody starts a line, a late line is dropped
        world, ev = s.step(FrameInputs(s.head), DT)
        quiet_events += ev
    assert not kinds(quiet_events, "speech_turn")
    _, ev = s.step(FrameInputs(s.head, lines=(SpokenLine(speaker, line_id, text, "warm", 1.0, 99),)), DT)
    assert kinds(ev, "line_dropped") and not kinds(ev, "utterance")
    _, ev = s.step(FrameInputs(s.head, (Command("resume_dialogue"),)), DT)
    assert kinds(ev, "dialogue_resumed")
    _, ev = s.step(FrameInputs(s.head, lines=(SpokenLine(speaker, line_id, text, "warm", 1.0, 100),)), DT)
    assert kinds(ev, "utterance")


def test_replay_with_lines_and_words_is_exact(interview, lines, tmp_path):
    from vr.app.summary import record_files, record_meta
    from vr.record import SessionWriter
    from vr.record.replay import verify_replay

    bank = load_bank("interview_room")
    s = Session(interview.config, interview.scene.config, 9, lines=lines)
    out = tmp_path / "rec"
    files = record_files(interview)
    files["lines.yaml"] = (ROOT / "dialogue" / "interview_room.yaml").read_bytes()
    writer = SessionWriter(out, record_meta(interview, pseudonym="T-20", backend="test", seed=9,
                                            lines={"name": bank.name, "sha256": bank.sha256}), attachments=files)
    line_id, text = next(iter(lines.items()))
    script = {1: FrameInputs(s.head, (Command("goto_step", value=4),)),
              400: FrameInputs(s.head, said=(PatientWords("hello, nice to meet you"),)),
              420: FrameInputs(s.head, lines=(SpokenLine("h000", line_id, text, "warm", 2.0, 1, 0.7),))}
    for k in range(600):
        inputs = script.get(k, FrameInputs(s.head))
        _, events = s.step(inputs, DT)
        writer.write_inputs(inputs, DT)
        writer.write(events)
    final = s.end("stopped_by_clinician")
    writer.write(final)
    writer.close(events=0, ended="stopped_by_clinician", session_s=s.t_s, frames=600)
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    assert verdict.events > 50


DISTRESS = ["I want to kill myself", "i dont want to live anymore", "I'm going to end it all", "I think I'm having a heart attack",
            "I can't breathe", "I'm going to pass out", "I can't cope", "someone is hurting me", "Quiero morir",
            "Ich will sterben", "je ne peux pas respirer", "I've been thinking about suicide"]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(before=st.text(max_size=80), phrase=st.sampled_from(DISTRESS), after=st.text(max_size=80),
       shout=st.booleans())
def test_distress_inside_any_words_raises_the_alert(before, phrase, after, shout):
    from vr.sim.risk import detect

    words = f"{before} {phrase.upper() if shout else phrase} {after}"
    assert detect(words) is not None, words


@settings(max_examples=200, deadline=None)
@given(words=st.text(max_size=3000))
def test_any_words_pass_through_the_session_without_an_exception(interview, lines, words):
    s = Session(interview.config, interview.scene.config, 1, lines=lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords(words),)), DT)
    heard = [e for e in events if e.kind == "patient_said"]
    assert len(heard) == 1 and len(heard[0].data["text"]) <= 2000


def test_vr_say_prints_one_json_object(capsys):
    import json

    from vr.cli import main

    assert main(["say", "--profile", "job_interview", "--step", "2", "could you repeat the question please"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"speaker", "line_id", "text", "band", "similarity", "risk"}
    assert out["speaker"] == "interviewer" and out["risk"] is None and out["line_id"].startswith("interview.")
    assert main(["say", "--profile", "job_interview", "--lexical", "I", "want", "to", "die"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["risk"] == "suicide" and out["line_id"] is None


def test_the_clinician_picks_a_line_within_the_cap_and_it_is_said(interview):
    bank = load_bank("interview_room")
    texts, bands = vetted_lines(bank), {ln.id: ln.band for ln in bank.lines}
    s = Session(interview.config, interview.scene.config, 5, lines=texts, line_bands=bands)
    s.step(FrameInputs(s.head, (Command("goto_step", value=4),)), DT)
    for _ in range(int(20 / DT)):
        s.step(FrameInputs(s.head), DT)
    present = s.crowd.present.nonzero()[0]
    cap = band_for(interview.config.safety.max_intensity)
    mild = next(ln for ln in bank.lines if ln.band == "warm")
    harsh = [ln for ln in bank.lines if BANDS.index(ln.band) > BANDS.index(cap)]
    who = int(present[-1])
    picks = [Command("say_line", value=float(who), text=mild.id, id="L1"),
             Command("say_line", text="interview.made_up.9", id="L2"),
             Command("say_line", value=99.0, text=mild.id, id="L3")]
    if harsh:
        picks.append(Command("say_line", text=harsh[0].id, id="L4"))
    _, events = s.step(FrameInputs(s.head, tuple(picks)), DT)
    result = {e.data["id"]: e.data for e in kinds(events, "clinician_command")}
    assert result["L1"]["applied"] and not result["L2"]["applied"] and not result["L3"]["applied"]
    assert "not in the scene" in result["L3"]["reason"]
    if harsh:
        assert not result["L4"]["applied"] and "harsher" in result["L4"]["reason"]
    wanted = kinds(events, "line_wanted")
    assert [(e.data["human"], e.data["line_id"]) for e in wanted] == [(s.ids[who], mild.id)]
    # The worker voices exactly that line; the core says it like any other vetted line.
    spoken = SpokenLine(s.ids[who], mild.id, mild.text, mild.band, 2.0, wanted[0].data["request"], None, "clinician")
    _, events = s.step(FrameInputs(s.head, lines=(spoken,)), DT)
    assert [e.data["line_id"] for e in kinds(events, "utterance")] == [mild.id]
    # Quiet after a risk alert, paused, or without a bank: refused.
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("I want to kill myself"),),
                                   commands=(Command("say_line", text=mild.id, id="L5"),)), DT)
    _, events = s.step(FrameInputs(s.head, (Command("say_line", text=mild.id, id="L6"),)), DT)
    assert "quiet" in kinds(events, "clinician_command")[0].data["reason"]
    bare = Session(interview.config, interview.scene.config, 5)
    _, events = bare.step(FrameInputs(bare.head, (Command("say_line", text=mild.id),)), DT)
    assert kinds(events, "clinician_command")[0].data["reason"] == "this session has no dialogue"


def test_the_clinician_has_a_human_speak_a_line_of_their_own(interview, lines):
    s, _ = started(interview, lines)
    present = s.crowd.present.nonzero()[0]
    who = int(present[0])
    _, events = s.step(FrameInputs(s.head, (Command("speak", value=float(who), id="S1"),
                                            Command("speak", value=99.0, id="S2"))), DT)
    result = {e.data["id"]: e.data for e in kinds(events, "clinician_command")}
    assert result["S1"]["applied"] and "not in the scene" in result["S2"]["reason"]
    turn = [e for e in kinds(events, "speech_turn") if e.data.get("by") == "clinician"]
    assert len(turn) == 1 and turn[0].data["human"] == s.ids[who]
    assert turn[0].data["band"] == band_for(s.params.dialogue_intensity) and turn[0].data["request"] > 0
    s.step(FrameInputs(s.head, (Command("pause"),)), DT)
    _, events = s.step(FrameInputs(s.head, (Command("speak", id="S3"),)), DT)
    assert "while paused" in kinds(events, "clinician_command")[0].data["reason"]
