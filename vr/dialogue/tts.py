"""Text to speech: a line's text and a voice become a cached mono WAV and a mouth envelope.

Engines, best first (``engine="auto"`` takes the first that is present of the first three):

- ``espeak-ng``: the espeak-ng program (Linux packages, Homebrew, the Windows installer); all
  accents and variants of :mod:`vr.dialogue.voices`.
- ``pyttsx3``: the system's own voices (SAPI5 on Windows, NSSpeech on macOS) through the pyttsx3
  package; uses the voice's gender and rate only.
- ``silent``: no sound at all, but a line still lasts as long as it would take to say and has
  an envelope that opens and closes the mouth once per syllable, so the scene still works.
- ``neural``: only when asked for, never by ``auto``: the ``en_US-joe-medium`` voice
  (:mod:`vr.dialogue.neural_voice`, onnxruntime, imported when the first neural line is made or
  :meth:`Synthesizer.warm` is called). It is a man's English voice, so a human whose voice is
  female or not English is spoken, line by line, by the engine ``auto`` would take. When the
  voice cannot be used (its package or onnxruntime missing, the model refused), every human is
  spoken that way, and :attr:`Synthesizer.neural_off` and :meth:`Synthesizer.warn` say why in
  one line.

Each line is written once to ``cache_dir`` as ``<sha256>.wav`` (mono, 16-bit PCM) with its
envelope beside it as ``<sha256>.npy``; the key covers the engine that makes the line, its
version, the voice and the text, so neural and espeak-ng lines never share a file, and a line a
neural synthesiser hands to espeak-ng is the same file espeak-ng alone would make. The files,
the envelope and the cache's reading and writing are :mod:`vr.dialogue.speech_files`; this
module makes the audio.

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
import time
import wave
from pathlib import Path

import numpy as np

from vr.dialogue.speech_files import (ENVELOPE_HZ, GATE, SILENCE_RMS, Speech, atomic_write, frozen, loudness_envelope,
                                      read_audio, read_cached)
from vr.dialogue.speech_files import write_wav as _write_wav  # looked up here at each write (tests replace it)
from vr.dialogue.voices import Voice

# Re-exported: callers import these from here.
__all__ = ["CACHE_FORMAT", "ENGINES", "ENVELOPE_HZ", "GATE", "SILENCE_RMS", "Speech", "Synthesizer",
           "estimate_duration_s", "loudness_envelope", "read_audio", "syllable_envelope"]

ENGINES = ("espeak-ng", "pyttsx3", "silent", "neural")
NEURAL_THREADS = 1  # onnxruntime's threads: the worker shares the machine with the frame loop
CACHE_FORMAT = 1  # bump when the envelope or file layout changes: old cache entries are then ignored
ESPEAK_TIMEOUT_S = 10.0
SILENT_RATE_HZ = 22050
_LEAD_S, _TAIL_S = 0.1, 0.2  # silent engine: quiet before and after a line
_PAUSE_S = {",": 0.15, ";": 0.2, ":": 0.2, ".": 0.3, "!": 0.3, "?": 0.3}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Synthesizer:
    """Turns (text, voice) into :class:`Speech`, cached on disk in ``cache_dir``.

    ``engine``: 'auto' (espeak-ng if on PATH, else pyttsx3 if importable, else 'silent'), one
    of 'espeak-ng', 'pyttsx3', 'silent' to insist on it, or 'neural' for the neural voice where
    it can speak (see the module's notes; it never raises for a missing voice).
    """

    def __init__(self, cache_dir: Path, engine: str = "auto") -> None:
        self.cache_dir = Path(cache_dir)
        self.neural_off: str | None = None  # why the neural voice, asked for, is not used (one line)
        self._neural = None  # the NeuralSpeaker, made when first needed
        if engine == "neural":
            from vr.dialogue import neural_voice  # no onnxruntime: that comes with the model

            self.neural_off = neural_voice.unavailable_reason()
            self._fallback = _choose_engine("auto")
            self.engine: str = "neural" if self.neural_off is None else self._fallback
            if self.engine == "neural":
                try:
                    self._speaker()  # reads the voice's config (the model loads later)
                except RuntimeError as e:
                    self._neural_failed(e)
        else:
            self.engine = self._fallback = _choose_engine(engine)
        self._espeak = shutil.which("espeak-ng") if self._fallback == "espeak-ng" else None
        self._versions: dict[str, str] = {}
        self._pyttsx = None  # the pyttsx3 engine, made on first use

    def warn(self) -> str | None:
        """A sentence for the clinician when speech is not what was asked for (what to install), else None."""
        said = []
        if self.neural_off is not None:
            said.append(f"The neural voice is off ({self.neural_off}); the virtual humans speak with "
                        f"{self.engine} instead.")
        if self.engine == "silent":
            said.append("Speech is silent: no text-to-speech engine was found, so virtual humans move their lips "
                        "without sound. Install espeak-ng (Debian/Ubuntu: 'sudo apt install espeak-ng'; macOS: "
                        "'brew install espeak-ng'; Windows: the espeak-ng installer, or 'pip install pyttsx3' for "
                        "the system voice) and restart the program.")
        return " ".join(said) or None

    def engine_for(self, voice: Voice) -> str:
        """The engine that speaks ``voice``: the neural voice for the humans it covers (English,
        male or no variant), else the engine ``auto`` would take."""
        if self.engine == "neural":
            from vr.dialogue.neural_voice import covers

            if covers(voice):
                return "neural"
        return self._fallback

    def cache_key(self, text: str, voice: Voice) -> str:
        """The sha256 (hex) naming this line's files: the engine that makes it, its version, voice and text."""
        engine = self.engine_for(voice)
        parts = (f"format{CACHE_FORMAT}", engine, self.version(engine), voice.key(), _clean(text))
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()

    def version(self, engine: str | None = None) -> str:
        """The version text of ``engine`` (this synthesiser's own by default), asked once; 'unknown'
        when it will not say. The neural voice's names the voice, onnxruntime, espeak-ng (its
        phonemes) and the style mapping."""
        engine = engine or self.engine
        if engine not in self._versions:
            self._versions[engine] = (self._speaker().version() if engine == "neural"
                                      else _engine_version(engine, self._espeak))
        return self._versions[engine]

    def warm(self) -> float:
        """Load the neural voice's model now and make one short line (so the first real line is not
        late by the load); the seconds it took, 0.0 for the other engines. A model that will not
        load turns the neural voice off (see :attr:`neural_off`) rather than raising."""
        if self.engine != "neural":
            return 0.0
        started = time.perf_counter()
        try:
            speaker = self._speaker()
            speaker.load()
            speaker.speak("Hello.", Voice("en-us", 50, 165))
        except RuntimeError as e:
            self._neural_failed(e)
            return 0.0
        return time.perf_counter() - started

    def synthesize(self, text: str, voice: Voice) -> Speech:
        """The line ``text`` in ``voice``, from the cache or made now.

        Raises ``RuntimeError`` naming the command and its message when espeak-ng or pyttsx3
        fails; the 'silent' engine does not raise for any text.
        """
        engine = self.engine_for(voice)
        key = self.cache_key(text, voice)
        wav_path = self.cache_dir / f"{key}.wav"
        env_path = self.cache_dir / f"{key}.npy"
        cached = read_cached(wav_path, env_path, engine)
        if cached is not None:
            return cached
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        clean = _clean(text)
        if engine == "silent" or not clean.strip():
            samples, rate_hz = _silence(clean, voice)
            envelope = syllable_envelope(clean, voice.rate_wpm, len(samples) / rate_hz)
        elif engine == "neural":
            try:
                samples, rate_hz = self._speaker().speak(clean, voice)
            except RuntimeError as e:  # the model failed: this line and the rest go to espeak-ng
                self._neural_failed(e)
                return self.synthesize(text, voice)
            envelope = loudness_envelope(samples, rate_hz)
        else:
            samples, rate_hz = self._speak(engine, clean, voice, key)
            envelope = loudness_envelope(samples, rate_hz)
        # The envelope goes first: the WAV appearing under its name is what marks the entry complete.
        atomic_write(env_path, lambda f: np.save(f, envelope, allow_pickle=False))
        atomic_write(wav_path, lambda f: _write_wav(f, samples, rate_hz))
        return Speech(wav_path, len(samples) / rate_hz, frozen(envelope), rate_hz, engine)

    def _speaker(self):
        """The neural voice (a :class:`~vr.dialogue.neural_voice.NeuralSpeaker`), made on first use."""
        if self._neural is None:
            from vr.dialogue.neural_voice import NeuralSpeaker

            self._neural = NeuralSpeaker(threads=NEURAL_THREADS)
        return self._neural

    def _neural_failed(self, error: Exception) -> None:
        self.neural_off = " ".join(str(error).split())  # one line, whatever onnxruntime said
        self.engine = self._fallback

    def _speak(self, engine: str, text: str, voice: Voice, key: str) -> tuple[np.ndarray, int]:
        fd, raw_name = tempfile.mkstemp(prefix=f"{key[:16]}.", suffix=".raw.tmp.wav", dir=self.cache_dir)
        os.close(fd)
        raw = Path(raw_name)
        try:
            if engine == "espeak-ng":
                self._run_espeak(text, voice, raw)
            else:
                self._run_pyttsx3(text, voice, raw)
            try:
                return read_audio(raw)
            except (OSError, EOFError, ValueError, wave.Error) as e:
                raise RuntimeError(f"{engine} wrote no readable audio for {text[:40]!r} ({e}); "
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


def _choose_engine(engine: str) -> str:
    if engine == "auto":
        if shutil.which("espeak-ng"):
            return "espeak-ng"
        if importlib.util.find_spec("pyttsx3") is not None:
            return "pyttsx3"
        return "silent"
    if engine not in ENGINES or engine == "neural":  # the neural voice is chosen in Synthesizer itself
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
