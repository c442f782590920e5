"""Drives SpeechPlayer in its own process (OpenAL's driver is chosen by the environment at start).

``python tests/audio_probe.py spatial FOLDER``: plays a short noise burst from a sequence of
places, with silence between them (see ``SPATIAL``); run it with OpenAL Soft's ``wave`` driver
and the test reads the mix back from the WAV file. Ends with a long burst cut off by ``stop_all``.

``python tests/audio_probe.py timing FOLDER LIBRARY``: plays a line that is silent for 0.5 s,
loud for 0.5 s, silent for 0.5 s, and prints JSON samples of ``speaking``/``level``/time, then
calls ``stop_all`` in the middle of a second line. ``LIBRARY``: p3openal_audio or null.
"""

from __future__ import annotations

import json
import sys
import time
import wave
from pathlib import Path

import numpy as np

RATE_HZ = 22050
BURST_S = 0.6
GAP_S = 0.4
LONG_S = 3.0
STOP_AFTER_S = 0.5
# (name, speaker x, y in metres, listener heading in degrees); the listener's head is at (0, 0, 1.6).
SPATIAL = (("left", -2.0, 0.0, 0.0), ("right", 2.0, 0.0, 0.0), ("near", 0.0, 1.0, 0.0), ("far", 0.0, 6.0, 0.0),
           ("left_turned_around", -2.0, 0.0, 180.0))


def make_speech(folder: Path, name: str, loudness: np.ndarray):
    """A Speech of band-limited noise shaped by ``loudness`` (one value per sample, 0..1)."""
    from vr.dialogue.tts import Speech, loudness_envelope

    rng = np.random.default_rng(7)
    noise = np.convolve(rng.normal(size=len(loudness)), np.ones(4) / 4, mode="same")  # soften the top end
    x = 0.5 * noise / np.abs(noise).max() * loudness
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return Speech(path, len(x) / RATE_HZ, loudness_envelope(x, RATE_HZ), RATE_HZ, "test")


def start(library: str):
    from panda3d.core import loadPrcFileData

    loadPrcFileData("audio-probe", f"window-type none\naudio-library-name {library}\nsync-video false\n"
                                   "notify-level warning\n")
    from direct.showbase.ShowBase import ShowBase

    return ShowBase()


def run_for(base, player, seconds: float, on_frame=None) -> None:
    """Step frames for ``seconds`` of wall time (the audio mixes in real time)."""
    t0 = last = time.perf_counter()
    while (now := time.perf_counter()) - t0 < seconds:
        player.update(now - last)
        last = now
        base.taskMgr.step()
        if on_frame is not None:
            on_frame(now - t0)
        time.sleep(0.005)


def spatial(folder: Path) -> None:
    from vr.render.speech_audio import SpeechPlayer

    base = start("p3openal_audio")
    head = base.render.attachNewNode("head")
    head.setPos(0, 0, 1.6)
    mouth = base.render.attachNewNode("speaker-head")
    player = SpeechPlayer(base, head)
    assert player.audible, "OpenAL did not open"
    burst = make_speech(folder, "burst", np.ones(int(BURST_S * RATE_HZ)))
    run_for(base, player, GAP_S)
    for _, x, y, heading in SPATIAL:
        head.setH(heading)
        mouth.setPos(x, y, 1.6)
        player.play("speaker", burst, mouth)
        run_for(base, player, BURST_S + GAP_S)
    head.setH(0)
    mouth.setPos(0, 2, 1.6)
    player.play("speaker", make_speech(folder, "long", np.ones(int(LONG_S * RATE_HZ))), mouth)
    run_for(base, player, STOP_AFTER_S)
    player.stop_all()
    run_for(base, player, 2 * GAP_S)
    player.destroy()
    base.destroy()  # closes the OpenAL device, which finishes the WAV file


def timing(folder: Path, library: str) -> None:
    from vr.render.speech_audio import SpeechPlayer

    base = start(library)
    head = base.render.attachNewNode("head")
    mouth = base.render.attachNewNode("speaker-head")
    mouth.setPos(0, 2, 0)
    player = SpeechPlayer(base, head)
    third = int(0.5 * RATE_HZ)
    line = make_speech(folder, "quiet-loud-quiet", np.r_[np.zeros(third), np.ones(third), np.zeros(third)])
    samples: list[tuple[float, bool, float]] = []
    player.play("a", line, mouth)
    samples.append((0.0, player.speaking("a"), player.level("a")))
    run_for(base, player, line.duration_s + 0.4,
            lambda t: samples.append((t, player.speaking("a"), player.level("a"))))
    player.play("a", line, mouth)
    run_for(base, player, 0.7)
    before = (player.speaking("a"), player.level("a"))
    player.stop_all()
    after = (player.speaking("a"), player.level("a"))
    run_for(base, player, 0.1)
    print(json.dumps({"audible": player.audible, "duration_s": line.duration_s, "samples": samples,
                      "before_stop": before, "after_stop": after,
                      "after_stop_frames": (player.speaking("a"), player.level("a"))}))
    player.destroy()
    base.destroy()


if __name__ == "__main__":
    mode, out = sys.argv[1], Path(sys.argv[2])
    if mode == "spatial":
        spatial(out)
    else:
        timing(out, sys.argv[3])
