"""Text to speech: a line's text and a voice become a cached mono WAV and a mouth envelope.

Engines, best first (``engine="auto"`` takes the first that is present):

- ``espeak-ng``: the espeak-ng program (Linux packages, Homebrew, the Windows installer); all
  accents and variants of :mod:`vr.dialogue.voices`.
- ``pyttsx3``: the system's own voices (SAPI5 on Windows, NSSpeech on macOS) through the pyttsx3
  package; uses the voice's gender and rate only.
- ``silent``: no sound at all, but a line still lasts as long as it would take to say and has
  an envelope that opens and closes the mouth once per syllable, so the scene still works.

Each line is written once to ``cache_dir`` as ``<sha256>.wav`` (mono, 16-bit PCM) with its
envelope beside it as ``<sha256>.npy``; the key covers the engine, its version, the voice and
the text. Files are written to a temporary name and renamed into place, so a crash never leaves
a half file under a cache name; a cache hit reads only the WAV header and the small envelope.

The envelope is the mouth opening, 0..1, at :data:`ENVELOPE_HZ`: the RMS loudness of each 20 ms
frame, divided by the line's own loud level (95th percentile), gated and lightly smoothed.

This module does not import Panda3D: the speech worker process uses it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vr.dialogue.voices import Voice

ENVELOPE_HZ = 50
ENGINES = ("espeak-ng", "pyttsx3", "silent")
CACHE_FORMAT = 1  # bump when the envelope or file layout changes: old cache entries are then ignored
ESPEAK_TIMEOUT_S = 10.0
SILENT_RATE_HZ = 22050
SILENCE_RMS = 0.01  # frame RMS (full scale 1.0) below which a line counts as silent: about -40 dBFS
GATE = 0.05  # envelope values below this close the mouth (breath, room noise)
_LEAD_S, _TAIL_S = 0.1, 0.2  # silent engine: quiet before and after a line
_PAUSE_S = {",": 0.15, ";": 0.2, ":": 0.2, ".": 0.3, "!": 0.3, "?": 0.3}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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


class Synthesizer:
    """Turns (text, voice) into :class:`Speech`, cached on disk in ``cache_dir``.

    ``engine``: 'auto' (espeak-ng if on PATH, else pyttsx3 if importable, else 'silent'), or one
    of 'espeak-ng', 'pyttsx3', 'silent' to insist on it.
    """

    def __init__(self, cache_dir: Path, engine: str = "auto") -> None:
        self.cache_dir = Path(cache_dir)
        self.engine: str = _choose_engine(engine)
        self._espeak = shutil.which("espeak-ng") if self.engine == "espeak-ng" else None
        self._version: str | None = None
        self._pyttsx = None  # the pyttsx3 engine, made on first use

    def warn(self) -> str | None:
        """A sentence for the clinician when speech will be silent (what to install), else None."""
        if self.engine != "silent":
            return None
        return ("Speech is silent: no text-to-speech engine was found, so virtual humans move their lips "
                "without sound. Install espeak-ng (Debian/Ubuntu: 'sudo apt install espeak-ng'; macOS: "
                "'brew install espeak-ng'; Windows: the espeak-ng installer, or 'pip install pyttsx3' for "
                "the system voice) and restart the program.")

    def cache_key(self, text: str, voice: Voice) -> str:
        """The sha256 (hex) naming this line's files: engine, engine version, voice and text."""
        parts = (f"format{CACHE_FORMAT}", self.engine, self.version(), voice.key(), _clean(text))
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()

    def version(self) -> str:
        """The engine's version text (asked once; 'unknown' when it will not say)."""
        if self._version is None:
            self._version = _engine_version(self.engine, self._espeak)
        return self._version

    def synthesize(self, text: str, voice: Voice) -> Speech:
        """The line ``text`` in ``voice``, from the cache or made now.

        Raises ``RuntimeError`` naming the command and its message when espeak-ng or pyttsx3
        fails; the 'silent' engine does not raise for any text.
        """
        key = self.cache_key(text, voice)
        wav_path = self.cache_dir / f"{key}.wav"
        env_path = self.cache_dir / f"{key}.npy"
        cached = _read_cached(wav_path, env_path, self.engine)
        if cached is not None:
            return cached
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        clean = _clean(text)
        if self.engine == "silent" or not clean.strip():
            samples, rate_hz = _silence(clean, voice)
            envelope = syllable_envelope(clean, voice.rate_wpm, len(samples) / rate_hz)
        else:
            samples, rate_hz = self._speak(clean, voice, key)
            envelope = loudness_envelope(samples, rate_hz)
        # The envelope goes first: the WAV appearing under its name is what marks the entry complete.
        _atomic_write(env_path, lambda f: np.save(f, envelope, allow_pickle=False))
        _atomic_write(wav_path, lambda f: _write_wav(f, samples, rate_hz))
        return Speech(wav_path, len(samples) / rate_hz, _frozen(envelope), rate_hz, self.engine)

    def _speak(self, text: str, voice: Voice, key: str) -> tuple[np.ndarray, int]:
        fd, raw_name = tempfile.mkstemp(prefix=f"{key[:16]}.", suffix=".raw.tmp.wav", dir=self.cache_dir)
        os.close(fd)
        raw = Path(raw_name)
        try:
            if self.engine == "espeak-ng":
                self._run_espeak(text, voice, raw)
            else:
                self._run_pyttsx3(text, voice, raw)
            try:
                return read_audio(raw)
            except (OSError, EOFError, ValueError, wave.Error) as e:
                raise RuntimeError(f"{self.engine} wrote no readable audio for {text[:40]!r} ({e}); "
                                   "check the engine works on its own, or use engine='silent'") from None
        finally:
            raw.unlink(missing_ok=True)

    def _run_espeak(self, text: str, voice: Voice, out: Path) -> None:
        # The text goes on stdin, so it is never read as an option, whatever it starts with.
        cmd = [self._espeak or "espeak-ng", "-v", voice.name, "-p", str(int(voice.pitch)), "-s",
               str(int(voice.rate_wpm)), "-b", "1", "-w", str(out), "--stdin"]
        shown = shlex.join(cmd) + " < text"
        try:
            done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"espeak-ng took over {ESPEAK_TIMEOUT_S:.0f} s: {shown}; "
                               "is the line very long, or the machine overloaded?") from None
        except OSError as e:
            raise RuntimeError(f"cannot run espeak-ng ({e}): {shown}; reinstall espeak-ng") from None
        message = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        if done.returncode != 0 or message.lower().startswith(("failed", "error")) or out.stat().st_size <= 44:
            raise RuntimeError(f"espeak-ng failed (exit {done.returncode}): {shown}: {message or 'no message'}; "
                               f"check the voice {voice.name!r} is listed by `espeak-ng --voices=en`")

    def _run_pyttsx3(self, text: str, voice: Voice, out: Path) -> None:
        try:
            if self._pyttsx is None:
                import pyttsx3

                self._pyttsx = pyttsx3.init()
            engine = self._pyttsx
            engine.setProperty("rate", int(voice.rate_wpm))
            system_voice = _pick_system_voice(engine.getProperty("voices") or [], voice)
            if system_voice is not None:
                engine.setProperty("voice", system_voice)
            engine.save_to_file(text, str(out))
            engine.runAndWait()
        except Exception as e:  # noqa: BLE001  (pyttsx3's drivers raise whatever their platform raises)
            raise RuntimeError(f"pyttsx3 failed to speak {text[:40]!r}: {type(e).__name__}: {e}; "
                               "install espeak-ng, or use engine='silent'") from None


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


