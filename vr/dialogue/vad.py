"""Voice activity and the end of the patient's turn, from 16 kHz samples, in numpy.

Each 20 ms frame gets two numbers: its loudness in the speech band (150-4000 Hz, dB relative to
full scale) and its spectral flatness there (near 0 for a voiced, harmonic sound; about 0.56
for white noise). A running noise floor follows the quietest recent frames (it falls at once,
rises at :attr:`VadConfig.floor_rise_db_per_s` outside speech).

- **Start** (hysteresis, upper threshold): ``start_frames`` frames in a row at least
  ``start_margin_db`` above the floor, louder than ``min_level_dbfs``, and voiced (flatness under
  ``max_flatness``). A fan, hiss or a steady hum lifts the floor instead of starting a turn.
- **Speech goes on** (lower threshold) while frames are ``stay_margin_db`` above the floor,
  voiced or not (so "s" and "f" belong to the word).
- **End of turn**: ``end_silence_s`` below the lower threshold after speech, or ``max_turn_s``
  of turn (then the next turn starts at once, so no word is lost).
- A turn with under ``min_speech_s`` of speech (a cough, a click, a chair) is dropped.
- **Draft**: once ``post_roll_s`` of silence follows speech, :meth:`TurnDetector.draft` gives the
  turn as it will be if the silence lasts: the very samples its close will hold. A listener can
  recognise the draft while the end-of-turn rule waits, and use the text when the turn closes
  unchanged (the same ``started_s`` and ``ended_s``); if speech resumes, the draft is stale.

Times are source seconds: frame ``k`` spans ``[k, k+1) * frame_s``. The detector looks at each
frame once, in order, so the turns depend only on the samples, never on how they were cut into
reads; the same audio always gives the same turns. Pure numpy, no threads, no clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from vr.dialogue.audio_in import SAMPLE_RATE_HZ


@dataclass(frozen=True)
class VadConfig:
    """The detector's settings; defaults suit a headset or desk microphone in a quiet room."""

    frame_s: float = 0.02
    band_hz: tuple[float, float] = (150.0, 4000.0)
    start_margin_db: float = 12.0       # above the noise floor to start a turn
    stay_margin_db: float = 6.0         # above the floor to count as speech within a turn
    min_level_dbfs: float = -55.0       # quieter than this is never speech
    max_flatness: float = 0.45          # a start needs a voiced (harmonic) frame
    start_frames: int = 3               # 60 ms of voice in a row starts a turn
    min_speech_s: float = 0.3           # turns with less speech are dropped
    end_silence_s: float = 0.7          # silence after speech that ends the turn (600-800 ms is usual)
    max_turn_s: float = 15.0            # a longer turn is cut here (Whisper hears at most 30 s)
    pre_roll_s: float = 0.2             # audio kept before the first speech frame
    post_roll_s: float = 0.25           # and after the last
    speaking_hold_s: float = 0.25       # speaking() stays true over pauses this short
    floor_init_dbfs: float = -65.0
    floor_rise_db_per_s: float = 4.0

    def frames(self, seconds: float) -> int:
        return max(1, int(round(seconds / self.frame_s)))


@dataclass(frozen=True)
class Turn:
    """One stretch of the patient's speech, cut by the detector.

    ``samples``: 16 kHz float32 from ``pre_roll_s`` before ``started_s`` to ``post_roll_s``
    after ``ended_s``; ``started_s``/``ended_s``: first and last speech frame (source seconds);
    ``closed_s``: when the turn was known to be over; ``cut``: ``silence`` or ``max_length``
    (or ``closed`` when the listener stopped mid-turn); ``*_stamp``: the caller's stamps of the
    reads in which the last speech frame and the end were seen (the listener passes wall-clock
    seconds, for latency).
    """

    index: int
    samples: np.ndarray
    started_s: float
    ended_s: float
    closed_s: float
    cut: str
    speech_s: float
    ended_stamp: float | None = None
    closed_stamp: float | None = None


