"""The patient-risk screen: phrases in the step, meaning by the sentence model, decided in the core.

The labelled set (tests/data/risk_utterances.yaml: risk wordings of four kinds, direct, indirect,
misspelt and as a recogniser writes them, and ordinary words from the scenes, anxious ones too)
must be caught in full, with at most 1 % false alarms; the figures are printed.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from test_dialogue_worker import wait
from vr.config import load_profile
from vr.dialogue.bank import DIALOGUE_DIR, load_bank, vetted_lines
from vr.sim import Command, FrameInputs, PatientWords, Session, SpokenLine
from vr.sim.risk import KINDS, ScreenScore, detect, normalise, semantic_alert
from vr.sim.talk import SCREEN_WAIT_S

DT = 1 / 30
LABELLED = ROOT / "tests" / "data" / "risk_utterances.yaml"


@pytest.fixture(scope="module")
def interview():
    return load_profile(ROOT / "exposure_profiles" / "job_interview.yaml")


@pytest.fixture(scope="module")
def lines():
    return vetted_lines(load_bank("interview_room"))


@pytest.fixture(scope="module")
def screen():
    from vr.dialogue.embed import MiniLM
    from vr.dialogue.screen import RiskScreen

    return RiskScreen(MiniLM())   # a core dependency: a model that cannot load is a failure here


def in_place(loaded, lines, seconds=15.0):
    s = Session(loaded.config, loaded.scene.config, 5, lines=lines)
    s.step(FrameInputs(s.head, (Command("goto_step", value=4),)), DT)
    for _ in range(int(seconds / DT)):
        s.step(FrameInputs(s.head), DT)
    return s


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


# -- the labelled set ----------------------------------------------------------------------------

def test_the_labelled_set_is_caught_in_full_with_few_false_alarms(screen):
    from vr.dialogue.screen import verdict

    data = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    assert len(data["risk"]) >= 80 and len(data["safe"]) >= 400
    assert {item["kind"] for item in data["risk"]} == set(KINDS)
    by = collections.defaultdict(lambda: [0, 0])
    missed, false_alarms, how = [], [], collections.Counter()
    for item in data["risk"]:
        kind, method, _ = verdict(screen, item["text"])
        for key in ("all", item["kind"], item["style"], item["split"]):
            by[key][0] += 1
            by[key][1] += kind is not None
        how[method] += 1
        if kind is None:
            missed.append(item["text"])
    for item in data["safe"]:
        kind, method, score = verdict(screen, item["text"])
        if kind is not None:
            false_alarms.append((item["text"], kind, method))
    safe_n = len(data["safe"])
    figures = {"risk_utterances": len(data["risk"]), "safe_utterances": safe_n,
               "recall": {k: round(hit / n, 4) for k, (n, hit) in sorted(by.items())},
               "caught_by": dict(how), "false_alarms": len(false_alarms),
               "false_alarm_rate": round(len(false_alarms) / safe_n, 4),
               "false_alarm_rate_anxious": round(sum(1 for t, *_ in false_alarms
                                                     if any(s["text"] == t and s.get("anxious") for s in data["safe"]))
                                                 / max(1, sum(1 for s in data["safe"] if s.get("anxious"))), 4)}
    print("\nrisk screen on the labelled set:", json.dumps(figures, indent=1))
    assert not missed, f"missed {len(missed)}: {missed}"
    assert len(false_alarms) / safe_n <= 0.01, f"false alarms: {false_alarms}"


def test_the_labelled_set_is_well_formed():
    data = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    texts = [i["text"] for i in data["risk"]] + [i["text"] for i in data["safe"]]
    assert len(texts) == len(set(texts)), "a text appears twice"
    assert all(i["style"] in ("direct", "indirect", "misspelt", "asr") for i in data["risk"])
    assert all(i["split"] in ("tune", "holdout") for i in data["risk"] + data["safe"])


# -- phrases -------------------------------------------------------------------------------------

@pytest.mark.parametrize("words,kind", [
    ("i wanna kil myself", "suicide"), ("I've been thinking about sucide", "suicide"),
    ("im going to take all my pills tonight", "suicide"), ("KMS honestly", "suicide"),
    ("ive been cuting myself", "self_harm"), ("he keeps hitting me", "crisis"),
    ("my chest is tight and i cant breath", "medical")])
def test_phrases_read_misspelt_and_recognised_words(words, kind):
    risk = detect(words)
    assert risk is not None and risk.category == kind, (words, risk, normalise(words))


@pytest.mark.parametrize("words", ["fill in the form", "my bill is due", "the pillows are soft", "I'm living in Leeds",
                                   "the kiln is hot", "a killer presentation"])
def test_short_ordinary_words_are_not_respelt_into_risk(words):
    assert detect(words) is None, normalise(words)


def test_the_thresholds_decide_as_documented():
    assert semantic_alert(0.9, 0.95)            # very close to a risk exemplar: whatever the near misses say
    assert semantic_alert(0.6, 0.4)             # close, and clearly closer to risk
    assert not semantic_alert(0.6, 0.7)         # closer to a near miss ("dying of embarrassment")
    assert not semantic_alert(0.3, 0.0)         # not close to anything


# -- the core decides -----------------------------------------------------------------------------

def test_words_are_sent_for_a_meaning_check_and_a_risky_score_alerts_and_drops_the_reply(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("I don't think I'll be around to see next year"),)), DT)
    heard = kinds(events, "patient_said")[0]
    assert heard.data["risk"] is None and heard.data["screen"] == "phrases+meaning"
    wanted = kinds(events, "risk_screen_wanted")
    reply = kinds(events, "reply_wanted")
    assert len(wanted) == 1 and len(reply) == 1
    assert events.index(wanted[0]) < events.index(reply[0])   # the worker reads the screen first
    screen_no = wanted[0].data["screen"]
    speaker = reply[0].data["human"]
    line_id, text = next(iter(lines.items()))
    score = ScreenScore(screen_no, "suicide", 0.71, 0.42, "I won't be around much longer", "whole", "minilm-l6-v2")
    answer = SpokenLine(speaker, line_id, text, "warm", 2.0, reply[0].data["request"])
    world, events = s.step(FrameInputs(s.head, lines=(answer,), screens=(score,)), DT)
    screened = kinds(events, "risk_screened")
    assert screened and screened[0].data["alert"] is True and screened[0].data["category"] == "suicide"
    alert = kinds(events, "alert")[0]
    assert alert.data["level"] == "critical" and alert.data["category"] == "suicide"
    assert alert.data["method"] == "meaning" and "I won't be around much longer" in alert.data["message"]
    assert kinds(events, "dialogue_quiet") and kinds(events, "line_dropped") and not kinds(events, "utterance")
    assert not world.humans.speaking.any()
    # The same score again (a duplicate answer) changes nothing.
    _, events = s.step(FrameInputs(s.head, screens=(score,)), DT)
    assert not kinds(events, "risk_screened") and not kinds(events, "alert")


def test_a_safe_score_is_logged_and_the_humans_answer(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("I'm dying of embarrassment, sorry"),)), DT)
    screen_no = kinds(events, "risk_screen_wanted")[0].data["screen"]
    score = ScreenScore(screen_no, "medical", 0.39, 0.95, "I'm going to faint", "whole", "minilm-l6-v2")
    _, events = s.step(FrameInputs(s.head, screens=(score,)), DT)
    assert kinds(events, "risk_screened")[0].data["alert"] is False
    assert not kinds(events, "alert") and not s.talk.quiet


def test_an_unanswered_meaning_check_warns_and_a_late_answer_still_alerts(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("nobody would even notice if I was gone"),)), DT)
    screen_no = kinds(events, "risk_screen_wanted")[0].data["screen"]
    later = []
    for _ in range(int((SCREEN_WAIT_S + 1.0) / DT)):
        later += s.step(FrameInputs(s.head), DT)[1]
    warnings = [e for e in kinds(later, "alert") if e.data["reason"] == "risk_screen"]
    assert len(warnings) == 1 and "nobody would even notice" in warnings[0].data["message"]
    score = ScreenScore(screen_no, "suicide", 0.66, 0.31, "no one would miss me if I was gone", "whole", "m")
    _, events = s.step(FrameInputs(s.head, screens=(score,)), DT)
    assert kinds(events, "alert")[0].data["level"] == "critical" and s.talk.quiet
    assert kinds(events, "risk_screened")[0].data["waited_s"] > SCREEN_WAIT_S


def test_a_phrase_alerts_in_the_step_itself_without_waiting_for_meaning(interview, lines):
    s = in_place(interview, lines)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("i want to kill myself"),)), DT)
    assert kinds(events, "alert")[0].data["method"] == "phrase" and not kinds(events, "risk_screen_wanted")


def test_a_session_without_dialogue_screens_by_phrases_and_says_so(interview):
    s = in_place(interview, None, seconds=2.0)
    _, events = s.step(FrameInputs(s.head, said=(PatientWords("everything feels pointless"),)), DT)
    assert kinds(events, "patient_said")[0].data["screen"] == "phrases" and not kinds(events, "risk_screen_wanted")


def test_a_distraction_session_screens_words_with_or_without_its_companion():
    from vr.sim.procedure import new_session

    loaded = load_profile(ROOT / "exposure_profiles" / "burn_dressing_snow.yaml")
    companion = vetted_lines(load_bank("companion"))
    for lines in (companion, None):
        s = new_session(loaded, 3, lines=lines)
        s.step(FrameInputs(s.head), DT)
        _, events = s.step(FrameInputs(s.head, said=(PatientWords("I can't breathe"),)), DT)
        assert kinds(events, "alert")[0].data["category"] == "medical"
        _, events = s.step(FrameInputs(s.head, said=(PatientWords("I want it all to stop for good"),)), DT)
        assert bool(kinds(events, "risk_screen_wanted")) == bool(lines)


def test_meaning_checks_replay_exactly(interview, lines, tmp_path):
    from vr.app.summary import record_files, record_meta
    from vr.record import SessionWriter
    from vr.record.replay import verify_replay

    bank = load_bank("interview_room")
    s = Session(interview.config, interview.scene.config, 9, lines=lines)
    out = tmp_path / "rec"
    files = record_files(interview)
    files["lines.yaml"] = (DIALOGUE_DIR / "interview_room.yaml").read_bytes()
    writer = SessionWriter(out, record_meta(interview, pseudonym="T-21", backend="test", seed=9,
                                            lines={"name": bank.name, "sha256": bank.sha256}), attachments=files)
    script = {1: FrameInputs(s.head, (Command("goto_step", value=4),)),
              300: FrameInputs(s.head, said=(PatientWords("I keep thinking they'd all be happier without me"),)),
              303: FrameInputs(s.head, screens=(ScreenScore(1, "suicide", 0.74, 0.38, "everyone would be better off "
                                                            "without me", "whole", "minilm-l6-v2"),))}
    for k in range(400):
        inputs = script.get(k, FrameInputs(s.head))
        _, events = s.step(inputs, DT)
        writer.write_inputs(inputs, DT)
        writer.write(events)
    final = s.end("stopped_by_clinician")
    writer.write(final)
    writer.close(events=0, ended="stopped_by_clinician", session_s=s.t_s, frames=400)
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    recorded = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "alert" and e.get("method") == "meaning" for e in recorded)


# -- the worker answers ----------------------------------------------------------------------------

def _wait(worker, until, seconds=120.0):
    return wait(worker, until, seconds)


def test_the_worker_scores_words_with_the_sentence_model_and_survives_a_hang(tmp_path):
    from vr.dialogue.worker import DialogueWorker

    w = DialogueWorker({"interview_room": load_bank("interview_room")}, seed=1, cache_dir=tmp_path / "cache",
                       bank_dir=DIALOGUE_DIR, test_hooks=True, timeout_s=1.5)
    try:
        _wait(w, lambda a, al: w.status.ready)
        assert w.status.method == "model"
        w.request({"kind": "screen", "request": 1, "text": "honestly i have been thinking about ending it all"})
        w.request({"kind": "screen", "request": 2, "text": "could you repeat the question please"})
        answers, _ = _wait(w, lambda a, al: len(a) == 2)
        got = {a["request"]: a for a in answers}
        assert got[1]["kind"] == "screen" and got[1]["risk_kind"] == "suicide"
        assert semantic_alert(got[1]["similarity"], got[1]["safe_similarity"])
        assert not semantic_alert(got[2]["similarity"], got[2]["safe_similarity"])
        # A hung worker: the screen is asked again of the restarted one, and answered.
        w.request({"kind": "test_sleep", "seconds": 60, "request": 0})
        w.request({"kind": "screen", "request": 3, "text": "I just want to go to sleep and never wake up"})
        answers, alerts = _wait(w, lambda a, al: a)
        assert answers[0]["request"] == 3 and answers[0]["risk_kind"] == "suicide"
        assert w.status.restarts == 1 and any("restarted" in m for m in alerts)
    finally:
        w.close()


def test_a_worker_without_the_model_says_the_screen_is_phrases_only(tmp_path):
    from vr.dialogue.worker import SCREEN_OFF, DialogueWorker

    w = DialogueWorker({"interview_room": load_bank("interview_room")}, seed=1, cache_dir=tmp_path / "cache",
                       bank_dir=DIALOGUE_DIR, prefer="lexical")
    try:
        _, alerts = _wait(w, lambda a, al: w.status.ready)
        assert any(SCREEN_OFF in m for m in alerts)
        w.request({"kind": "screen", "request": 1, "text": "I want it to be over"})
        answers, _ = _wait(w, lambda a, al: a)
        assert answers[0]["model"] == "" and not semantic_alert(answers[0]["similarity"], answers[0]["safe_similarity"])
    finally:
        w.close()


def test_a_rendered_session_alerts_on_an_indirect_wording_and_replays(tmp_path):
    """The whole path: words typed in a rendered interview, the worker's meaning check, the core's
    alert, quiet humans, and a record that replays to the same events."""
    from vr.app.run import run_rendered
    from vr.dialogue.worker import DialogueWorker
    from vr.record.replay import verify_replay

    # Each step waits on the one before it (the first check answered, then the second), not on a
    # clock: a busy machine slows the meaning checks, and the session ends once both are in.
    state = {"calm": False, "risk": False, "screened": [], "done": None}

    class Screens:
        def on_events(self, events, world, dt_s):
            state["screened"] += [e for e in events if e.kind == "risk_screened"]

    def script(loop):
        worker = loop.dialogue.worker
        _wait(worker, lambda a, al: worker.status.ready)  # the model loads before the clock runs
        loop.submit(Command("goto_step", value=4, source="test"))
        loop.drive.bus.subscribe(Screens())

        def drive(task):
            world = loop.world
            if world is None:
                return task.cont
            if world.t_s > 6 and not state["calm"]:
                loop.say("sorry, this interview is killing me, I'm so nervous")
                state["calm"] = True
            if len(state["screened"]) >= 1 and not state["risk"]:
                loop.say("lately I feel like my family would cope fine if I was not in the picture")
                state["risk"] = True
            if len(state["screened"]) >= 2 and state["done"] is None:
                state["done"] = world.t_s + 2.0   # a little after the alert: the humans stay quiet
            return task.cont

        loop.base.taskMgr.add(drive, "test-drive", sort=-31)

    def stop():
        world = loop_world()
        return "test_done" if state["done"] is not None and world is not None and world.t_s >= state["done"] else ""

    loops = []

    def on_loop(loop):
        loops.append(loop)
        script(loop)

    def loop_world():
        return loops[0].world if loops else None

    import vr.app.run as run_module

    original = run_module._worker
    run_module._worker = lambda bank, seed, timeout_s, tts_engine="auto": DialogueWorker(
        {bank.name: bank}, seed=seed, cache_dir=tmp_path / "cache", bank_dir=DIALOGUE_DIR, timeout_s=10.0)
    try:
        result = run_rendered(load_profile(ROOT / "exposure_profiles" / "job_interview.yaml"), backend_kind="offscreen",
                              seconds=120.0, seed=4, out=tmp_path / "rec", pseudonym="T-31", size=(160, 90), fps=10,
                              on_loop=on_loop, stop_requested=stop)
    finally:
        run_module._worker = original
    assert result.ended == "test_done", result.ended
    events = [json.loads(line) for line in (tmp_path / "rec" / "events.jsonl").read_text().splitlines()]
    screened = [e for e in events if e["kind"] == "risk_screened"]
    assert [e["alert"] for e in screened] == [False, True], screened
    critical = [e for e in events if e["kind"] == "alert" and e["level"] == "critical"]
    assert len(critical) == 1 and critical[0]["method"] == "meaning" and critical[0]["category"] == "suicide"
    assert not [e for e in events if e["kind"] == "utterance" and e["t_s"] > critical[0]["t_s"]]
    assert any(e["kind"] == "dialogue_quiet" for e in events)
    verdict = verify_replay(tmp_path / "rec")
    assert verdict.same, verdict.message