def estimate_duration_s(text: str, rate_wpm: float) -> float:
    """How long ``text`` takes to say at ``rate_wpm``, in seconds, with pauses at punctuation."""
    words = text.split()
    pauses = sum(_PAUSE_S.get(w[-1], 0.0) for w in words)
    return _LEAD_S + len(words) * 60.0 / max(float(rate_wpm), 1.0) + pauses + _TAIL_S


def syllable_envelope(text: str, rate_wpm: float, duration_s: float) -> np.ndarray:
    """A made-up mouth envelope for ``text`` lasting ``duration_s``: one rise and fall per syllable."""
    n = max(1, math.ceil(duration_s * ENVELOPE_HZ - 1e-9))
    out = np.zeros(n)
    t = np.arange(n) / ENVELOPE_HZ
    word_s = 60.0 / max(float(rate_wpm), 1.0)
    start = _LEAD_S
    k = 0
    for word in text.split():
        count = _syllables(word)
        slot = word_s / count
        for i in range(count):
            a = start + i * slot
            inside = (t >= a) & (t < a + slot)
            peak = 0.65 + 0.35 * abs(math.sin(1.7 * k + 0.4))  # varied, so it does not look mechanical
            out[inside] = np.maximum(out[inside], peak * np.sin(np.pi * (t[inside] - a) / slot) ** 2)
            k += 1
        start += word_s + _PAUSE_S.get(word[-1], 0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float32, mono, full scale 1.0) and the rate in Hz of a PCM WAV or AIFF file."""
    with open(path, "rb") as f:
        magic = f.read(12)
    if magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
        return _read_aiff(Path(path))
    with wave.open(str(path), "rb") as w:
        channels, width, rate_hz = w.getnchannels(), w.getsampwidth(), w.getframerate()
        data = w.readframes(w.getnframes())
    if width == 1:
        x = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        x = np.frombuffer(data, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    elif width == 3:
        b = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported")
    return _mono(x, channels), rate_hz


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
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return x.astype(np.float32)


def _write_wav(f, samples: np.ndarray, rate_hz: int) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(pcm.tobytes())


def _atomic_write(path: Path, write) -> None:
    """Write ``path`` through a unique temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=path.stem[:16] + ".", suffix=path.suffix + ".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cached(wav_path: Path, env_path: Path, engine: str) -> Speech | None:
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
    return Speech(wav_path, duration_s, _frozen(envelope.astype(np.float32, copy=False)), rate_hz, engine)


