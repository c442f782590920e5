"""The hit chime: a soft bell whose note climbs with the streak."""

from __future__ import annotations

import wave

import numpy as np

from vr.render.game_sounds import NOTES_HZ, RATE_HZ, GameSounds, chime, sound_file
from vr.sim import Event


def test_chime_is_a_gentle_bell_at_its_note():
    x = chime(NOTES_HZ[0])
    assert np.abs(x).max() < 0.4                      # never loud
    peak = np.argmax(np.abs(np.fft.rfft(x)))
    assert abs(peak * RATE_HZ / len(x) - NOTES_HZ[0]) < 3.0
    assert np.abs(x[-500:]).max() < 0.05 * np.abs(x).max()   # it dies away


def test_sound_files_are_cached_wavs(tmp_path):
    path = sound_file(2, tmp_path)
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE_HZ and w.getnchannels() == 1
    assert sound_file(2, tmp_path) == path


class _Sound:
    def __init__(self, log, i):
        self.log, self.i = log, i

    def setVolume(self, v):
        pass

    def play(self):
        self.log.append(self.i)


class _Loader:
    def __init__(self):
        self.log, self.n = [], 0

    def loadSfx(self, path):
        self.n += 1
        return _Sound(self.log, self.n - 1)


def test_the_note_climbs_with_the_streak_and_starts_over_on_a_miss(tmp_path):
    loader = _Loader()
    sounds = GameSounds(loader, tmp_path)
    hit, miss = Event(0.0, "hit", {}), Event(0.0, "target_missed", {})
    sounds.on_events([hit, hit, hit, miss, hit] + [hit] * 7)
    assert loader.log[:5] == [0, 1, 2, 0, 1] and loader.log[-1] == len(NOTES_HZ) - 1
