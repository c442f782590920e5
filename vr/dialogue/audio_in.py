"""Where the patient's voice comes from: a microphone, or recorded clips played on the session's clock.

Every source gives 16 kHz mono float32 samples (full scale 1.0) and counts them from its own
start, so sample ``i`` is at ``i / 16000`` seconds of source time:

- :class:`MicrophoneSource` records through PortAudio (the ``sounddevice`` binding; Debian's
  ``libportaudio2``). PortAudio's callback thread drops each block into a bounded ring buffer;
  :meth:`~MicrophoneSource.read` copies out what has arrived and never waits. If the caller falls
  more than :data:`RING_S` behind, the oldest audio is dropped and counted.
- :class:`FileMicrophone` plays a WAV file, or a folder of clips placed at session times
  (``vr.dialogue.clips``), as if a patient said them into a microphone. It is advanced by the
  caller's clock (:meth:`~FileMicrophone.advance_to`), not the wall clock, so a headless run that is
  slower (or faster) than real time hears every clip at its session time, and the same clips and
  the same times always give the same samples.

Nothing here imports ``sounddevice`` until a microphone is listed or opened.
"""

from __future__ import annotations

import math
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from vr.dialogue.speech_files import pcm_samples

SAMPLE_RATE_HZ = 16000
RING_S = 30.0          # audio a microphone keeps for a caller that falls behind
BLOCK = 320            # 20 ms: PortAudio's block, and the VAD's frame


class AudioSource(Protocol):
    """What the listener reads: new samples since the last read, and how far the source has got."""

    live: bool            # True for a real microphone (its own clock), False when advanced by the caller

    def read(self) -> np.ndarray:
        """The samples that arrived since the last call (float32, 16 kHz, mono); never blocks."""
        ...

    def advance_to(self, t_s: float) -> None:
        """Let the source reach ``t_s`` seconds of source time (a no-op for a live microphone)."""
        ...

    def close(self) -> None:
        ...


class MicrophoneError(RuntimeError):
    """A microphone that cannot be opened or listed; the message is for a person."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float32, mono, full scale 1.0) and rate in Hz of a PCM WAV file (8, 16, 24 or 32 bit).

    Raises ``ValueError`` naming the file and what to do when it is not a PCM WAV file.
    """
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate_hz = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{path}: not a PCM WAV file ({e}); convert it, e.g. "
                         f"'ffmpeg -i IN -ac 1 -ar 16000 -c:a pcm_s16le OUT.wav'") from None
    x = pcm_samples(data, width, path)
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return x.astype(np.float32), rate_hz