def _silence(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    duration_s = estimate_duration_s(text, voice.rate_wpm) if text.strip() else _LEAD_S + _TAIL_S
    n = round(duration_s * ENVELOPE_HZ) * SILENT_RATE_HZ // ENVELOPE_HZ  # whole envelope frames
    return np.zeros(n, np.float32), SILENT_RATE_HZ


def _syllables(word: str) -> int:
    groups = len(re.findall(r"[aeiouyàâäéèêëîïôöûüœæ]+", word.lower()))
    letters = sum(ch.isalpha() for ch in word)
    return max(1, groups if groups else letters // 2)


def _clean(text: str) -> str:
    """The text as spoken: control characters (NUL, escapes) become spaces."""
    return _CONTROL.sub(" ", str(text))


def _frozen(envelope: np.ndarray) -> np.ndarray:
    envelope = np.ascontiguousarray(envelope, dtype=np.float32)
    envelope.setflags(write=False)
    return envelope


def _choose_engine(engine: str) -> str:
    if engine == "auto":
        if shutil.which("espeak-ng"):
            return "espeak-ng"
        if importlib.util.find_spec("pyttsx3") is not None:
            return "pyttsx3"
        return "silent"
    if engine not in ENGINES:
        raise ValueError(f"unknown speech engine {engine!r}; use 'auto' or one of {', '.join(ENGINES)}")
    if engine == "espeak-ng" and not shutil.which("espeak-ng"):
        raise RuntimeError("espeak-ng is not on PATH; install it (e.g. 'sudo apt install espeak-ng') "
                           "or use engine='auto'")
    if engine == "pyttsx3" and importlib.util.find_spec("pyttsx3") is None:
        raise RuntimeError("pyttsx3 is not installed; 'pip install pyttsx3', or use engine='auto'")
    return engine


def _engine_version(engine: str, exe: str | None) -> str:
    if engine == "espeak-ng":
        try:
            done = subprocess.run([exe or "espeak-ng", "--version"], capture_output=True, timeout=ESPEAK_TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        found = re.search(rb"(\d+\.\d+(?:\.\d+)?\S*)", done.stdout)
        return found.group(1).decode("ascii", "replace") if found else "unknown"
    if engine == "pyttsx3":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"{version('pyttsx3')}-{os.name}"
        except PackageNotFoundError:
            return f"unknown-{os.name}"
    return "none"


def _pick_system_voice(voices: list, voice: Voice) -> str | None:
    """A system voice id for ``voice``: one of its gender where the system says, chosen by its key."""
    if not voices:
        return None

    def said_gender(v) -> str | None:
        said = str(getattr(v, "gender", "") or "").lower()  # 'VoiceGenderFemale' on macOS; often empty
        return "female" if "female" in said else "male" if "male" in said else None

    def english(v) -> bool:
        langs = " ".join(str(lang) for lang in (getattr(v, "languages", None) or [])).lower()
        return "en" in langs or "english" in str(getattr(v, "name", "")).lower()

    pool = [v for v in voices if english(v)] or list(voices)
    pool = [v for v in pool if said_gender(v) == voice.gender] or pool
    index = int(hashlib.sha256(voice.key().encode()).hexdigest(), 16) % len(pool)
    return getattr(pool[index], "id", None)
