"""The dialogue worker in its own process: answers, a hang, a crash, and a frame loop that never waits."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import ROOT
from vr.dialogue.bank import DIALOGUE_DIR, load_bank
from vr.dialogue.voices import Voice
from vr.dialogue.worker import DialogueWorker


def request(n: int, text: str = "sorry, could you say that again?", band: str = "warm") -> dict:
    v = Voice.from_seed(n)
    return {"kind": "reply", "request": n, "bank": "interview_room", "speaker": "h000", "band": band, "role": None,
            "text": text, "recent": [], "voice": {"name": v.name, "pitch": v.pitch, "rate_wpm": v.rate_wpm}}


def wait(worker: DialogueWorker, until, seconds: float = 90.0):
    answers, alerts = [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        a, al = worker.poll()
        answers += a
        alerts += al
        if until(answers, alerts):
            return answers, alerts
        time.sleep(0.01)
    raise AssertionError(f"timed out: answers {answers}, alerts {alerts}")


@pytest.fixture
def worker(tmp_path):
    w = DialogueWorker({"interview_room": load_bank("interview_room")}, seed=1, cache_dir=tmp_path / "cache",
                       bank_dir=DIALOGUE_DIR, prefer="lexical", test_hooks=True, timeout_s=1.5)
    wait(w, lambda a, al: w.status.ready)
    yield w
    w.close()


def test_a_reply_comes_with_its_voice(worker):
    worker.request(request(1))
    answers, _ = wait(worker, lambda a, al: a)
    a = answers[0]
    line = load_bank("interview_room").line(a["line_id"])
    assert a["text"] == line.text and line.band == "warm" and a["method"] in ("lexical", "generic")
    assert Path(a["wav"]).is_file() and a["duration_s"] > 0.3 and len(a["envelope"]) > 10
    assert worker.status.engine in ("espeak-ng", "silent")


def test_a_hung_worker_is_restarted_and_a_generic_line_answers_meanwhile(worker):
    worker.request({"kind": "test_sleep", "seconds": 30, "request": 0})
    worker.request(request(2))
    started = time.monotonic()
    answers, alerts = wait(worker, lambda a, al: a)
    assert 1.4 < time.monotonic() - started < 5.0
    assert answers[0]["method"] == "fallback" and answers[0]["request"] == 2
    assert load_bank("interview_room").line(answers[0]["line_id"]).band == "warm"
    assert any("restarted" in m for m in alerts) and worker.status.restarts == 1
    wait(worker, lambda a, al: worker.status.ready)  # the new worker answers as before
    worker.request(request(3))
    answers, _ = wait(worker, lambda a, al: a)
    assert answers[0]["method"] != "fallback"


def test_a_crashed_worker_is_restarted(worker):
    worker.request(request(4))
    wait(worker, lambda a, al: a)
    os.kill(worker._proc.pid, signal.SIGKILL)
    worker.request(request(5))
    answers, alerts = wait(worker, lambda a, al: a)
    assert answers[0]["method"] == "fallback" and any("stopped" in m for m in alerts)
    wait(worker, lambda a, al: worker.status.ready)


def test_the_sentence_model_answers_in_the_worker(tmp_path):
    w = DialogueWorker({"interview_room": load_bank("interview_room")}, seed=1, cache_dir=tmp_path / "cache",
                       bank_dir=DIALOGUE_DIR)
    try:
        wait(w, lambda a, al: w.status.ready)
        assert w.status.method == "model"
        w.request(request(6, "I'm so sorry, my nerves are getting the better of me"))
        answers, _ = wait(w, lambda a, al: a)
        assert answers[0]["line_id"].startswith("interview.nervous.warm")
    finally:
        w.close()


def test_offscreen_run_with_dialogue_records_what_was_said_and_panic_is_not_delayed(tmp_path):
    # The worker is made to hang just before the panic: the safe scene still comes in that same step.
    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    # Each step waits on a condition, not a clock: the panic comes once the patient's words have had
    # their reply (a busy machine slows it), and the session ends a little after the panic.
    state = {"said": False, "panicked_at": None, "replies": set(), "answered": False, "loop": None}

    class Replies:
        def on_events(self, events, world, dt_s):
            for e in events:
                if e.kind == "reply_wanted":
                    state["replies"].add(e.data["request"])
                elif e.kind == "utterance" and e.data.get("request") in state["replies"]:
                    state["answered"] = True

    def script(loop):
        state["loop"] = loop
        worker = loop.dialogue.worker
        wait(worker, lambda a, al: worker.status.ready, 120.0)  # let the model load before the clock runs
        loop.submit(Command("goto_step", value=4, source="test"))
        loop.bus.subscribe(Replies())

        def drive(task):
            world = loop.world
            if world is None:
                return task.cont
            if world.t_s > 12 and not state["said"]:
                loop.say("Hello, thank you for having me")
                state["said"] = True
            if state["answered"] and world.t_s > 14 and state["panicked_at"] is None:
                state["panic_t_s"] = world.t_s
                worker.request({"kind": "test_sleep", "seconds": 30, "request": 0})
                loop.submit(Command("panic", source="test"))
                state["panicked_at"] = loop.frames
            return task.cont

        loop.base.taskMgr.add(drive, "test-drive", sort=-31)

    def stop():
        loop = state["loop"]
        if state["panicked_at"] is None or loop is None or loop.world is None:
            return ""
        return "test_done" if loop.world.t_s >= state["panic_t_s"] + 3.0 else ""

    import vr.app.run as run_module

    original = run_module._worker
    run_module._worker = lambda bank, seed, timeout_s, tts_engine="auto": DialogueWorker(
        {bank.name: bank}, seed=seed, cache_dir=tmp_path / "cache", bank_dir=DIALOGUE_DIR, timeout_s=1.5,
        test_hooks=True)
    try:
        result = run_rendered(load_profile(ROOT / "exposure_profiles" / "job_interview.yaml"), backend_kind="offscreen",
                              seconds=120.0, seed=3, out=tmp_path / "rec", pseudonym="T-30", size=(160, 90), fps=10,
                              on_loop=script, stop_requested=stop)
    finally:
        run_module._worker = original
    assert result.ended == "test_done", result.ended
    events = [json.loads(line) for line in (tmp_path / "rec" / "events.jsonl").read_text().splitlines()]
    said = [e for e in events if e["kind"] == "utterance"]
    assert said, "nobody spoke"
    bank = load_bank("interview_room")
    for e in said:
        assert bank.line(e["line_id"]).text == e["text"]
    replies = [e for e in events if e["kind"] == "reply_wanted"]
    assert replies and any(e["request"] == replies[0]["request"] for e in said)
    panic = next(e for e in events if e["kind"] == "panic")
    safe = next(e for e in events if e["kind"] == "safe_scene")
    assert safe["t_s"] == panic["t_s"]
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["lines"]["name"] == "interview_room" and (tmp_path / "rec" / "lines.yaml").is_file()
    from vr.record.replay import verify_replay

    verdict = verify_replay(tmp_path / "rec")
    assert verdict.same, verdict.message
