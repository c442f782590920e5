"""The frame loop's side of dialogue: requests out, vetted lines in, speech played in 3D.

``DialogueClient.on_events`` reads each step's events: ``speech_turn`` (a human starts a line by
itself), ``reply_wanted`` (the patient said something) and ``line_wanted`` (the clinician picked
a line) become requests to the worker, and so does ``risk_screen_wanted`` (the meaning half of
the risk screen, answered by numbers the session core decides on);
``utterance`` (the session core accepted a line) starts its audio at the speaker's mouth;
``panic``, ``safe_scene``, ``dialogue_quiet`` and the end silence everyone at once.
``poll`` returns the worker's answers as ``SpokenLine`` inputs for the next step, and messages
for the clinician. Nothing here waits: the worker is polled, and a fallback line's audio is
made on a background thread.
"""

from __future__ import annotations

import concurrent.futures
from collections import deque
from pathlib import Path

import numpy as np

from vr.dialogue.tts import Speech, Synthesizer
from vr.dialogue.voices import Voice
from vr.dialogue.worker import DialogueWorker
from vr.sim import Event, SpokenLine
from vr.sim.risk import ScreenScore

RECENT = 8
SILENCING = ("panic", "safe_scene", "dialogue_quiet", "session_ended", "paused")


class DialogueClient:
    """One session's dialogue: one bank, a voice per human, an optional 3D speech player."""

    def __init__(self, worker: DialogueWorker, bank: str, voices: dict[str, Voice], *, player=None, view=None,
                 cache_dir: Path | None = None) -> None:
        self.worker = worker
        self.bank = bank
        self.voices = voices
        self.player = player
        self.view = view
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.speaking_request: dict[int, str] = {}   # request -> speaker, for the lines said lately
        self.speech: dict[int, Speech] = {}
        self.ready_lines: list[SpokenLine] = []
        self.latency_ms: list[float] = []
        self._fallback_synth = Synthesizer(cache_dir / "speech") if cache_dir is not None else None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="vr-fallback-voice")
        self._fallbacks: list[tuple[dict, concurrent.futures.Future]] = []

    def _voice(self, speaker: str) -> dict:
        v = self.voices.get(speaker) or Voice.from_seed(abs(hash(speaker)) % 10_000)
        return {"name": v.name, "pitch": v.pitch, "rate_wpm": v.rate_wpm}

    def on_events(self, events: list[Event]) -> None:
        for e in events:
            kind, d = e.kind, e.data
            if kind == "speech_turn":
                self.worker.request({"kind": "opener", "request": d["request"], "bank": self.bank, "speaker": d["human"],
                                     "band": d["band"], "intent": d.get("intent", "remark"), "role": None,
                                     "recent": list(self.recent), "voice": self._voice(d["human"])})
            elif kind == "reply_wanted":
                self.worker.request({"kind": "reply", "request": d["request"], "bank": self.bank, "speaker": d["human"],
                                     "band": d["band"], "text": d.get("text", ""), "role": None,
                                     "recent": list(self.recent), "voice": self._voice(d["human"])})
            elif kind == "line_wanted":  # the clinician's pick: only its voice is made
                self.worker.request({"kind": "line", "request": d["request"], "bank": self.bank, "speaker": d["human"],
                                     "band": d["band"], "line_id": d["line_id"], "role": None,
                                     "recent": list(self.recent), "voice": self._voice(d["human"])})
            elif kind == "risk_screen_wanted":  # the meaning check; the core decides on its numbers
                self.worker.request({"kind": "screen", "request": d["screen"], "text": d.get("text", "")})
            elif kind == "utterance":
                self.recent.append(d["line_id"])
                self.speaking_request[d["request"]] = d["speaker"]
                while len(self.speaking_request) > RECENT:
                    self.speaking_request.pop(next(iter(self.speaking_request)))
                speech = self.speech.pop(d["request"], None)
                if speech is not None and self.player is not None and self.view is not None:
                    index = int(d["speaker"].lstrip("h"))
                    self.player.play(d["speaker"], speech, self.view.voice_of(index))
            elif kind == "turn_yielded" and self.player is not None:  # the patient speaks: finish the phrase
                self.player.finish_within(d["human"], float(d["within_s"]))
            elif kind == "line_stopped" and self.player is not None:   # a withheld or corrected reply
                speaker = self.speaking_request.get(d["request"])
                if speaker is not None:
                    self.player.stop(speaker)
            elif kind in SILENCING and self.player is not None:
                self.player.stop_all()

    def poll(self) -> tuple[tuple[SpokenLine, ...], tuple[ScreenScore, ...], list[str]]:
        """The worker's answers since the last frame (lines and meaning checks), as inputs for the
        next step, and messages for the clinician."""
        answers, alerts = self.worker.poll()
        lines: list[SpokenLine] = []
        screens: list[ScreenScore] = []
        for a in answers:
            if a.get("kind") == "screen":
                screens.append(ScreenScore(int(a["request"]), a["risk_kind"], float(a["similarity"]),
                                           float(a["safe_similarity"]), a["exemplar"], a["segment"], a["model"]))
            elif a.get("wav"):
                envelope = np.asarray(a["envelope"] or [], dtype=np.float32)
                self.speech[a["request"]] = Speech(Path(a["wav"]), float(a["duration_s"]), envelope,
                                                   int(a["sample_rate"]), a["engine"])
                if a.get("latency_ms") is not None:
                    self.latency_ms.append(float(a["latency_ms"]))
                lines.append(_line(a))
            elif self._fallback_synth is not None:  # a fallback: its voice is made off the frame, then it is said
                self._fallbacks.append((a, self._pool.submit(self._fallback_synth.synthesize, a["text"],
                                                             Voice(**self._voice(a["speaker"])))))
            else:
                lines.append(_line(a))
        still = []
        for a, future in self._fallbacks:
            if not future.done():
                still.append((a, future))
                continue
            try:
                speech = future.result()
                self.speech[a["request"]] = speech
                a = {**a, "duration_s": speech.duration_s}
            except Exception:  # no voice for it: the line is still said (and shown), silently
                pass
            lines.append(_line(a))
        self._fallbacks = still
        return tuple(lines), tuple(screens), alerts

    def mouth(self, speaker: str) -> float | None:
        """The loudness of ``speaker``'s line now (0-1), or None when no audio plays for them."""
        if self.player is None or not self.player.speaking(speaker):
            return None
        return self.player.level(speaker)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.worker.close()


def _line(a: dict) -> SpokenLine:
    return SpokenLine(a["speaker"], a["line_id"], a["text"], a["band"], float(a["duration_s"]), int(a["request"]),
                      a.get("similarity"), a.get("method", "model"))
