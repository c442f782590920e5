"""Dialogue speed: from the patient's words to speech audio ready, and its cost to the frame (JSON).

1. **Latency**: the held-out utterances (tests/data/dialogue_held.yaml) are sent to a running
   dialogue worker (its own process, MiniLM and espeak-ng), one at a time, as the frame loop
   would; the time from sending to the answer being in hand (line chosen, audio written, polled
   by the app) is measured. ``cold``: the voice cache is empty; ``warm``: the same lines again.
2. **A generative model, for scale**: with ``--generative DIR`` (a local transformers causal LM)
   the same utterances are answered by it; none ships as a pip package, so by default this says so.
3. **Frames**: a headless session (job interview, panel of three, the patient speaking every
   30 s) is run twice for ``--minutes`` of session time at 90 frames per simulated second, with
   dialogue on and off; the JSON gives the frames whose CPU time missed the 90 Hz deadline.

    python bench/dialogue.py                       # latency, and 10-minute runs (about 20 min here)
    python bench/dialogue.py --minutes 1           # a quicker look at the frame cost
    python bench/dialogue.py --skip-frames
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def latency(cache: Path) -> dict:
    from vr.dialogue.bank import DIALOGUE_DIR, load_bank
    from vr.dialogue.voices import Voice
    from vr.dialogue.worker import DialogueWorker

    held = yaml.safe_load((ROOT / "tests" / "data" / "dialogue_held.yaml").read_text())
    banks = {name: load_bank(name) for name in sorted({item["bank"] for item in held})}
    started = time.perf_counter()
    worker = DialogueWorker(banks, seed=1, cache_dir=cache, bank_dir=DIALOGUE_DIR, timeout_s=30.0)
    while not worker.status.ready:
        worker.poll()
        time.sleep(0.01)
    ready_s = time.perf_counter() - started
    out: dict = {"worker_ready_s": round(ready_s, 2), "method": worker.status.method, "voice": worker.status.engine}
    n = 0
    for label in ("cold", "warm"):
        wall, inside = [], []
        for k, item in enumerate(held):
            n += 1
            v = Voice.from_seed(k % 7)  # the same voice per utterance in both passes: warm hits the cache
            req = {"kind": "reply", "request": n, "bank": item["bank"], "speaker": "h000", "band": item["band"],
                   "role": None, "text": item["utterance"], "recent": [],
                   "voice": {"name": v.name, "pitch": v.pitch, "rate_wpm": v.rate_wpm}}
            t0 = time.perf_counter()
            worker.request(req)
            while True:
                answers, _ = worker.poll()
                if answers:
                    break
                time.sleep(0.0005)
            wall.append((time.perf_counter() - t0) * 1000)
            if answers[0].get("latency_ms") is not None:
                inside.append(answers[0]["latency_ms"])
        out[label] = {"utterances": len(wall), "p50_ms": pct(wall, 0.5), "p95_ms": pct(wall, 0.95),
                      "max_ms": round(max(wall), 2), "in_worker_p50_ms": pct(inside, 0.5) if inside else None}
    worker.close()
    return out


def generative(model_dir: str | None) -> dict:
    if not model_dir:
        return {"measured": False, "reason": "no generative model is installed here (none ships as a pip package); "
                                             "pass --generative DIR to time a local one"}
    from transformers import AutoModelForCausalLM, AutoTokenizer

    held = yaml.safe_load((ROOT / "tests" / "data" / "dialogue_held.yaml").read_text())
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    times = []
    for item in held[:20]:
        t0 = time.perf_counter()
        ids = tok(f"Patient: {item['utterance']}\nReply:", return_tensors="pt")
        model.generate(**ids, max_new_tokens=24, do_sample=False)
        times.append((time.perf_counter() - t0) * 1000)
    return {"measured": True, "model": model_dir, "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95)}


def frames(minutes: float, dialogue: bool, work: Path) -> dict:
    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    said = {"next": 30.0}

    def script(loop):
        loop.submit(Command("goto_step", value=4, source="bench"))
        if loop.dialogue is not None:
            worker = loop.dialogue.worker
            while not worker.status.ready:
                worker.poll()
                time.sleep(0.05)

        def talk(task):
            if loop.world is not None and loop.world.t_s >= said["next"]:
                loop.say("I see, could you tell me a bit more about the team?")
                said["next"] += 30.0
            return task.cont

        loop.base.taskMgr.add(talk, "bench-talk", sort=-31)

    out = work / ("on" if dialogue else "off")
    started = time.perf_counter()
    result = run_rendered(load_profile(ROOT / "exposure_profiles" / "job_interview.yaml"), backend_kind="offscreen",
                          seconds=minutes * 60.0, seed=4, out=out, pseudonym="B-02", size=(160, 90), fps=90.0,
                          on_loop=script, dialogue=dialogue)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    stats = [e for e in events if e["kind"] == "frame_stats"]
    cpu = [ms for e in stats for ms in e["cpu_ms"]]
    return {"dialogue": dialogue, "frames": len(cpu), "missed_90hz": sum(ms > 1000 / 90 for ms in cpu),
            "cpu_ms_p50": pct(cpu, 0.5), "cpu_ms_p95": pct(cpu, 0.95), "cpu_ms_p99": pct(cpu, 0.99),
            "utterances": sum(e["kind"] == "utterance" for e in events), "wall_s": round(time.perf_counter() - started, 1),
            "ended": result.ended}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--skip-frames", action="store_true")
    parser.add_argument("--generative", default=None, metavar="DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("XDG_CACHE_HOME", str(work / "cache"))  # a cold cache for the cold pass
        result: dict = {"bench": "dialogue", "latency": latency(work / "cache" / "vr"),
                        "generative": generative(args.generative), "target_p95_ms": 150}
        if not args.skip_frames:
            on, off = frames(args.minutes, True, work), frames(args.minutes, False, work)
            result["frames"] = {"minutes": args.minutes, "on": on, "off": off,
                                "missed_on_minus_off": on["missed_90hz"] - off["missed_90hz"]}
    result["machine"] = {"python": platform.python_version(), "cores": os.cpu_count(), "cpu": platform.machine()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
