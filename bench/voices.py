"""Voices: the neural voice against espeak-ng on the same vetted lines (JSON).

For ``--lines`` lines drawn (seeded) from every bank in dialogue/, each spoken by a male human's
seeded voice (the ones the neural engine covers), both engines make the line through
:class:`vr.dialogue.tts.Synthesizer` into an empty cache (what the dialogue worker does on a cache
miss): the time per line (p50, p95, ms), the real-time factor (time to make it over its
length), and, for the neural voice, the time to its first audio (the first sentence out of the
model; espeak-ng writes the whole line at once, so its first audio is the whole line). Also: the model's load time, the share of the neural
time spent reading phonemes from espeak-ng, the neural lines' length over espeak-ng's at the
same voice (which :data:`~vr.dialogue.neural_voice.MODEL_WPM` is set from) and how the length
follows the rate (120 wpm over 200 wpm, asked 1.67).

onnxruntime runs on one thread, as in the worker. Also: how many neural lines took longer than the
worker's answer timeout (:data:`vr.dialogue.worker.TIMEOUT_S`), and the model's first run after
loading (what :meth:`~vr.dialogue.tts.Synthesizer.warm` pays before the worker says it is ready).

    python bench/voices.py                  # 40 lines, writes bench/results/voices_cpu.json
    python bench/voices.py --lines 10 --out /tmp/v.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float, digits: int = 2) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits)


def summary(ms: list[float], audio_s: list[float]) -> dict:
    rtf = [m / 1000.0 / a for m, a in zip(ms, audio_s)]
    return {"per_line_ms": {"p50": pct(ms, 0.5), "p95": pct(ms, 0.95), "max": round(max(ms), 2)},
            "real_time_factor": {"p50": pct(rtf, 0.5, 4), "p95": pct(rtf, 0.95, 4)},
            "audio_s_total": round(sum(audio_s), 2)}


def drawn_lines(count: int, seed: int) -> list[str]:
    from vr.dialogue.bank import DIALOGUE_DIR, load_bank

    texts = sorted({line.text for path in sorted(DIALOGUE_DIR.glob("*.yaml"))
                    for line in load_bank(path.stem).config.lines})
    return random.Random(seed).sample(texts, min(count, len(texts)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "voices_cpu.json")
    args = parser.parse_args(argv)

    from vr.dialogue import neural_voice, phonemes
    from vr.dialogue.neural_voice import NeuralSpeaker
    from vr.dialogue.tts import Synthesizer
    from vr.dialogue.voices import Voice
    from vr.dialogue.worker import TIMEOUT_S

    reason = neural_voice.unavailable_reason()
    if reason is not None:
        print(json.dumps({"error": f"the neural voice cannot be used: {reason}"}))
        return 1
    lines = drawn_lines(args.lines, args.seed)
    voices = [Voice.from_seed(1000 + i, "male") for i in range(len(lines))]

    speaker = NeuralSpeaker(threads=1)
    load_s = speaker.load()
    t0 = time.perf_counter()
    speaker.speak("Hello.", voices[0])  # the first run sets up onnxruntime's buffers; not counted below
    first_run_s = time.perf_counter() - t0

    out: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                             "python": platform.python_version(),
                             "load_average_1min": round(os.getloadavg()[0], 2)},  # others' work on the cores
                 "lines": len(lines), "words": sum(len(t.split()) for t in lines),
                 "neural": {"voice": neural_voice.VOICE_ID, "version": speaker.version(), "threads": 1,
                            "model_load_s": round(load_s, 3), "first_run_s": round(first_run_s, 3)},
                 "espeak_ng": {}}
    with tempfile.TemporaryDirectory() as tmp:
        neural = Synthesizer(Path(tmp) / "neural", engine="neural")
        neural._neural = speaker
        espeak = Synthesizer(Path(tmp) / "espeak", engine="espeak-ng")
        results = {"neural": ([], []), "espeak_ng": ([], [])}
        first_ms: list[float] = []
        phoneme_ms: list[float] = []
        length_ratio: list[float] = []
        for text, voice in zip(lines, voices):
            t0 = time.perf_counter()
            n = neural.synthesize(text, voice)
            results["neural"][0].append((time.perf_counter() - t0) * 1000)
            results["neural"][1].append(n.duration_s)
            t0 = time.perf_counter()
            e = espeak.synthesize(text, voice)
            results["espeak_ng"][0].append((time.perf_counter() - t0) * 1000)
            results["espeak_ng"][1].append(e.duration_s)
            length_ratio.append(n.duration_s / e.duration_s)

            started = time.perf_counter()
            seen: list[float] = []
            speaker.speak(text, voice, on_sentence=lambda i, _a: seen.append(time.perf_counter()) if i == 0 else None)
            first_ms.append((seen[0] - started) * 1000 if seen else float("nan"))
            t0 = time.perf_counter()
            phonemes.sentence_phonemes(text, speaker.espeak, speaker.espeak_voice)
            phoneme_ms.append((time.perf_counter() - t0) * 1000)
        for name, (ms, audio_s) in results.items():
            out[name].update(summary(ms, audio_s))
        out["neural"]["first_audio_ms"] = {"p50": pct(first_ms, 0.5), "p95": pct(first_ms, 0.95)}
        out["neural"]["lines_over_worker_timeout"] = {"timeout_s": TIMEOUT_S,
                                                      "count": sum(m > TIMEOUT_S * 1000 for m in results["neural"][0])}
        out["espeak_ng"]["first_audio_ms"] = out["espeak_ng"]["per_line_ms"] | {"note": "the whole line"}
        out["neural"]["phonemes_ms"] = {"p50": pct(phoneme_ms, 0.5), "p95": pct(phoneme_ms, 0.95)}
        out["neural"]["length_over_espeak_ng"] = {"p50": round(pct(length_ratio, 0.5), 3),
                                                  "p05": round(sorted(length_ratio)[len(length_ratio) // 20], 3),
                                                  "p95": round(pct(length_ratio, 0.95), 3)}
        rate_ratio = []
        for text in lines[:10]:
            slow = neural.synthesize(text, Voice("en-us+m3", 50, 120)).duration_s
            fast = neural.synthesize(text, Voice("en-us+m3", 50, 200)).duration_s
            rate_ratio.append(slow / fast)
        out["neural"]["length_120_over_200_wpm"] = {"asked": round(200 / 120, 3), "p50": round(pct(rate_ratio, 0.5), 3),
                                                    "min": round(min(rate_ratio), 3), "max": round(max(rate_ratio), 3)}
    text = json.dumps(out, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
