"""Voices and text to speech: distinct seeded voices, espeak-ng audio, the cache, envelopes, the silent engine."""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import sys
import types
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vr.dialogue import tts
from vr.dialogue.tts import ENVELOPE_HZ, Synthesizer, loudness_envelope, read_audio
from vr.dialogue.voices import ACCENTS, Voice

LINE = "Could you tell me a little more about your plans?"  # ten words
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (Debian/Ubuntu: apt install espeak-ng)")


@pytest.fixture
def runs(monkeypatch) -> list[list[str]]:
    """Every command tts runs, in order (it still runs them)."""
    seen: list[list[str]] = []
    real = subprocess.run

    def counting(cmd, *args, **kwargs):
        seen.append([str(c) for c in cmd])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(tts.subprocess, "run", counting)
    return seen


def synth_runs(runs: list[list[str]]) -> list[list[str]]:
    return [cmd for cmd in runs if "-w" in cmd]


def f0_hz(x: np.ndarray, rate_hz: int) -> float:
    """The median voice pitch over voiced 40 ms frames, by autocorrelation (60-400 Hz)."""
    n = int(0.04 * rate_hz)
    found = []
    for i in range(0, len(x) - n, n):
        s = x[i:i + n] - x[i:i + n].mean()
        if np.sqrt(np.mean(s * s)) < 0.05:
            continue
        ac = np.correlate(s, s, "full")[n - 1:]
        lo, hi = rate_hz // 400, rate_hz // 60
        k = lo + int(np.argmax(ac[lo:hi]))
        if ac[k] > 0.3 * ac[0]:
            found.append(rate_hz / k)
    return float(np.median(found))


# Voices


def test_voices_are_deterministic_and_varied():
    voices = [Voice.from_seed(s) for s in range(60)]
    assert voices == [Voice.from_seed(s) for s in range(60)]
    assert len({v.name.split("+")[0] for v in voices}) >= 5, "several accents"
    assert {v.gender for v in voices} == {"male", "female"}
    assert all(30 <= v.pitch <= 70 and 145 <= v.rate_wpm <= 185 for v in voices)
    assert all(v.name.split("+")[0] in ACCENTS for v in voices)
    assert len({v.key() for v in voices}) >= 55, "humans in one scene should not share a voice"


def test_gender_and_calm_voices():
    assert all(Voice.from_seed(s, "female").gender == "female" for s in range(20))
    assert all(Voice.from_seed(s, "M").gender == "male" for s in range(20))
    calm = [Voice.calm(s) for s in range(30)]
    assert all(135 <= v.rate_wpm <= 150 and 35 <= v.pitch <= 48 for v in calm)
    with pytest.raises(ValueError, match="'male', 'female'"):
        Voice.from_seed(1, "robot")


def test_voice_key_is_stable_and_names_are_checked():
    assert Voice("en-gb+f2", 40, 150).key() == "en-gb+f2|p40|s150"
    for bad in ("-w /tmp/x", "en us", ""):
        with pytest.raises(ValueError, match="espeak-ng voice name"):
            Voice(bad, 50, 160)
    with pytest.raises(ValueError, match="0-99"):
        Voice("en-us", 120, 160)


# espeak-ng


