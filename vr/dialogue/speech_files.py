"""Speech files: the mono WAV and mouth envelope of a synthesised line, read, written and cached.

Offers :class:`Speech` (one line's WAV, length and envelope), :func:`loudness_envelope` (the mouth
opening from samples), :func:`read_audio` (PCM WAV or AIFF to float samples), and the cache's
file handling used by :class:`vr.dialogue.tts.Synthesizer`: :func:`write_wav` (mono 16-bit PCM),
:func:`atomic_write` (a temporary name renamed into place, so a crash never leaves a half file
under a cache name) and :func:`read_cached` (a cache hit reads only the WAV header and the small
envelope; a damaged entry reads as missing).

The envelope is the mouth opening, 0..1, at :data:`ENVELOPE_HZ`: the RMS loudness of each 20 ms
frame, divided by the line's own loud level (95th percentile), gated and lightly smoothed.

This module does not import Panda3D: the speech worker process uses it.
"""

from __future__ import annotations

import math
import os
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

ENVELOPE_HZ = 50
SILENCE_RMS = 0.01  # frame RMS (full scale 1.0) below which a line counts as silent: about -40 dBFS
GATE = 0.05  # envelope values below this close the mouth (breath, room noise)


@dataclass(frozen=True, eq=False)
class Speech:
    """One synthesised line.

    ``path``: mono 16-bit PCM WAV; ``duration_s``: its length in seconds; ``envelope``: float32
    mouth opening 0..1 at :data:`ENVELOPE_HZ` (one value per 20 ms, ``ceil(duration_s * 50)``
    values); ``sample_rate``: of the WAV, in Hz; ``engine``: what made it.
    """

    path: Path
    duration_s: float
    envelope: np.ndarray
    sample_rate: int
    engine: str

    def level_at(self, t_s: float) -> float:
        """The mouth opening 0..1 at ``t_s`` seconds into the line (0 before and after it)."""
        if t_s < 0.0 or t_s >= self.duration_s or len(self.envelope) == 0:
            return 0.0
        x = t_s * ENVELOPE_HZ
        i = int(x)
        if i + 1 >= len(self.envelope):
            return float(self.envelope[-1])
        f = x - i
        return float(self.envelope[i] * (1.0 - f) + self.envelope[i + 1] * f)


def loudness_envelope(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mouth opening 0..1 at :data:`ENVELOPE_HZ` from ``samples`` (float, full scale 1.0, at ``sample_rate`` Hz).

    RMS per 20 ms frame, divided by the line's 95th-percentile frame (so loud and quiet voices
    open the mouth alike), gated below :data:`GATE`, smoothed over three frames. A silent line
    (every frame under :data:`SILENCE_RMS`) gives zeros.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    frame = max(1, round(sample_rate / ENVELOPE_HZ))
    n_frames = max(1, math.ceil(len(x) / frame))
    padded = np.zeros(n_frames * frame)
    padded[: len(x)] = x
    rms = np.sqrt(np.mean(padded.reshape(n_frames, frame) ** 2, axis=1))
    level = rms / max(float(np.percentile(rms, 95)), SILENCE_RMS)
    level[level < GATE] = 0.0
    if n_frames >= 3:
        level = np.convolve(np.pad(level, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return np.clip(level, 0.0, 1.0).astype(np.float32)



def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float32, mono, full scale 1.0) and the rate in Hz of a PCM WAV or AIFF file."""
    with open(path, "rb") as f:
        magic = f.read(12)
    if magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
        return _read_aiff(Path(path))
    with wave.open(str(path), "rb") as w:
        channels, width, rate_hz = w.getnchannels(), w.getsampwidth(), w.getframerate()
        data = w.readframes(w.getnframes())
    return _mono(pcm_samples(data, width, path), channels), rate_hz


def pcm_samples(data: bytes, width: int, path: Path | str) -> np.ndarray:
    """Little-endian PCM of ``width`` bytes a sample (8-bit unsigned, 16/24/32-bit signed) as float32
    in -1..1, channels still interleaved; ``path`` names the file in the error for other widths."""
    if width == 1:
        return (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width in (2, 4):
        return np.frombuffer(data, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    if width == 3:
        b = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    raise ValueError(f"{path}: {8 * width}-bit samples are not supported; use 16-bit PCM")


def _read_aiff(path: Path) -> tuple[np.ndarray, int]:
    """16-bit AIFF or AIFF-C ('NONE' or 'sowt'): what macOS's speech writes."""
    data = path.read_bytes()
    channels = width = rate_hz = 0
    little = False
    sound = b""
    i = 12
    while i + 8 <= len(data):
        cid, size = data[i:i + 4], int.from_bytes(data[i + 4:i + 8], "big")
        body = data[i + 8:i + 8 + size]
        if cid == b"COMM":
            channels, width = int.from_bytes(body[0:2], "big"), int.from_bytes(body[6:8], "big") // 8
            exponent, mantissa = int.from_bytes(body[8:10], "big") & 0x7FFF, int.from_bytes(body[10:18], "big")
            rate_hz = round(mantissa * 2.0 ** (exponent - 16383 - 63))
            little = body[18:22] == b"sowt"
        elif cid == b"SSND":
            sound = body[8 + int.from_bytes(body[0:4], "big"):]
        i += 8 + size + (size & 1)
    if width != 2 or channels < 1 or rate_hz <= 0:
        raise ValueError(f"{path}: only 16-bit AIFF is supported (got {8 * width}-bit, {channels} channels)")
    x = np.frombuffer(sound[: len(sound) // 2 * 2], "<i2" if little else ">i2").astype(np.float32) / 32768.0
    return _mono(x, channels), rate_hz


def _mono(x: np.ndarray, channels: int) -> np.ndarray:
    """Interleaved samples of ``channels`` channels averaged to one."""
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return x.astype(np.float32)


def write_wav(f: BinaryIO, samples: np.ndarray, rate_hz: int) -> None:
    """``samples`` (float, full scale 1.0) into ``f`` as a mono 16-bit PCM WAV at ``rate_hz`` Hz."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(pcm.tobytes())


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a unique temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=path.stem[:16] + ".", suffix=path.suffix + ".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_cached(wav_path: Path, env_path: Path, engine: str) -> Speech | None:
    """The cached line, or None when it is missing or damaged (then it is made again)."""
    try:
        with wave.open(str(wav_path), "rb") as w:
            channels, width, rate_hz, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        envelope = np.load(env_path, allow_pickle=False)
        size_b = wav_path.stat().st_size
    except (OSError, EOFError, ValueError, wave.Error):
        return None
    duration_s = frames / rate_hz if rate_hz > 0 else 0.0
    expected = max(1, math.ceil(duration_s * ENVELOPE_HZ - 1e-9))
    if (channels, width) != (1, 2) or size_b < 44 + 2 * frames or envelope.ndim != 1 \
            or abs(len(envelope) - expected) > 1:
        return None
    return Speech(wav_path, duration_s, frozen(envelope.astype(np.float32, copy=False)), rate_hz, engine)


def frozen(envelope: np.ndarray) -> np.ndarray:
    """``envelope`` as contiguous float32 that cannot be written (a ``Speech`` is shared)."""
    envelope = np.ascontiguousarray(envelope, dtype=np.float32)
    envelope.setflags(write=False)
    return envelope

