"""Ambient sound beds: each sounds like what it names, loops without a click, and plays with no sound card."""

from __future__ import annotations

import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from vr.render.ambience import BEDS, RATE_HZ, ambience_file, synthesize


def centroid_hz(x: np.ndarray) -> float:
    """Where the sound's energy sits (power-weighted mean frequency)."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE_HZ)
    return float((spectrum * freqs).sum() / spectrum.sum())


@pytest.mark.parametrize("name", BEDS)
def test_each_bed_is_quiet_deterministic_and_loops_cleanly(name):
    x = synthesize(name)
    assert len(x) == int(8.0 * RATE_HZ) and np.abs(x).max() <= 1.0
    rms = float(np.sqrt(np.mean(x * x)))
    assert 0.005 < rms < 0.2, "a background bed, not a foreground sound"
    np.testing.assert_array_equal(x, synthesize(name))
    # The join of the loop is no bigger a step than the bed's own sample-to-sample changes.
    steps = np.abs(np.diff(x))
    assert abs(x[0] - x[-1]) <= np.percentile(steps, 99.9) + 1e-6


def test_beds_sound_like_what_they_name():
    c = {name: centroid_hz(synthesize(name)) for name in BEDS}
    assert c["lift_hum"] < 250 and c["train"] < c["murmur"]
    assert c["room_tone"] < c["murmur"] < c["birds"]
    hum = np.abs(np.fft.rfft(synthesize("lift_hum")))
    freqs = np.fft.rfftfreq(int(8.0 * RATE_HZ), 1.0 / RATE_HZ)
    assert abs(freqs[np.argmax(hum)] - 100.0) < 1.0


def test_wav_file_is_written_once_and_readable(tmp_path):
    path = ambience_file("murmur", tmp_path)
    mtime = path.stat().st_mtime_ns
    assert ambience_file("murmur", tmp_path).stat().st_mtime_ns == mtime
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE_HZ)
        assert w.getnframes() == int(8.0 * RATE_HZ)


def test_unknown_bed_names_the_choices():
    with pytest.raises(ValueError, match="room_tone"):
        synthesize("applause")


def test_ambience_plays_through_openal_without_a_sound_card(tmp_path):
    code = f"""
from panda3d.core import loadPrcFileData, AudioSound
loadPrcFileData('', 'window-type none\\naudio-library-name p3openal_audio\\n')
from direct.showbase.ShowBase import ShowBase
from vr.render.ambience import AmbiencePlayer
base = ShowBase()
from pathlib import Path
player = AmbiencePlayer(base.loader, Path({str(tmp_path)!r}))
player.play('birds', 0.25)
print(type(player.sound).__name__, player.sound.status() == AudioSound.PLAYING, player.sound.getLoop(),
      round(player.sound.length(), 2))
player.play('lift_hum', 0.3)
print(player.current)
"""
    env = {**os.environ, "ALSOFT_DRIVERS": "null"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()[-2:]
    kind, playing, loop, length = first.split()
    assert kind != "NullAudioSound" and playing == "True" and loop == "True" and float(length) == pytest.approx(8.0)
    assert second == "lift_hum"