@needs_espeak
def test_espeak_writes_a_wav_of_plausible_length(tmp_path):
    synth = Synthesizer(tmp_path / "cache")
    assert synth.engine == "espeak-ng" and synth.warn() is None
    speech = synth.synthesize(LINE, Voice("en-us+m3", 50, 160))
    with wave.open(str(speech.path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getframerate() == speech.sample_rate
        assert w.getnframes() / w.getframerate() == pytest.approx(speech.duration_s)
    assert 2.0 < speech.duration_s < 7.0, "ten words at 160 wpm take about 4 s"
    x, _ = read_audio(speech.path)
    assert np.sqrt(np.mean(x * x)) > 0.02, "audible speech"


@needs_espeak
def test_voices_sound_different(tmp_path):
    synth = Synthesizer(tmp_path)
    low = synth.synthesize(LINE, Voice("en-us+m3", 30, 160))
    high = synth.synthesize(LINE, Voice("en-us+f3", 70, 160))
    slow = synth.synthesize(LINE, Voice("en-us+m3", 30, 120))
    fast = synth.synthesize(LINE, Voice("en-us+m3", 30, 200))
    assert len({low.path, high.path, slow.path, fast.path}) == 4
    x_low, rate_hz = read_audio(low.path)
    x_high, _ = read_audio(high.path)
    assert f0_hz(x_high, rate_hz) > 1.6 * f0_hz(x_low, rate_hz), "a female voice at pitch 70 is higher"
    assert slow.duration_s > 1.3 * fast.duration_s, "120 wpm is slower than 200 wpm"
    accent = synth.synthesize(LINE, Voice("en-gb-scotland+m3", 30, 160))
    assert accent.path.read_bytes() != low.path.read_bytes()


@needs_espeak
def test_cache_hit_returns_the_same_file_without_running_the_engine(tmp_path, runs):
    voice = Voice.from_seed(3)
    first = Synthesizer(tmp_path).synthesize(LINE, voice)
    assert len(synth_runs(runs)) == 1
    stamp = first.path.stat().st_mtime_ns
    again = Synthesizer(tmp_path).synthesize(LINE, voice)  # a new process would start like this
    assert len(synth_runs(runs)) == 1, "a cached line must not be synthesised again"
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    assert again.duration_s == first.duration_s and again.sample_rate == first.sample_rate
    np.testing.assert_array_equal(again.envelope, first.envelope)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npy", ".wav"], "no temporary files left"
    Synthesizer(tmp_path).synthesize(LINE + " ", voice)
    assert len(synth_runs(runs)) == 2, "other text is another line"


@needs_espeak
def test_envelope_follows_the_loudness(tmp_path):
    speech = Synthesizer(tmp_path).synthesize(LINE, Voice("en-gb+f2", 50, 160))
    env = speech.envelope
    assert env.dtype == np.float32 and not env.flags.writeable
    assert abs(len(env) - speech.duration_s * ENVELOPE_HZ) <= 1
    assert env.min() >= 0.0 and env.max() <= 1.0 and env.max() > 0.8
    assert env[-3:].max() < 0.1, "espeak-ng ends a line with silence: mouth closed"
    assert 0.2 < (env > 0.3).mean() < 0.95, "opens and closes, not stuck"


def test_envelope_of_silence_and_of_a_burst():
    rate_hz = 22050
    assert not loudness_envelope(np.zeros(rate_hz), rate_hz).any()
    assert loudness_envelope(1e-4 * np.random.default_rng(0).normal(size=rate_hz), rate_hz).max() < 0.05
    burst = np.r_[np.zeros(rate_hz), 0.3 * np.sin(np.arange(rate_hz) * 0.2), np.zeros(rate_hz)]
    env = loudness_envelope(burst, rate_hz)
    assert len(env) == 3 * ENVELOPE_HZ
    assert env[:45].max() < 0.05 and env[55:95].min() > 0.95 and env[105:].max() < 0.05


@needs_espeak
@pytest.mark.parametrize("text", ["-w /tmp/oops.wav --help", '"Quoted," she said; \'single\' too.',
                                  "Café, naïve, 你好, emoji ☺ and “curly” quotes", "$(touch pwned) `touch pwned2`; | > out.txt",
                                  "line one\nline two\x00 after a NUL"])
def test_awkward_text_is_spoken_not_interpreted(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    speech = Synthesizer(tmp_path / "cache").synthesize(text, Voice.from_seed(9))
    assert speech.duration_s > 0.8 and speech.envelope.max() > 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"], "nothing written outside the cache"
    assert not Path("/tmp/oops.wav").exists()


@needs_espeak
def test_engine_failure_names_the_command(tmp_path):
    with pytest.raises(RuntimeError, match=r"espeak-ng failed .*-v zz-nonexistent.*does not exist"):
        Synthesizer(tmp_path).synthesize(LINE, Voice("zz-nonexistent", 50, 160))
    assert not list(tmp_path.iterdir()), "a failed line leaves no files"


# Crash safety


@needs_espeak
def test_leftover_temporaries_and_damaged_entries_do_not_break_the_cache(tmp_path, runs):
    synth = Synthesizer(tmp_path)
    voice = Voice.from_seed(4)
    key = synth.cache_key(LINE, voice)
    # What a crash mid-write would leave: half-written temporaries beside the cache names.
    (tmp_path / f"{key[:16]}.abc123.wav.tmp").write_bytes(b"RIFF\x00\x10")
    (tmp_path / f"{key[:16]}.def456.npy.tmp").write_bytes(b"\x93NUMPY")
    speech = synth.synthesize(LINE, voice)
    assert read_audio(speech.path)[0].size > 0
    # A damaged entry (from a copy, a full disk) is made again rather than read as speech.
    speech.path.write_bytes(speech.path.read_bytes()[:100])
    again = synth.synthesize(LINE, voice)
    assert len(synth_runs(runs)) == 2 and again.duration_s == pytest.approx(speech.duration_s)


def test_a_crash_while_writing_leaves_no_entry(tmp_path, monkeypatch):
    synth = Synthesizer(tmp_path, engine="silent")

    def dies(f, samples, rate_hz):
        f.write(b"RIFF half a header")
        raise KeyboardInterrupt

    monkeypatch.setattr(tts, "_write_wav", dies)
    with pytest.raises(KeyboardInterrupt):
        synth.synthesize(LINE, Voice.from_seed(1))
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob("*.tmp")), "no entry, no temporaries"
    monkeypatch.undo()
    assert Synthesizer(tmp_path, engine="silent").synthesize(LINE, Voice.from_seed(1)).duration_s > 1.0


# Without espeak-ng


@pytest.fixture
def no_engines(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    monkeypatch.setattr(tts.importlib.util, "find_spec", lambda name: None)


def test_silent_engine_moves_the_mouth_without_sound(tmp_path, runs, no_engines):
    synth = Synthesizer(tmp_path)
    assert synth.engine == "silent" and "espeak-ng" in synth.warn()
    voice = Voice("en-us+m3", 50, 150)
    speech = synth.synthesize(LINE, voice)
    x, _ = read_audio(speech.path)
    assert speech.engine == "silent" and not x.any()
    assert speech.duration_s == pytest.approx(10 * 60 / 150, abs=1.0), "ten words at 150 wpm"
    env = speech.envelope
    assert abs(len(env) - speech.duration_s * ENVELOPE_HZ) <= 1 and env.min() >= 0 and env.max() <= 1
    rises = int(np.sum((env[1:] > 0.3) & (env[:-1] <= 0.3)))
    assert rises >= 10, "at least one rise and fall per word"
    assert not runs, "no programs run"
    with pytest.raises(RuntimeError, match="install"):
        Synthesizer(tmp_path, engine="espeak-ng")


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=200), seed=st.integers(0, 10_000))
def test_silent_engine_never_raises(tmp_path_factory, text, seed):
    speech = Synthesizer(tmp_path_factory.mktemp("silent"), engine="silent").synthesize(text, Voice.from_seed(seed))
    assert speech.duration_s > 0.0 and abs(len(speech.envelope) - speech.duration_s * ENVELOPE_HZ) <= 1
    assert 0.0 <= float(speech.envelope.min()) and float(speech.envelope.max()) <= 1.0


def test_unknown_engine_names_the_choices(tmp_path):
    with pytest.raises(ValueError, match="espeak-ng, pyttsx3, silent"):
        Synthesizer(tmp_path, engine="festival")


# pyttsx3 (the system voice on Windows and macOS), through a stand-in module


def _aiff(x: np.ndarray, rate_hz: int) -> bytes:
    """16-bit mono AIFF, as macOS's speech writes."""
    exponent = int(np.floor(np.log2(rate_hz)))
    rate80 = (16383 + exponent).to_bytes(2, "big") + int(rate_hz * 2 ** (63 - exponent)).to_bytes(8, "big")
    comm = (1).to_bytes(2, "big") + len(x).to_bytes(4, "big") + (16).to_bytes(2, "big") + rate80
    ssnd = bytes(8) + (x * 32767).astype(">i2").tobytes()
    chunks = b"COMM" + len(comm).to_bytes(4, "big") + comm + b"SSND" + len(ssnd).to_bytes(4, "big") + ssnd
    return b"FORM" + (len(chunks) + 4).to_bytes(4, "big") + b"AIFF" + chunks


@pytest.mark.parametrize("container", ["wav-stereo", "aiff"])
def test_pyttsx3_output_becomes_mono_16_bit(tmp_path, monkeypatch, container):
    said: dict = {}

    class Engine:
        def setProperty(self, name, value):
            said[name] = value

        def getProperty(self, name):
            return [types.SimpleNamespace(id=f"v{i}", name=f"English {g}", gender=g, languages=["en_US"])
                    for i, g in enumerate(["VoiceGenderMale", "VoiceGenderFemale"])]

        def save_to_file(self, text, path):
            said["path"] = path

        def runAndWait(self):
            x = 0.3 * np.sin(np.arange(16000) * 0.05)
            if container == "aiff":
                Path(said["path"]).write_bytes(_aiff(x, 16000))
            else:
                with wave.open(said["path"], "wb") as w:
                    w.setnchannels(2)
                    w.setsampwidth(2)
                    w.setframerate(16000)
                    w.writeframes((np.repeat(x, 2) * 32767).astype("<i2").tobytes())

    module = types.ModuleType("pyttsx3")
    module.__spec__ = importlib.machinery.ModuleSpec("pyttsx3", None)
    module.init = Engine
    monkeypatch.setitem(sys.modules, "pyttsx3", module)
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    synth = Synthesizer(tmp_path)
    assert synth.engine == "pyttsx3"
    speech = synth.synthesize(LINE, Voice("en-us+f2", 50, 170))
    assert said["rate"] == 170 and said["voice"] == "v1", "the female system voice at the voice's rate"
    with wave.open(str(speech.path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
    assert speech.duration_s == pytest.approx(1.0) and speech.envelope[10:40].min() > 0.9
