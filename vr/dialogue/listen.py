"""Hearing the patient: audio in, turns cut by voice activity, text out, and the frame loop never waits.

One object for the frame loop, :class:`Listener`::

    listener = Listener(open_source(args.mic), keep_audio=None)     # vr.dialogue.audio_in.open_source
    ...                                                              # every frame:
    listener.advance_to(t_s)            # clip sources follow the session clock; a microphone its own
    heard, alerts = listener.poll()     # never blocks: texts of finished turns, messages for the clinician
    if listener.speaking(): ...         # the patient is talking now (a human may pause its line)
    ...
    listener.close()

- Audio comes from a :class:`~vr.dialogue.audio_in.MicrophoneSource` (PortAudio) or a
  :class:`~vr.dialogue.audio_in.FileMicrophone` (a WAV file or a clip folder on the session clock).
- :class:`~vr.dialogue.vad.TurnDetector` runs here, in the caller's thread (tens of
  microseconds a frame): it says when the patient speaks and cuts each turn at its end.
- :class:`~vr.dialogue.asr.Recogniser` turns each turn's audio into text in a child process
  (faster-whisper, Whisper tiny.en, CPU int8, one thread), restarted when it dies or hangs.

Times in :class:`Heard` are session seconds: for clip sources the clock the caller advances;
for a microphone, its sample count from the moment of the first ``advance_to`` call, which
anchors it to the session clock (without any call, seconds since the microphone opened).

Audio is never written to disk unless ``keep_audio`` names a folder: then each turn's WAV goes
there (``turn-0001.wav``; folder 0700, files 0600), written on a background thread.

This module and those it imports at load time use numpy and the standard library only;
``sounddevice`` loads when a microphone opens and ``faster_whisper`` only in the child process.
"""

from __future__ import annotations

import io
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vr.dialogue.asr import TIMEOUT_S, Recogniser
from vr.dialogue.audio_in import SAMPLE_RATE_HZ, AudioSource, write_wav
from vr.dialogue.vad import Turn, TurnDetector, VadConfig

# Whisper's own test for "this was not speech": both a likely silence and an unsure text.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
DRAFT_KEYS = 1 << 30   # drafts' request numbers start above this (turns count from 0)


@dataclass(frozen=True)
class Heard:
    """One recognised turn of the patient's speech.

    ``started_s``/``ended_s``: first and last speech frame, session seconds. ``latency_ms``: wall
    time from the end of speech reaching the listener to the text (``wait_ms`` for the end of
    turn to be sure, plus ``recognise_ms`` from then: queue, model and pipe; ``model_ms`` is the
    model's share). ``avg_logprob``: Whisper's mean token log-probability; ``confidence`` its
    exponent (0-1, about 0.8 for a clear sentence); ``no_speech_prob``: Whisper's estimate that
    it was not speech. ``cut``: ``silence``, ``max_length`` or ``closed``.
    """

    text: str
    started_s: float
    ended_s: float
    latency_ms: float
    avg_logprob: float
    confidence: float
    no_speech_prob: float
    turn: int
    wait_ms: float
    recognise_ms: float
    model_ms: float
    cut: str
    early: bool = False   # the text came from the turn's draft, recognised while the end-of-turn rule waited


@dataclass(frozen=True)
class ListenerStatus:
    """For the console and the record: is the recogniser ready, which model, how it has gone."""

    ready: bool
    model: str
    restarts: int
    source: str
    turns: int            # turns cut by the detector and sent for recognition
    heard: int            # turns that came back as text
    discarded: int        # turns the recogniser judged not speech
    lost: int             # turns given up (the recogniser failed on them twice, or is off)
    dropped_audio_s: float
    load_s: float | None
    failed: str           # why recognition is off ("" while it works)
    pid: int | None
    drafts: int = 0       # drafts sent for early recognition
    drafts_used: int = 0  # drafts whose text became a turn's


