"""Listening speed and accuracy: from the end of the patient's speech to the recognised text (JSON).

The patient's sentences (``vr.dialogue.clips.PATIENT_SENTENCES``) are spoken by espeak-ng at
several speeds, alternating two voices, into a clip folder; a :class:`~vr.dialogue.listen.Listener`
hears it through a :class:`~vr.dialogue.audio_in.FileMicrophone` advanced by the wall clock
(real time, as a microphone would be), polled at 90 frames a second. For each turn:

- ``wait_ms``: end-of-turn wait, from the last speech frame reaching the listener to the turn
  being closed (the detector's ``end_silence_s`` plus a frame);
- ``recognise_ms``: from the turn closed to its text in the frame loop's hands (queue, pipe and
  Whisper; ``model_ms`` is Whisper's share);
- ``latency_ms``: the two together.

Also: word error rate overall, per speed and per voice (case and punctuation ignored,
contractions spelt out), the model's load time, turns found against turns said, and the time
each ``poll()`` took.

    python bench/listen.py                              # 60 turns: 20 sentences x 130/175/220 wpm (~5 min)
    python bench/listen.py --speeds 175 --beam 2
    python bench/listen.py --engine neural              # the turns said by the neural voice (two men)
    python bench/listen.py --out bench/results/listen_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAME_S = 1.0 / 90.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(values: list[float]) -> dict:
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "max": round(max(values), 1) if values else None,
            "n": len(values)}


NEURAL_VOICES = ("en-us+m3", "en-gb+m1")   # seeded-voice names the neural voice speaks (pitch and delivery differ)


def neural_clip_folder(tmp: Path, said: list[tuple[str, str, int]], *, first_s: float, gap_s: float):
    """A clip folder of ``said`` spoken by the neural voice (as a human would speak it)."""
    import shutil

    from vr.dialogue.clips import Clip, write_clip_index
    from vr.dialogue.tts import Synthesizer
    from vr.dialogue.voices import Voice

    synth = Synthesizer(tmp / "cache", engine="neural")
    if synth.neural_off:
        raise SystemExit(f"the neural voice is not available: {synth.neural_off}")
    folder = tmp / "clips"
    folder.mkdir()
    clips, t = [], float(first_s)
    for i, (text, name, wpm) in enumerate(said):
        speech = synth.synthesize(text, Voice(name, pitch=45 + 10 * (i % 2), rate_wpm=wpm))
        path = folder / f"{i:03d}.wav"
        shutil.copyfile(speech.path, path)
        clips.append(Clip(path, round(t, 3), text))
        t = round(t, 3) + speech.duration_s + gap_s
    write_clip_index(folder, clips)
    return tuple(clips)


def run(args: argparse.Namespace) -> dict:
    from vr.dialogue.audio_in import FileMicrophone
    from vr.dialogue.clips import PATIENT_SENTENCES, VOICES, make_clip_folder, word_error_rate
    from vr.dialogue.listen import Listener

    speeds = [int(s) for s in args.speeds.split(",")]
    voices = NEURAL_VOICES if args.engine == "neural" else VOICES
    said = [(text, voices[i % len(voices)], speed) for speed in speeds for i, text in enumerate(PATIENT_SENTENCES)]
    with tempfile.TemporaryDirectory(prefix="vr-bench-listen-") as tmp:
        if args.engine == "neural":
            clips = neural_clip_folder(Path(tmp), said, first_s=1.0, gap_s=args.gap_s)
        else:
            clips = make_clip_folder(Path(tmp) / "clips", said, first_s=1.0, gap_s=args.gap_s)
        mic = FileMicrophone(Path(tmp) / "clips")
        started = time.monotonic()
        listener = Listener(mic, beam_size=args.beam, threads=args.threads)
        polls: list[float] = []
        while not listener.status.ready:
            t = time.perf_counter()
            _, alerts = listener.poll()
            polls.append((time.perf_counter() - t) * 1000)
            if listener.status.failed:
                raise SystemExit(listener.status.failed)
            time.sleep(0.01)
        ready_s = time.monotonic() - started
        load_s = listener.status.load_s
        heard, alerts = [], []
        t0 = time.monotonic()
        end_s = mic.end_s + 1.5
        deadline = t0 + end_s + 120.0
        frame = 0
        while time.monotonic() < deadline and (listener.status.heard + listener.status.discarded
                                               + listener.status.lost < len(clips) or frame * FRAME_S < end_s):
            frame += 1
            next_at = t0 + frame * FRAME_S
            listener.advance_to(min(time.monotonic() - t0, end_s))
            t = time.perf_counter()
            h, al = listener.poll()
            polls.append((time.perf_counter() - t) * 1000)
            heard += h
            alerts += al
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        status = listener.status
        listener.close()

    # Each heard turn is matched to the clip whose speech it overlaps.
    by_clip: dict[int, list] = {}
    for h in heard:
        k = min(range(len(clips)), key=lambda i: abs(clips[i].start_s - h.started_s))
        by_clip.setdefault(k, []).append(h)
    hyps = [" ".join(x.text for x in by_clip.get(i, [])) for i in range(len(clips))]
    refs = [c.text for c in clips]

    def wer_where(keep) -> float:
        idx = [i for i in range(len(clips)) if keep(i)]
        return round(100 * word_error_rate([refs[i] for i in idx], [hyps[i] for i in idx]), 2)

    per_speed = {f"{s}_wpm": wer_where(lambda i, s=s: said[i][2] == s) for s in speeds}
    per_voice = {v: wer_where(lambda i, v=v: said[i][1] == v) for v in voices}
    worst = sorted(((refs[i], hyps[i], said[i][1], said[i][2]) for i in range(len(clips))
                    if word_error_rate([refs[i]], [hyps[i]]) > 0), key=lambda r: -word_error_rate([r[0]], [r[1]]))
    return {
        "bench": "listen", "engine": args.engine,
        "model": status.model, "beam_size": args.beam, "threads": args.threads, "compute_type": "int8",
        "turns_said": len(clips), "turns_heard": len(heard), "turns_discarded": status.discarded,
        "turns_lost": status.lost, "restarts": status.restarts, "alerts": alerts,
        "model_load_s": load_s, "listener_ready_s": round(ready_s, 2),
        "latency_ms": summary([h.latency_ms for h in heard]),
        "wait_ms": summary([h.wait_ms for h in heard]),
        "recognise_ms": summary([h.recognise_ms for h in heard]),
        "model_ms": summary([h.model_ms for h in heard]),
        "speech_s": summary([h.ended_s - h.started_s for h in heard]),
        "wer_percent": wer_where(lambda i: True), "wer_percent_per_speed": per_speed,
        "wer_percent_per_voice": per_voice,
        "confidence_p50": pct([h.confidence for h in heard], 0.5),
        "poll_ms": summary(polls),
        "misheard_examples": [{"said": r, "heard": h, "voice": v, "wpm": s} for r, h, v, s in worst[:12]],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="130,175,220", help="espeak-ng words per minute, comma-separated")
    parser.add_argument("--engine", choices=("espeak-ng", "neural"), default="espeak-ng",
                        help="who says the turns: espeak-ng (an American man, a British woman) or the neural voice")
    parser.add_argument("--beam", type=int, default=5, help="Whisper's beam size (the listener's default is 5)")
    parser.add_argument("--threads", type=int, default=1, help="the recogniser's CPU threads")
    parser.add_argument("--gap-s", type=float, default=1.5, help="silence between clips, seconds")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