class TurnDetector:
    """Feeds on samples, gives the turns they close, and says whether the patient speaks now."""

    def __init__(self, config: VadConfig | None = None, rate_hz: int = SAMPLE_RATE_HZ) -> None:
        self.config = c = config or VadConfig()
        self.rate_hz = rate_hz
        self.frame = int(round(c.frame_s * rate_hz))
        window = np.hanning(self.frame)
        self._window = window
        freqs = np.fft.rfftfreq(self.frame, 1.0 / rate_hz)
        self._band = (freqs >= c.band_hz[0]) & (freqs <= c.band_hz[1])
        # A full-scale sine in the band reads about 0 dB.
        self._scale = (window.sum() ** 2) / 2.0
        self._carry = np.zeros(0, np.float32)
        self.k = 0                          # frames seen
        self.floor_db = c.floor_init_dbfs
        self._pre: deque[np.ndarray] = deque(maxlen=c.frames(c.pre_roll_s) + c.start_frames)
        self._run = 0
        self._in_turn = False
        self._frames: list[np.ndarray] = []
        self._first = 0                      # first speech frame of the turn
        self._audio_first = 0                # first frame held in _frames
        self._last_voiced = -1
        self._voiced = 0
        self._last_stamp: float | None = None
        self._ended_stamp: float | None = None
        self.turns = 0
        self.dropped = 0                     # turns under min_speech_s

    @property
    def now_s(self) -> float:
        """Source time up to which samples have been looked at."""
        return self.k * self.config.frame_s

    def speaking(self) -> bool:
        """True while the patient is speaking: in a turn with enough speech, and not in its silent tail."""
        c = self.config
        return (self._in_turn and self._voiced * c.frame_s >= c.min_speech_s
                and (self.k - 1 - self._last_voiced) * c.frame_s <= c.speaking_hold_s)

    def features(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Speech-band level (dBFS) and spectral flatness (0-1) of each row of ``frames``."""
        power = np.abs(np.fft.rfft(frames * self._window, axis=1)) ** 2
        band = power[:, self._band] + 1e-20
        level_db = 10.0 * np.log10(band.sum(axis=1) / self._scale + 1e-12)
        flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
        return level_db, flatness

    def feed(self, x: np.ndarray, stamp: float | None = None) -> list[Turn]:
        """Look at the next samples (16 kHz float32); the turns that ended in them."""
        x = np.concatenate([self._carry, np.asarray(x, np.float32).reshape(-1)])
        n = len(x) // self.frame
        self._carry = x[n * self.frame:]
        if n == 0:
            return []
        frames = x[: n * self.frame].reshape(n, self.frame)
        levels, flatness = self.features(frames.astype(np.float64))
        out: list[Turn] = []
        self._last_stamp = stamp
        for i in range(n):
            turn = self._step(frames[i], float(levels[i]), float(flatness[i]), stamp)
            if turn is not None:
                out.append(turn)
        return out

    def _step(self, frame: np.ndarray, level_db: float, flatness: float, stamp: float | None) -> Turn | None:
        c = self.config
        k = self.k
        self.k += 1
        loud = level_db >= c.min_level_dbfs
        if not self._in_turn:
            starts = loud and level_db >= self.floor_db + c.start_margin_db and flatness <= c.max_flatness
            self._run = self._run + 1 if starts else 0
            self._pre.append(frame)
            if self._run < c.start_frames:
                self._track_floor(level_db)
                return None
            self._begin(k - self._run + 1, list(self._pre), stamp)
            return None
        self._frames.append(frame)
        if loud and level_db >= self.floor_db + c.stay_margin_db:
            self._last_voiced = k
            self._voiced += 1
            self._ended_stamp = stamp
        if (k - self._last_voiced) * c.frame_s >= c.end_silence_s - 1e-9:
            return self._close(k, "silence", stamp)
        if (k + 1 - self._first) * c.frame_s >= c.max_turn_s - 1e-9:
            turn = self._close(k, "max_length", stamp)
            if self._last_voiced == k:  # speech goes on: so does a new turn, from the next frame
                self._begin(k + 1, [], stamp)
            return turn
        return None

    def _begin(self, first: int, held: list[np.ndarray], stamp: float | None) -> None:
        c = self.config
        self._in_turn = True
        self._first = first
        self._frames = held
        self._audio_first = self.k - len(held)
        self._last_voiced = self.k - 1
        self._voiced = self.k - first
        self._ended_stamp = stamp
        self._run = 0
        self._pre = deque(maxlen=c.frames(c.pre_roll_s) + c.start_frames)

    def _close(self, k: int, cut: str, stamp: float | None) -> Turn | None:
        c = self.config
        self._in_turn = False
        speech_s = self._voiced * c.frame_s
        last = self._last_voiced if self._last_voiced >= self._first else k
        keep_to = min(last + 1 + c.frames(c.post_roll_s), k + 1)  # frames, exclusive
        keep_from = max(self._first - c.frames(c.pre_roll_s), self._audio_first)
        held = self._frames[keep_from - self._audio_first: keep_to - self._audio_first]
        self._frames = []
        self._pre = deque(maxlen=c.frames(c.pre_roll_s) + c.start_frames)
        self._voiced = 0
        if speech_s < c.min_speech_s - 1e-9:
            self.dropped += 1
            return None
        samples = np.concatenate(held) if held else np.zeros(0, np.float32)
        turn = Turn(self.turns, samples, self._first * c.frame_s, (last + 1) * c.frame_s, (k + 1) * c.frame_s,
                    cut, speech_s, self._ended_stamp, stamp)
        self.turns += 1
        return turn

    def draft(self) -> Turn | None:
        """The open turn as it closes if the silence now under way lasts (see the module's
        docstring), or None: not in a turn, too little speech, or speech in the last ``post_roll_s``."""
        c = self.config
        if not self._in_turn or self._voiced * c.frame_s < c.min_speech_s - 1e-9:
            return None
        last = self._last_voiced
        if last < self._first or self.k - 1 - last < c.frames(c.post_roll_s):
            return None
        keep_to = last + 1 + c.frames(c.post_roll_s)
        keep_from = max(self._first - c.frames(c.pre_roll_s), self._audio_first)
        held = self._frames[keep_from - self._audio_first: keep_to - self._audio_first]
        samples = np.concatenate(held) if held else np.zeros(0, np.float32)
        return Turn(self.turns, samples, self._first * c.frame_s, (last + 1) * c.frame_s, self.k * c.frame_s,
                    "draft", self._voiced * c.frame_s, self._ended_stamp, self._last_stamp)

    def finish(self, stamp: float | None = None) -> Turn | None:
        """End a turn in progress (the listener is closing or the source ended); None if none."""
        if not self._in_turn:
            return None
        return self._close(self.k - 1, "closed", stamp)

    def _track_floor(self, level_db: float) -> None:
        c = self.config
        rise = c.floor_rise_db_per_s * c.frame_s
        level = max(level_db, -100.0)
        self.floor_db = level if level < self.floor_db else min(level, self.floor_db + rise)
        self.floor_db = float(np.clip(self.floor_db, -100.0, -10.0))


def turns_in(samples: np.ndarray, config: VadConfig | None = None) -> list[Turn]:
    """Every turn in a whole recording (16 kHz float32), the last one ended by the recording's end."""
    detector = TurnDetector(config)
    turns = detector.feed(samples)
    pad = np.zeros(int(math.ceil(detector.config.end_silence_s * SAMPLE_RATE_HZ)) + detector.frame, np.float32)
    turns += detector.feed(pad)
    return turns