def write_wav(f, samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write ``samples`` (float, full scale 1.0) as 16-bit mono PCM to ``f`` (a path or a binary file)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(f) if isinstance(f, Path) else f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(pcm.tobytes())


class Resampler:
    """Streaming sample-rate conversion to 16 kHz: a windowed-sinc low-pass, then linear interpolation.

    Feed blocks of any length in order; the output is the same however the input is cut
    (the filter's and the interpolator's state carry over). Good enough for speech recognition
    (the low-pass sits at 0.45 of the lower rate; Whisper listens below 8 kHz).
    """

    def __init__(self, rate_in_hz: int, rate_out_hz: int = SAMPLE_RATE_HZ, taps: int = 63) -> None:
        self.rate_in_hz, self.rate_out_hz = int(rate_in_hz), int(rate_out_hz)
        self.same = self.rate_in_hz == self.rate_out_hz
        cutoff = 0.45 * min(self.rate_in_hz, self.rate_out_hz) / self.rate_in_hz  # cycles per input sample
        n = np.arange(taps) - (taps - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
        self._h = (h / h.sum()).astype(np.float64)
        self._history = np.zeros(taps - 1)          # input not yet fully filtered
        self._filtered = np.zeros(0)                # filtered input not yet interpolated
        self._base = 0                              # input index of _filtered[0]
        self._next_out = 0                          # the next output sample's index
        self._delay = (taps - 1) / 2                # the filter's delay, in input samples

    def process(self, x: np.ndarray) -> np.ndarray:
        """The output samples that ``x`` (the next input block) completes."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if self.same:
            return x.astype(np.float32)
        joined = np.concatenate([self._history, x])
        y = np.convolve(joined, self._h, mode="valid")  # y[k] is input index (consumed - taps + 1 + k) delayed
        self._history = joined[len(joined) - (len(self._h) - 1):]
        self._filtered = np.concatenate([self._filtered, y])
        step = self.rate_in_hz / self.rate_out_hz
        last = self._base + len(self._filtered) - 2   # interpolation needs the sample after
        # output j sits at input position j*step (+ the filter's delay, which the valid convolution removes)
        top = math.floor(last / step) if last >= 0 else -1
        if top < self._next_out:
            return np.zeros(0, np.float32)
        pos = np.arange(self._next_out, top + 1) * step - self._base
        i = np.floor(pos).astype(np.int64)
        frac = pos - i
        out = self._filtered[i] * (1 - frac) + self._filtered[i + 1] * frac
        self._next_out = top + 1
        keep = int(math.floor(self._next_out * step)) - self._base
        if keep > 0:
            self._filtered = self._filtered[keep:]
            self._base += keep
        return out.astype(np.float32)


def resample(x: np.ndarray, rate_in_hz: int, rate_out_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """A whole signal at ``rate_out_hz``, with the filter's delay removed (for files)."""
    r = Resampler(rate_in_hz, rate_out_hz)
    if r.same:
        return np.asarray(x, np.float32)
    pad = int(math.ceil(r._delay))
    y = r.process(np.concatenate([np.asarray(x, np.float64), np.zeros(2 * pad + 2)]))
    shift = int(round(r._delay * rate_out_hz / rate_in_hz))
    n = int(round(len(x) * rate_out_hz / rate_in_hz))
    return y[shift:shift + n].astype(np.float32)


@dataclass(frozen=True)
class InputDevice:
    """A PortAudio input device as a person chooses it: ``--mic INDEX`` or ``--mic NAME``."""

    index: int
    name: str
    host_api: str
    channels: int
    default_rate_hz: float
    default: bool

    def describe(self) -> str:
        mark = " (default)" if self.default else ""
        return (f"{self.index}: {self.name!r} [{self.host_api}], {self.channels} ch, "
                f"{self.default_rate_hz:.0f} Hz{mark}")


def _sounddevice():
    """The ``sounddevice`` module, or a :class:`MicrophoneError` saying what to install."""
    try:
        import sounddevice as sd
    except ImportError:
        raise MicrophoneError("the 'sounddevice' package is not installed; run scripts/setup.sh "
                              "(or '.venv/bin/python -m pip install sounddevice')") from None
    except OSError as e:  # the binding is there, the PortAudio library is not
        raise MicrophoneError(f"PortAudio is missing ({e}); install it (Debian/Ubuntu: "
                              "'sudo apt install libportaudio2'; macOS: 'brew install portaudio') "
                              "or run scripts/setup.sh") from None
    return sd


def list_input_devices() -> list[InputDevice]:
    """Every device PortAudio can record from (may be empty on a machine without sound cards)."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in = sd.default.device[0] if sd.default.device else -1
    except Exception as e:  # noqa: BLE001  (PortAudio's errors vary by platform)
        raise MicrophoneError(f"cannot list the sound devices: {e}") from None
    found = []
    for i, d in enumerate(devices):
        if int(d.get("max_input_channels", 0)) > 0:
            api = apis[d["hostapi"]]["name"] if 0 <= d.get("hostapi", -1) < len(apis) else "?"
            found.append(InputDevice(i, str(d["name"]), api, int(d["max_input_channels"]),
                                     float(d.get("default_samplerate", 0.0)), i == default_in))
    return found


def describe_input_devices() -> str:
    """The input devices, one a line, for a person choosing one."""
    try:
        devices = list_input_devices()
    except MicrophoneError as e:
        return f"  (none can be listed: {e})"
    if not devices:
        return "  (none: no sound card with an input was found; plug one in, or use --mic FILE.wav)"
    return "\n".join("  " + d.describe() for d in devices)


class RingBuffer:
    """A bounded buffer of samples between one writer thread and one reader; the oldest go first.

    :meth:`push` and :meth:`read` hold a lock only to copy, so neither side waits on the other
    for longer than a copy of at most ``capacity`` samples.
    """

    def __init__(self, capacity: int) -> None:
        self._ring = np.zeros(int(capacity), np.float32)
        self._write = 0          # samples ever written
        self._read = 0           # samples ever read (or dropped)
        self.dropped = 0         # samples lost because the reader fell behind
        self._lock = threading.Lock()

    def push(self, x: np.ndarray) -> None:
        """Append samples, dropping the oldest unread ones if the ring is full."""
        x = np.asarray(x, np.float32).reshape(-1)
        n, cap = len(x), len(self._ring)
        if n == 0:
            return
        lost_here = max(0, n - cap)
        if n > cap:
            x, n = x[-cap:], cap
        with self._lock:
            start = self._write % cap
            first = min(n, cap - start)
            self._ring[start:start + first] = x[:first]
            self._ring[: n - first] = x[first:]
            self._write += n
            self.dropped += lost_here
            if self._write - self._read > cap:
                self.dropped += self._write - self._read - cap
                self._read = self._write - cap

    def read(self) -> np.ndarray:
        """Every sample pushed since the last read, oldest first."""
        cap = len(self._ring)
        with self._lock:
            n = self._write - self._read
            start = self._read % cap
            first = min(n, cap - start)
            out = np.concatenate([self._ring[start:start + first], self._ring[: n - first]])
            self._read = self._write
        return out


class MicrophoneSource:
    """A real microphone through PortAudio, 16 kHz mono float32 into a bounded ring buffer.

    ``device``: a PortAudio device index, a part of a device's name, or None for the system's
    default input. The stream is opened at 16 kHz; a device that refuses that rate is opened at
    its own default rate and resampled here. Raises :class:`MicrophoneError` naming the device
    and listing the input devices when it cannot open.
    """

    live = True

    def __init__(self, device: str | int | None = None, *, ring_s: float = RING_S) -> None:
        sd = _sounddevice()
        if isinstance(device, str) and device.strip().isdigit():
            device = int(device)
        self.device = device
        self.ring = RingBuffer(int(ring_s * SAMPLE_RATE_HZ))
        self.overflows = 0       # blocks PortAudio itself reported as lost
        self._stream = None
        errors = []
        for rate in (SAMPLE_RATE_HZ, None):
            try:
                if rate is None:
                    info = sd.query_devices(device, "input")
                    rate = int(info["default_samplerate"])
                self._resampler = Resampler(rate)
                self._stream = sd.InputStream(device=device, channels=1, samplerate=rate, dtype="float32",
                                              blocksize=round(BLOCK * rate / SAMPLE_RATE_HZ),
                                              callback=self._callback)
                self._stream.start()
                self.rate_hz = rate
                break
            except Exception as e:  # noqa: BLE001  (PortAudioError, ValueError for an unknown name, ...)
                errors.append(str(e))
                self._stream = None
        if self._stream is None:
            shown = "the default input" if device is None else f"{device!r}"
            raise MicrophoneError(f"cannot open the microphone {shown}: {errors[-1]}.\n"
                                  f"Input devices:\n{describe_input_devices()}\n"
                                  "Choose one with --mic INDEX or --mic NAME, or play clips with --mic FILE.wav "
                                  "or --mic FOLDER.")

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        self.ring.push(self._resampler.process(indata[:, 0]))

    @property
    def dropped(self) -> int:
        """Samples lost because the reader fell more than the ring's length behind."""
        return self.ring.dropped

    def read(self) -> np.ndarray:
        """The samples recorded since the last call; never blocks (the lock is held for a copy)."""
        return self.ring.read()

    def advance_to(self, t_s: float) -> None:
        """A live microphone runs on its own clock: nothing to do."""

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # noqa: BLE001  (a device unplugged mid-session)
                pass
            self._stream = None

    def describe(self) -> str:
        return f"microphone {'default input' if self.device is None else repr(self.device)}"


class FileMicrophone:
    """A WAV file, or a folder of clips with ``clips.yaml``/``clips.json``, heard on the caller's clock.

    A single WAV file starts at session time 0. A folder's clips start at their ``start_s``
    (see ``vr.dialogue.clips``); where clips overlap they are mixed. Everything is resampled to
    16 kHz when the source is made; :meth:`advance_to` then releases the samples up to ``t_s``.
    """

    live = False

    def __init__(self, path: Path | str) -> None:
        from vr.dialogue.clips import load_clip_folder

        path = Path(path)
        if path.is_dir():
            self.clips = load_clip_folder(path)
        elif path.is_file():
            from vr.dialogue.clips import Clip

            self.clips = (Clip(path, 0.0, None),)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder; --mic takes a device, a WAV file, "
                                    "or a folder holding clips.yaml")
        self.path = path
        self._audio: list[tuple[int, np.ndarray]] = []
        for clip in self.clips:
            x, rate = read_wav(clip.path)
            self._audio.append((round(clip.start_s * SAMPLE_RATE_HZ), resample(x, rate)))
        self.end_s = max((s + len(a)) / SAMPLE_RATE_HZ for s, a in self._audio) if self._audio else 0.0
        self._available = 0   # samples released by advance_to
        self._read = 0

    def advance_to(self, t_s: float) -> None:
        """Release the samples up to session time ``t_s`` (earlier times than before do nothing)."""
        self._available = max(self._available, int(math.floor(max(0.0, t_s) * SAMPLE_RATE_HZ + 1e-6)))

    def read(self) -> np.ndarray:
        """The samples between the last read and the last ``advance_to``; silence between clips."""
        a, b = self._read, self._available
        self._read = b
        return self.samples(a, b)

    def samples(self, a: int, b: int) -> np.ndarray:
        """Samples ``a`` to ``b`` (16 kHz indices from session time 0), clips mixed in."""
        out = np.zeros(max(0, b - a), np.float32)
        for start, clip in self._audio:
            lo, hi = max(a, start), min(b, start + len(clip))
            if lo < hi:
                out[lo - a:hi - a] += clip[lo - start:hi - start]
        return out

    def close(self) -> None:
        self._audio = []

    def describe(self) -> str:
        return f"clips from {self.path} ({len(self.clips)} clip{'s' if len(self.clips) != 1 else ''})"


def open_source(mic: str | int | None) -> AudioSource:
    """The source ``--mic`` names: an existing WAV file or clip folder, else a PortAudio device.

    ``None`` or ``"default"`` is the system's default input.
    """
    if isinstance(mic, str) and mic not in ("", "default") and Path(mic).exists():
        return FileMicrophone(Path(mic))
    if isinstance(mic, str) and mic.lower().endswith((".wav", ".yaml", ".json")):
        raise FileNotFoundError(f"{mic}: no such file; --mic takes a device, a WAV file, or a clip folder")
    return MicrophoneSource(None if mic in (None, "", "default") else mic)
