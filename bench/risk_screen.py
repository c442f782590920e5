"""The patient-risk screen on the labelled set: recall, false alarms and cost (prints JSON).

Runs the screen as a session would, on every utterance of ``tests/data/risk_utterances.yaml``:
the phrase check (in the session step) and, when it finds nothing, the meaning check (in the
dialogue worker: the sentence model on one thread, as the worker runs it). Prints recall by
kind, style and split, the false-alarm rate (all ordinary utterances, and the anxious ones),
how each risk was caught, and the time each check takes per utterance (median and 95th
percentile): microseconds for the phrases, milliseconds for the meaning.

    python bench/risk_screen.py [--out bench/results/risk_screen.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import statistics
import time
from pathlib import Path

import yaml

from vr.dialogue.embed import MiniLM
from vr.dialogue.screen import RiskScreen
from vr.sim.risk import detect, semantic_alert

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=ROOT / "tests" / "data" / "risk_utterances.yaml")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    data = yaml.safe_load(args.set.read_text(encoding="utf-8"))
    started = time.perf_counter()
    screen = RiskScreen(MiniLM(threads=1))
    load_s = time.perf_counter() - started
    phrase_us: list[float] = []
    meaning_ms: list[float] = []

    def judge(text: str) -> tuple[str | None, str]:
        t0 = time.perf_counter()
        phrase = detect(text)
        phrase_us.append((time.perf_counter() - t0) * 1e6)
        if phrase is not None:
            return phrase.category, "phrase"
        t0 = time.perf_counter()
        score = screen.score(text)
        meaning_ms.append((time.perf_counter() - t0) * 1e3)
        return (score.kind, "meaning") if semantic_alert(score.similarity, score.safe_similarity) else (None, "")

    hits: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    caught_by: collections.Counter[str] = collections.Counter()
    wrong_kind = 0
    missed = []
    for item in data["risk"]:
        kind, how = judge(item["text"])
        for key in ("all", item["kind"], item["style"], item["split"]):
            hits[key][0] += 1
            hits[key][1] += kind is not None
        caught_by[how or "missed"] += 1
        wrong_kind += kind is not None and kind != item["kind"]
        if kind is None:
            missed.append(item["text"])
    alarms = {"all": [0, 0], "anxious": [0, 0], "holdout": [0, 0]}
    false_alarms = []
    for item in data["safe"]:
        kind, how = judge(item["text"])
        for key in ("all", *(("anxious",) if item.get("anxious") else ()), *(("holdout",) if item["split"] == "holdout"
                                                                              else ())):
            alarms[key][0] += 1
            alarms[key][1] += kind is not None
        if kind is not None:
            false_alarms.append({"text": item["text"], "as": kind, "by": how})
    out = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "python": platform.python_version(),
        "model": screen.model, "exemplars": len(screen.exemplars.texts), "model_load_s": round(load_s, 2),
        "risk_utterances": len(data["risk"]), "safe_utterances": len(data["safe"]),
        "recall": {k: round(hit / n, 4) for k, (n, hit) in sorted(hits.items())},
        "caught_by": dict(caught_by), "caught_as_another_kind": wrong_kind, "missed": missed,
        "false_alarm_rate": {k: round(fa / n, 4) for k, (n, fa) in alarms.items() if n},
        "false_alarms": false_alarms,
        "phrase_check_us": {"p50": round(statistics.median(phrase_us), 1), "p95": round(percentile(phrase_us, 0.95), 1)},
        "meaning_check_ms": {"p50": round(statistics.median(meaning_ms), 1),
                             "p95": round(percentile(meaning_ms, 0.95), 1), "n": len(meaning_ms)},
        "targets": {"recall": 1.0, "false_alarm_rate": 0.01},
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
