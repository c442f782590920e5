"""Spoken turns: from the end of the patient's speech to the human's first audio sample (JSON).

A rendered interview (job interview, one warm interviewer, 320x180 offscreen) runs on the wall
clock, its frames paced as a 90 Hz headset's are (``vr run --pace 90``). The patient's turns are
espeak-ng clips on a file microphone (``--mic FOLDER``): the listener hears them as it would a
microphone, Whisper tiny.en recognises them in its own process, the words go to the session core
(risk screen, then a reply wanted), the dialogue worker chooses a vetted line and makes its
voice, and the line's audio starts playing in the frame that says it. Per turn:

- ``vad_tail_ms``: the end-of-turn wait (the detector's silence rule);
- ``recognise_ms``: the turn closed to its text in the frame loop's hands (queue, pipe, model);
- ``to_step_ms``: text in hand to the step that reads it (at most a frame);
- ``worker_ms``: the worker's own time for the reply (``choose_ms`` line choice with MiniLM,
  after the meaning check of the same words; ``synth_ms`` its voice), and ``pipe_ms``: the rest
  of the request's round trip (queues, pipes, the frame that polls it);
- ``to_audio_ms``: the line in hand to the frame whose step says it, where its audio starts;
- ``total_ms``: the end of speech to the first audio sample (the sum).

The same session is also run with listening off and the same words typed at the moments the
recogniser gave them, so the missed 90 Hz frames with listening on and off are side by side.

    python bench/spoken.py                      # 40 turns, both runs (about 12 min here)
    python bench/spoken.py --turns 10           # a quicker look
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from listen import pct, summary as stats  # noqa: E402  (bench/ is the script's folder)

GAP_S = 7.0   # after each turn: the reply (about 1.5 s away) and its line (2-4 s) end before the next


def clip_folder(folder: Path, turns: int):
    from vr.dialogue.clips import PATIENT_SENTENCES, make_clip_folder

    said = [(PATIENT_SENTENCES[i % len(PATIENT_SENTENCES)], ("en-us", "en-gb")[(i // len(PATIENT_SENTENCES)) % 2],
             165) for i in range(turns)]
    return make_clip_folder(folder, said, first_s=2.0, gap_s=GAP_S)


def session(out: Path, folder: Path | None, typed: list[tuple[float, str]], end_s: float, pace_hz: float,
            size: tuple[int, int]) -> dict:
    """One paced run; with ``folder`` the patient is heard, else ``typed`` words are said at their times."""
    from vr.app.hearing import HearingOptions
    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    clock: list[tuple[float, float]] = []          # (session s, wall s) once a frame
    arrived: dict[int, tuple[float, dict]] = {}   # request -> (wall s, the worker's answer)
    pending = list(typed)

    def hook(loop):
        worker = loop.dialogue.worker
        rec = loop.hearing.listener.recogniser if loop.hearing is not None else None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (worker.status.ready and (rec is None or rec.status.ready)):
            worker.poll()
            if rec is not None:
                rec.poll()
            time.sleep(0.05)
        loop.submit(Command("goto_step", value=1, source="bench"))
        poll = worker.poll

        def timed_poll():
            answers, alerts = poll()
            now = time.perf_counter()
            for a in answers:
                if a.get("kind") == "line":
                    arrived[int(a["request"])] = (now, a)
            return answers, alerts

        worker.poll = timed_poll

        def tick(task):
            if loop.world is not None:
                clock.append((loop.world.t_s, time.perf_counter()))
                while pending and loop.world.t_s >= pending[0][0]:
                    loop.say(pending.pop(0)[1], "microphone")
            return task.cont

        loop.base.taskMgr.add(tick, "bench-clock", sort=-31)

    hearing = HearingOptions(mic=str(folder)) if folder is not None else None
    started = time.perf_counter()
    run_rendered(load_profile(ROOT / "exposure_profiles" / "job_interview.yaml"), backend_kind="offscreen",
                 seconds=end_s, seed=7, out=out, pseudonym="B-01", size=size, on_loop=hook, hearing=hearing,
                 pace_hz=pace_hz)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    frames = [e for e in events if e["kind"] == "frame_stats"]
    cpu = [ms for e in frames for ms in e["cpu_ms"]]
    return {"events": events, "clock": clock, "arrived": arrived, "wall_s": time.perf_counter() - started,
            "frames": sum(e["frames"] for e in frames), "missed_frames": sum(e.get("missed_frames", 0) for e in frames),
            "over_budget": sum(e["over_budget"] for e in frames), "cpu_ms": stats(cpu)}


def wall_at(clock: list[tuple[float, float]], t_s: float) -> float:
    """The wall time at session time ``t_s`` (the frames' own pairs, interpolated)."""
    i = bisect.bisect_left([c[0] for c in clock], t_s)
    if i <= 0:
        return clock[0][1] - (clock[0][0] - t_s)
    if i >= len(clock):
        return clock[-1][1] + (t_s - clock[-1][0])
    (s0, w0), (s1, w1) = clock[i - 1], clock[i]
    return w0 + (w1 - w0) * ((t_s - s0) / (s1 - s0) if s1 > s0 else 0.0)


def turns_of(run: dict, clips) -> tuple[list[dict], list[str]]:
    events, clock, arrived = run["events"], run["clock"], run["arrived"]
    heard = [e for e in events if e["kind"] == "speech_heard"]
    wanted = {e["said"]: e for e in events if e["kind"] == "reply_wanted"}
    spoken = {e["request"]: e for e in events if e["kind"] == "utterance"}
    rows, hyps = [], []
    patient = [e for e in events if e["kind"] == "patient_said"]
    for k, h in enumerate(heard):
        turn = patient[k] if k < len(patient) else None
        hyps.append(h["text"])
        ask = wanted.get(turn["said"]) if turn else None
        line = spoken.get(ask["request"]) if ask else None
        got = arrived.get(ask["request"]) if ask else None
        if ask is None or line is None or got is None:
            rows.append({"turn": h["turn"], "answered": False})
            continue
        end = wall_at(clock, h["ended_s"])
        in_hand = end + (h["wait_ms"] + h["recognise_ms"]) / 1000
        step = wall_at(clock, h["t_s"])
        asked = wall_at(clock, ask["t_s"])
        audio = wall_at(clock, line["t_s"])
        answer = got[1]
        worker_ms = float(answer.get("latency_ms") or 0.0)
        rows.append({
            "turn": h["turn"], "answered": True, "said": clips[k].text if k < len(clips) else None, "heard": h["text"],
            "vad_tail_ms": h["wait_ms"], "recognise_ms": h["recognise_ms"], "model_ms": h["model_ms"],
            "to_step_ms": round(max(step - in_hand, 0.0) * 1000, 1),
            "worker_ms": worker_ms, "choose_ms": answer.get("choose_ms"), "synth_ms": answer.get("synth_ms"),
            "pipe_ms": round(max((got[0] - asked) * 1000 - worker_ms, 0.0), 1),
            "to_audio_ms": round(max(audio - got[0], 0.0) * 1000, 1),
            "total_ms": round((audio - end) * 1000, 1)})
    return rows, hyps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--pace", type=float, default=90.0, help="display refresh to pace frames to (Hz)")
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    text = json.dumps(measure(args.turns, args.pace, tuple(int(v) for v in args.size.split("x"))), indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


def measure(turns: int, pace_hz: float, size: tuple[int, int]) -> dict:
    from vr.dialogue.clips import word_error_rate

    with tempfile.TemporaryDirectory(prefix="vr-bench-spoken-") as tmp:
        tmp = Path(tmp)
        clips = clip_folder(tmp / "clips", turns)
        end_s = clips[-1].start_s + GAP_S + 4.0
        on = session(tmp / "on", tmp / "clips", [], end_s, pace_hz, size)
        rows, hyps = turns_of(on, clips)
        # the same words typed where the recogniser gave them: the same dialogue, without listening
        typed = [(e["t_s"], e["text"]) for e in on["events"] if e["kind"] == "patient_said"]
        off = session(tmp / "off", None, typed, end_s, pace_hz, size)
    done = [r for r in rows if r["answered"]]
    parts = ("total_ms", "vad_tail_ms", "recognise_ms", "model_ms", "to_step_ms", "worker_ms", "choose_ms",
             "synth_ms", "pipe_ms", "to_audio_ms")
    return {
        "bench": "dialogue.spoken",
        "turns_said": len(clips), "turns_heard": len(hyps), "turns_answered": len(done),
        "end_of_speech_to_first_audio_ms": stats([r["total_ms"] for r in done]),
        "target_p95_ms": 1200,
        "breakdown_p50_ms": {p: pct([r[p] for r in done if r.get(p) is not None], 0.5) for p in parts},
        "breakdown_p95_ms": {p: pct([r[p] for r in done if r.get(p) is not None], 0.95) for p in parts},
        "wer_percent": round(100 * word_error_rate([c.text for c in clips[:len(hyps)]], hyps), 2),
        "frames": {"pace_hz": pace_hz, "size": list(size), "session_s": round(end_s, 1),
                   "listening_on": {k: on[k] for k in ("frames", "missed_frames", "over_budget", "cpu_ms")},
                   "listening_off": {k: off[k] for k in ("frames", "missed_frames", "over_budget", "cpu_ms")}},
        "turns": rows,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


if __name__ == "__main__":
    main()
