"""Speech in 3D: each virtual human's line plays from its head; the listener is the patient's head.

Sounds go through the first sound-effects manager of the ShowBase (OpenAL in a normal run) with
Panda3D's :class:`~direct.showbase.Audio3DManager.Audio3DManager`: positions in metres, the
listener's position and facing taken from the patient's head node every frame, so a speaker on
the patient's left is heard on the left.

Loudness falls with distance as in a room (inverse distance, clamped): full loudness within
``min_distance_m`` (1 m), then ``1 / (1 + drop_off * (d - 1))`` -- with the default drop-off of
0.7, a speaker 6 m away is about 13 dB quieter than one at 1 m -- and no quieter beyond
``max_distance_m`` (20 m). (OpenAL Soft's default is this 'inverse distance clamped' model.)

Where audio is off (``audio-library-name null``, or no sound could be loaded) lines still run:
the player keeps their time from the frame times it is given, so mouths move with the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

from direct.showbase.Audio3DManager import Audio3DManager
from panda3d.core import AudioSound, Filename, NodePath

from vr.dialogue.tts import Speech

MIN_DISTANCE_M = 1.0  # full loudness inside this
MAX_DISTANCE_M = 20.0  # no quieter beyond this
DROP_OFF = 0.7  # OpenAL roll-off factor (1.0 is the physical inverse-distance law; rooms fall off less)
FADE_S = 0.25  # a line cut short fades out over this
_TASK_NAME = "Audio3DManager-updateTask"


@dataclass
class _Line:
    speech: Speech
    source: NodePath
    sound: AudioSound | None  # None where audio is off: then time is kept from frame times
    clock_s: float = 0.0
    ends_in_s: float | None = None   # a line cut short (the patient spoke over it): seconds left


class SpeechPlayer:
    """3D speech: each line plays from the speaker's head; the listener is the patient's head.

    ``base``: the ShowBase (its ``sfxManagerList[0]`` plays the sound, its ``render`` is the
    world); ``listener``: the patient's head node (position in metres, facing along its +Y).
    Call :meth:`update` once a frame after moving the humans and the head.
    """

    def __init__(self, base, listener: NodePath, *, volume: float = 1.0, drop_off: float = DROP_OFF,
                 min_distance_m: float = MIN_DISTANCE_M, max_distance_m: float = MAX_DISTANCE_M) -> None:
        self.volume = float(volume)
        self.min_distance_m = float(min_distance_m)
        self.max_distance_m = float(max_distance_m)
        self._lines: dict[str, _Line] = {}
        managers = list(getattr(base, "sfxManagerList", None) or [])
        self._manager = managers[0] if managers and managers[0].isValid() else None
        self._audio3d: Audio3DManager | None = None
        if self._manager is not None:
            self._audio3d = Audio3DManager(self._manager, listener, root=base.render)
            # The manager adds its own per-frame task; update() drives it instead, so the caller
            # decides when positions are read (after the humans and the head have moved).
            for task in base.taskMgr.getTasksNamed(_TASK_NAME):
                if task.getFunction() == self._audio3d.update:
                    base.taskMgr.remove(task)
            self._audio3d.setDistanceFactor(1.0)  # scene units are metres
            self._audio3d.setDopplerFactor(0.0)  # people talking barely move; no pitch wobble
            self._audio3d.setDropOffFactor(float(drop_off))
            self._audio3d.update()

    @property
    def audible(self) -> bool:
        """Whether sound comes out (False with the null audio library: timing only)."""
        return self._audio3d is not None

    def play(self, key: str, speech: Speech, source: NodePath) -> None:
        """Play ``speech`` from ``source`` (the speaker's head node); ``key`` names the speaker.

        A new line from the same speaker replaces the one still playing.
        """
        self.stop(key)
        sound = None
        if self._audio3d is not None and self._manager is not None:
            sound = self._manager.getSound(Filename.fromOsSpecific(str(speech.path)), True)
            if sound is None or sound.length() <= 0.0:  # unreadable file: the null sound, silent
                sound = None
        if sound is not None and self._audio3d is not None:
            self._audio3d.setSoundMinDistance(sound, self.min_distance_m)
            self._audio3d.setSoundMaxDistance(sound, self.max_distance_m)
            self._audio3d.attachSoundToObject(sound, source)
            self._audio3d.update()  # placed before it starts, so the first syllable is not heard from the origin
            sound.setVolume(self.volume)
            sound.play()
        self._lines[key] = _Line(speech, source, sound)

    def speaking(self, key: str) -> bool:
        """Whether ``key``'s line is playing now."""
        line = self._lines.get(key)
        return line is not None and self._playing(line)

    def level(self, key: str) -> float:
        """The mouth opening 0..1 of ``key`` now: the envelope at the line's playback time (0 when silent)."""
        line = self._lines.get(key)
        if line is None or not self._playing(line):
            return 0.0
        return line.speech.level_at(self._time_s(line))

    def elapsed_s(self, key: str) -> float | None:
        """Seconds into ``key``'s line, or None when it is not speaking."""
        line = self._lines.get(key)
        return self._time_s(line) if line is not None and self._playing(line) else None

    def stop(self, key: str) -> None:
        """Silence ``key`` at once."""
        line = self._lines.pop(key, None)
        if line is not None and line.sound is not None:
            line.sound.stop()
            if self._audio3d is not None:
                self._audio3d.detachSound(line.sound)

    def finish_within(self, key: str, seconds: float) -> None:
        """``key`` finishes the phrase: the line fades out and stops within ``seconds``."""
        line = self._lines.get(key)
        if line is not None and (line.ends_in_s is None or seconds < line.ends_in_s):
            line.ends_in_s = max(float(seconds), 0.0)

    def stop_all(self) -> None:
        """Panic: silence every speaker at once."""
        for key in list(self._lines):
            self.stop(key)

    def update(self, dt_s: float) -> None:
        """Once a frame, ``dt_s`` seconds after the last: sounds follow their speakers, the
        listener follows the head, lines that have ended (or whose speaker was removed) are dropped."""
        for key, line in list(self._lines.items()):
            line.clock_s += max(float(dt_s), 0.0)
            if line.ends_in_s is not None:
                line.ends_in_s -= max(float(dt_s), 0.0)
                if line.sound is not None:  # the last FADE_S fade out, as a speaker trails off
                    line.sound.setVolume(self.volume * min(1.0, max(line.ends_in_s, 0.0) / FADE_S))
            if line.source.isEmpty() or not self._playing(line) or (line.ends_in_s is not None and line.ends_in_s <= 0):
                self.stop(key)
        if self._audio3d is not None:
            self._audio3d.update()

    def destroy(self) -> None:
        """Stop everything and let go of the audio manager."""
        self.stop_all()
        if self._audio3d is not None:
            self._audio3d.detachListener()
        self._audio3d = None
        self._manager = None

    def _playing(self, line: _Line) -> bool:
        if line.sound is not None:
            return line.sound.status() == AudioSound.PLAYING
        return line.clock_s < line.speech.duration_s

    def _time_s(self, line: _Line) -> float:
        if line.sound is not None:
            return float(line.sound.getTime())
        return line.clock_s
