"""3D speech through Panda3D's OpenAL with no sound card.

Panda3D's wheel links OpenAL Soft 1.19 into ``panda3d/libp3openal_audio.so``; OpenAL Soft picks
its output driver from the environment, so each check runs ``tests/audio_probe.py`` in its own
process: with the ``wave`` driver (the mix is written to a WAV file, read back here) to hear
where a speaker is, and with the ``null`` driver (plays into nothing) for timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import audio_probe
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("audio_probe.py")
panda3d = pytest.importorskip("panda3d")
if not any(Path(panda3d.__file__).parent.glob("*p3openal_audio*")):
    pytest.skip("this Panda3D build has no OpenAL audio plugin (libp3openal_audio)", allow_module_level=True)


def run_probe(args: list[str], env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALSOFT_")}  # only the driver asked for
    env.update(PYTHONPATH=str(ROOT), **env_extra)
    out = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, env=env,
                         timeout=60, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def read_wave_driver_output(path: Path) -> tuple[np.ndarray, int]:
    """Samples (frames x channels, full scale 1.0) and rate of OpenAL Soft's WAV.

    It writes WAVE_FORMAT_EXTENSIBLE, which Python 3.11's ``wave`` cannot read; the data chunk
    runs to the end of the file.
    """
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a WAV file"
    i, channels, rate_hz, bits = 12, 0, 0, 0
    while i + 8 <= len(data):
        cid, size = data[i:i + 4], int.from_bytes(data[i + 4:i + 8], "little")
        if cid == b"fmt ":
            channels = int.from_bytes(data[i + 10:i + 12], "little")
            rate_hz = int.from_bytes(data[i + 12:i + 16], "little")
            bits = int.from_bytes(data[i + 22:i + 24], "little")
        elif cid == b"data":
            body = data[i + 8:]
            break
        i += 8 + size
    assert bits == 16 and channels == 2, f"expected 16-bit stereo, got {bits}-bit x {channels}"
    x = np.frombuffer(body[: len(body) // 4 * 4], "<i2").reshape(-1, 2).astype(np.float64) / 32768.0
    return x, rate_hz


def bursts(x: np.ndarray, rate_hz: int, min_gap_s: float = 0.15) -> list[np.ndarray]:
    """The sounding stretches of ``x``, in order, split where it is silent for ``min_gap_s``."""
    window = rate_hz // 100
    n = len(x) // window
    loud = np.abs(x[: n * window]).reshape(n, window, 2).max(axis=(1, 2)) > 1e-4
    out, start, quiet = [], None, 0
    for k, on in enumerate(np.r_[loud, np.zeros(int(min_gap_s * 100) + 1, bool)]):
        if on:
            start = k if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet > min_gap_s * 100:
                out.append(x[start * window:(k - quiet + 1) * window])
                start = None
    return out


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


@pytest.fixture(scope="module")
def wave_mix(tmp_path_factory) -> tuple[dict[str, np.ndarray], int]:
    folder = tmp_path_factory.mktemp("speech-wave")
    out = folder / "mix.wav"
    conf = folder / "alsoft.conf"
    conf.write_text("[general]\ndrivers=wave\nchannels=stereo\nfrequency=44100\nsample-type=int16\nhrtf=false\n"
                    f"[wave]\nfile={out}\n")
    run_probe(["spatial", str(folder)], {"ALSOFT_CONF": str(conf), "ALSOFT_DRIVERS": "wave"})
    assert out.exists() and out.stat().st_size > 44, "OpenAL Soft's wave driver wrote nothing"
    x, rate_hz = read_wave_driver_output(out)
    found = bursts(x, rate_hz)
    names = [name for name, *_ in audio_probe.SPATIAL] + ["cut_off"]
    assert len(found) == len(names), f"heard {len(found)} separate sounds, played {len(names)}"
    return dict(zip(names, found)), rate_hz


def test_speaker_on_the_left_is_louder_in_the_left_ear(wave_mix):
    heard, _ = wave_mix
    left, right = heard["left"], heard["right"]
    assert rms(left[:, 0]) > 2.0 * rms(left[:, 1]), "a speaker on the left must be louder on the left"
    assert rms(right[:, 1]) > 2.0 * rms(right[:, 0]), "a speaker on the right must be louder on the right"


def test_turning_the_head_moves_the_sound(wave_mix):
    heard, _ = wave_mix
    behind = heard["left_turned_around"]  # same place as 'left', but the patient faces the other way
    assert rms(behind[:, 1]) > 2.0 * rms(behind[:, 0])


def test_near_speaker_is_clearly_louder_than_far(wave_mix):
    heard, _ = wave_mix
    near, far = rms(heard["near"]), rms(heard["far"])
    ratio_db = 20 * np.log10(near / far)
    assert 8.0 < ratio_db < 20.0, f"1 m vs 6 m differ by {ratio_db:.1f} dB; a room should give about 13 dB"


def test_stop_all_silences_at_once(wave_mix):
    heard, rate_hz = wave_mix
    heard_s = len(heard["cut_off"]) / rate_hz
    assert heard_s < audio_probe.STOP_AFTER_S + 0.25 < audio_probe.LONG_S, \
        f"a {audio_probe.LONG_S} s line stopped after {audio_probe.STOP_AFTER_S} s still sounded for {heard_s:.2f} s"


@pytest.mark.parametrize("library", ["p3openal_audio", "null"])
def test_speaking_and_mouth_follow_the_line(tmp_path, library):
    """OpenAL playing into nothing reports the playback time; the null library falls back to frame times."""
    result = json.loads(run_probe(["timing", str(tmp_path), library], {"ALSOFT_DRIVERS": "null"}).splitlines()[-1])
    assert result["audible"] is (library == "p3openal_audio")
    duration_s = result["duration_s"]
    samples = np.array(result["samples"], dtype=float)  # wall time s, speaking, level
    t, speaking, level = samples[:, 0], samples[:, 1] > 0, samples[:, 2]
    assert speaking[t < duration_s - 0.15].all(), "speaking while the line plays"
    assert not speaking[t > duration_s + 0.25].any(), "not speaking once it has ended"
    assert (level[(t > 0.05) & (t < 0.4)] < 0.05).all(), "mouth closed in the line's quiet start"
    assert (level[(t > 0.6) & (t < 0.9)] > 0.8).all(), "mouth open in the loud middle"
    assert (level[(t > 1.1) & (t < duration_s - 0.15)] < 0.05).all(), "closed again in the quiet end"
    assert level.min() >= 0.0 and level.max() <= 1.0
    assert result["before_stop"][0] and result["before_stop"][1] > 0.5
    assert result["after_stop"] == [False, 0.0] and result["after_stop_frames"] == [False, 0.0]


def test_a_line_the_patient_speaks_over_ends_within_the_time_given():
    """``finish_within``: the speaker trails off and stops; timing from frame times (no audio device)."""
    from types import SimpleNamespace

    from panda3d.core import NodePath

    from vr.dialogue.tts import Speech
    from vr.render.speech_audio import SpeechPlayer

    player = SpeechPlayer(SimpleNamespace(), NodePath("listener"))
    assert not player.audible
    speech = Speech(Path("/nonexistent.wav"), 5.0, np.ones(250, np.float32), 50, "silent")
    player.play("h001", speech, NodePath("mouth"))
    speaking = []
    for k in range(90):   # 3 s at 30 frames a second; the patient starts at 0.5 s
        if k == 15:
            player.finish_within("h001", 0.6)
        player.update(1 / 30)
        speaking.append(player.speaking("h001"))
    assert all(speaking[:15]) and all(speaking[15:31]) and not any(speaking[35:])