class _AudioKeeper:
    """Writes kept turns' WAV files on a thread of its own (disk never in the caller's way)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)   # made with the first turn: a session's record folder exists by then
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.errors: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="vr-listen-keep", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from vr.record.privacy import DIR_MODE, write_private_atomic

        while True:
            item = self.queue.get()
            if item is None:
                return
            index, samples = item
            buf = io.BytesIO()
            write_wav(buf, samples, SAMPLE_RATE_HZ)
            try:
                if not self.folder.is_dir():
                    self.folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
                    os.chmod(self.folder, DIR_MODE)  # mkdir's mode is filtered by the umask
                write_private_atomic(self.folder / f"turn-{index + 1:04d}.wav", buf.getvalue())
            except OSError as e:
                self.errors.put(f"listening: a turn's audio could not be kept in {self.folder} ({e})")

    def close(self, timeout_s: float = 10.0) -> None:
        self.queue.put(None)
        self.thread.join(timeout=timeout_s)


class Listener:
    """The patient's speech as text for the frame loop; see the module's docstring."""

    def __init__(self, source: AudioSource, *, keep_audio: Path | None = None, model: str = "tiny.en",
                 timeout_s: float = TIMEOUT_S, vad: VadConfig | None = None, threads: int = 1,
                 beam_size: int = 5, start_timeout_s: float | None = None, test_hooks: bool = False,
                 drafts: bool = True) -> None:
        """``drafts``: recognise each turn early, from the start of its silence (see
        :meth:`vr.dialogue.vad.TurnDetector.draft`), so its text is ready about when the turn ends."""
        self.source = source
        self.drafts = drafts
        self.detector = TurnDetector(vad)
        kwargs = {} if start_timeout_s is None else {"start_timeout_s": start_timeout_s}
        self.recogniser = Recogniser(model=model, threads=threads, beam_size=beam_size, timeout_s=timeout_s,
                                     test_hooks=test_hooks, **kwargs)
        self.keeper = _AudioKeeper(Path(keep_audio)) if keep_audio is not None else None
        self._turns: dict[int, Turn] = {}
        self._offset_s: float | None = None if source.live else 0.0
        self._pending: list[np.ndarray] = []   # samples read for anchoring, not yet looked at
        self._read_samples = 0
        self._heard = self._discarded = self._lost = self._sent = 0
        self._dropped_said = 0
        self._closed = False
        self._draft: tuple[int, Turn] | None = None   # the draft sent last (its key), not yet settled
        self._draft_key = DRAFT_KEYS
        self._early: dict[int, dict] = {}             # the latest draft's answer, before its turn closed
        self._waiting: dict[int, int] = {}            # draft key -> the closed turn that takes its text
        self._ready: list[dict] = []                  # answers of closed turns, to hand out at the next poll
        self._drafts = self._drafts_used = 0

    def advance_to(self, t_s: float) -> None:
        """Let a clip source reach session time ``t_s``; for a microphone the first call anchors its clock."""
        if self.source.live:
            if self._offset_s is None:
                x = self.source.read()
                self._pending.append(x)
                self._read_samples += len(x)
                self._offset_s = float(t_s) - self._read_samples / SAMPLE_RATE_HZ
            return
        self.source.advance_to(t_s)

    def poll(self) -> tuple[list[Heard], list[str]]:
        """Texts of turns that came back, and messages for the clinician. Never blocks."""
        alerts: list[str] = []
        if self._closed:
            return [], alerts
        x = self.source.read()
        self._read_samples += len(x)
        if self._pending:
            x = np.concatenate([*self._pending, x])
            self._pending = []
        for turn in self.detector.feed(x, stamp=time.monotonic()):
            self._send(turn)
        self._send_draft()
        return self._collect(alerts)

    def finish(self) -> None:
        """End a turn the patient is in the middle of (the session is ending), so it is recognised too."""
        turn = self.detector.finish(stamp=time.monotonic())
        if turn is not None:
            self._send(turn)

    def speaking(self) -> bool:
        """True while the patient is speaking (not during a pause of more than a quarter second)."""
        return self.detector.speaking()

    @property
    def status(self) -> ListenerStatus:
        r = self.recogniser.status
        dropped = getattr(self.source, "dropped", 0)
        describe = getattr(self.source, "describe", None)
        return ListenerStatus(r.ready, r.model, r.restarts, describe() if describe else type(self.source).__name__,
                              self._sent, self._heard, self._discarded, self._lost, dropped / SAMPLE_RATE_HZ,
                              r.load_s, r.failed, r.pid, self._drafts, self._drafts_used)

    def close(self) -> None:
        """Stop the recogniser and the source; kept audio is written out first."""
        if self._closed:
            return
        self._closed = True
        self.recogniser.close()
        self.source.close()
        if self.keeper is not None:
            self.keeper.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, turn: Turn) -> None:
        self._turns[turn.index] = turn
        self._sent += 1
        if self.keeper is not None:
            self.keeper.queue.put((turn.index, turn.samples))
        if self.recogniser.status.failed:
            self._turns.pop(turn.index)
            self._lost += 1
            return
        draft = self._draft
        if draft is not None and draft[1].index == turn.index:
            self._draft = None
            key = draft[0]
            if _same(draft[1], turn):           # the silence lasted: the draft's text is this turn's
                self._drafts_used += 1
                if key in self._early:
                    self._ready.append({**self._early.pop(key), "turn": turn.index, "early": True})
                else:
                    self._waiting[key] = turn.index
                return
            self._early.pop(key, None)          # speech resumed after the draft: it is stale
        self.recogniser.submit(turn.index, turn.samples)

    def _send_draft(self) -> None:
        """Recognise the open turn early once its silence begins, when the recogniser is idle."""
        if not self.drafts or self.recogniser.outstanding or self.recogniser.status.failed:
            return
        draft = self.detector.draft()
        if draft is None or (self._draft is not None and _same(self._draft[1], draft)):
            return
        if self._draft is not None:
            self._early.pop(self._draft[0], None)
        self._draft_key += 1
        self._draft = (self._draft_key, draft)
        self._drafts += 1
        self.recogniser.submit(self._draft_key, draft.samples)

    def _settle_drafts(self, answers: list[dict], lost: list[int]) -> tuple[list[dict], list[int]]:
        """Drafts' answers become their turns' (or wait for the turn to close, or are stale)."""
        out = list(self._ready)
        self._ready = []
        for msg in answers:
            key = msg["turn"]
            if key < DRAFT_KEYS:
                out.append(msg)
            elif key in self._waiting:
                out.append({**msg, "turn": self._waiting.pop(key), "early": True})
            elif self._draft is not None and self._draft[0] == key:
                self._early[key] = msg           # the turn has not closed yet
        turns_lost = []
        for key in lost:
            if key < DRAFT_KEYS:
                turns_lost.append(key)
            elif key in self._waiting:           # the draft failed: its turn goes by itself
                index = self._waiting.pop(key)
                if self.recogniser.status.failed:
                    turns_lost.append(index)
                else:
                    self.recogniser.submit(index, self._turns[index].samples)
            elif self._draft is not None and self._draft[0] == key:
                self._draft = None
        if self.recogniser.status.failed:       # recognition is off: turns waiting on drafts are lost
            turns_lost += list(self._waiting.values())
            self._waiting.clear()
        return out, turns_lost

    def _collect(self, alerts: list[str]) -> tuple[list[Heard], list[str]]:
        answers, said, lost = self.recogniser.poll()
        answers, lost = self._settle_drafts(answers, lost)
        alerts += said
        self._lost += len(lost)
        for index in lost:
            self._turns.pop(index, None)
        heard = []
        now = time.monotonic()
        offset = self._offset_s or 0.0
        for msg in answers:
            turn = self._turns.pop(msg["turn"], None)
            if turn is None:
                continue
            text = msg["text"].strip()
            logprob = float(msg["avg_logprob"])
            if not text or (msg["no_speech_prob"] > NO_SPEECH_PROB and logprob < LOW_LOGPROB):
                self._discarded += 1
                continue
            self._heard += 1
            ended_at = turn.ended_stamp if turn.ended_stamp is not None else now
            closed_at = turn.closed_stamp if turn.closed_stamp is not None else now
            heard.append(Heard(text, round(turn.started_s + offset, 3), round(turn.ended_s + offset, 3),
                               round((now - ended_at) * 1000, 1), round(logprob, 4),
                               round(math.exp(logprob), 4) if math.isfinite(logprob) else 0.0,
                               round(float(msg["no_speech_prob"]), 4), turn.index,
                               round((closed_at - ended_at) * 1000, 1), round((now - closed_at) * 1000, 1),
                               float(msg["recognise_ms"]), turn.cut, bool(msg.get("early"))))
        dropped = getattr(self.source, "dropped", 0)
        if dropped > self._dropped_said:
            alerts.append(f"listening: {(dropped - self._dropped_said) / SAMPLE_RATE_HZ:.1f} s of microphone audio "
                          "were lost (the program fell behind); ask the patient to repeat if words are missing")
            self._dropped_said = dropped
        if self.keeper is not None:
            while not self.keeper.errors.empty():
                alerts.append(self.keeper.errors.get())
        return heard, alerts


def _same(a: Turn, b: Turn) -> bool:
    """Whether a draft and a turn hold the same speech (so the same samples)."""
    return a.index == b.index and a.started_s == b.started_s and a.ended_s == b.ended_s


def main(argv: list[str] | None = None) -> int:
    """Try a microphone or a clip folder: print each recognised turn as a JSON line until Ctrl-C.

    ``python -m vr.dialogue.listen --mic list`` lists the input devices.
    """
    import argparse
    import json
    from dataclasses import asdict

    from vr.dialogue.audio_in import MicrophoneError, describe_input_devices, open_source

    parser = argparse.ArgumentParser(prog="python -m vr.dialogue.listen", description=main.__doc__.splitlines()[0])
    parser.add_argument("--mic", default="default", help="'list', a device index or name, a WAV file or a clip folder")
    parser.add_argument("--keep-audio", type=Path, help="keep each turn's WAV in this folder (0700, files 0600)")
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args(argv)
    if args.mic == "list":
        print(f"Input devices:\n{describe_input_devices()}")
        return 0
    try:
        source = open_source(args.mic)
    except (MicrophoneError, FileNotFoundError, ValueError) as e:
        print(f"listen: {e}")
        return 1
    end_s = getattr(source, "end_s", None)
    started = time.monotonic()
    with Listener(source, keep_audio=args.keep_audio, model=args.model) as listener:
        try:
            while end_s is None or time.monotonic() - started < end_s + 30:
                listener.advance_to(time.monotonic() - started)
                heard, alerts = listener.poll()
                for line in alerts:
                    print(json.dumps({"alert": line}), flush=True)
                for h in heard:
                    print(json.dumps(asdict(h)), flush=True)
                s = listener.status
                if end_s is not None and time.monotonic() - started > end_s + 1.0 \
                        and s.turns == s.heard + s.discarded + s.lost:
                    break
                time.sleep(0.02)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
