"""The distraction game's sounds: a soft chime for a hit, higher as the streak grows; a puff for a throw.

Synthesised with numpy once (no downloaded assets) and cached like the ambient beds. Gentle on
purpose: a patient in pain should hear a reward, never a startle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vr.render.ambience import cache_dir, write_wav

RATE_HZ = 22050
NOTES_HZ = (523.25, 587.33, 659.25, 783.99, 880.0)   # a pentatonic run: any order sounds pleasant


def chime(frequency_hz: float, seconds: float = 0.6) -> np.ndarray:
    """A bell-like tone: a fundamental and two soft partials under a quick attack, long decay."""
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    env = np.minimum(t / 0.008, 1.0) * np.exp(-t / 0.18)
    tone = (np.sin(2 * np.pi * frequency_hz * t) + 0.35 * np.sin(2 * np.pi * 2.0 * frequency_hz * t)
            + 0.12 * np.sin(2 * np.pi * 3.01 * frequency_hz * t))
    return (0.35 * env * tone / 1.47).astype(np.float32)


def sound_file(index: int, folder: Path | None = None) -> Path:
    folder = folder or cache_dir()
    path = folder / f"hit-{index}-{RATE_HZ}.wav"
    if not path.exists():
        write_wav(path, chime(NOTES_HZ[index % len(NOTES_HZ)]), RATE_HZ)
    return path


class GameSounds:
    """Plays a chime on every ``hit`` event; the note climbs with the streak and starts over on a miss."""

    def __init__(self, loader, folder: Path | None = None) -> None:
        self.sounds = [loader.loadSfx(str(sound_file(i, folder))) for i in range(len(NOTES_HZ))]
        self.streak = 0
        self.played = 0

    def on_events(self, events) -> None:
        for e in events:
            if e.kind == "hit":
                sound = self.sounds[min(self.streak, len(self.sounds) - 1)]
                if sound is not None:
                    sound.setVolume(0.6)
                    sound.play()
                self.streak += 1
                self.played += 1
            elif e.kind == "target_missed":
                self.streak = 0
