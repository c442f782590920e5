"""The distraction companion's talk: who speaks beside the patient on the glide, and when.

Offers ``companion_turns`` (one step of it: the patient's words screened for risk, with or
without a companion to answer; the worker's lines accepted; unprompted remarks, and a cheer
after every third hit) and ``CompanionVoice`` (the companion's speaking state, what
``vr.sim.talk.Talk`` needs of a speaker model). A ``vr.sim.distraction.DistractionSession`` owns
one ``CompanionVoice`` as it owns its other parts; ``vr.sim.distraction_world`` draws the
companion into the world state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vr.sim.types import Event, FrameInputs

if TYPE_CHECKING:
    from vr.sim.distraction import DistractionSession


def companion_turns(session: DistractionSession, dt_s: float, events: list[Event], inputs: FrameInputs,
                    running: bool) -> list[Event]:
    """The companion's events of one step (``events``: the step's so far; times in seconds)."""
    out: list[Event] = []
    present = np.array([running or session.mode == "paused"] * session.n, dtype=bool)
    distance = np.full(session.n, 1.6)
    speaking = session.voice
    if inputs.said:  # screened for risk with or without a companion to answer
        out += session.talk.heard(inputs.said, session.t_s, session.ids, present, distance, 0.0, running, speaking)
    if inputs.screens or session.talk.pending:
        out += session.talk.screened(inputs.screens, session.t_s, present, speaking)
    if not session.n:
        return out
    if inputs.lines:
        out += session.talk.lines(inputs.lines, session.t_s, session.ids, present, running, speaking)
    speaking.speak_left = max(0.0, speaking.speak_left - dt_s)
    if not running or session.talk.quiet or speaking.speak_left > 0:
        return out
    hits = session.targets.hits
    cheer = hits > session.last_hits and hits % 3 == 0
    session.last_hits = hits
    rate = session.profile.companion.lines_per_min / 60.0
    if cheer or session.rng.random() < -np.expm1(-rate * dt_s):
        speaking.speak_left = 3.0
        out.append(Event(session.t_s, "speech_turn", {"human": session.ids[0], "dialogue_intensity": 0.0,
                                                      "intent": "encouragement" if cheer else "remark",
                                                      "mood": "friendly", "duration_s": 3.0}))
    return session.talk.number_turns(out)


class CompanionVoice:
    """The one companion's speaking state: seconds of its line left (0: silent).

    ``speaker`` is 0 (the companion) while it speaks, else -1, as ``vr.sim.social.Social``'s is
    for a crowd; ``Talk`` stops a line by setting it to -1."""

    def __init__(self) -> None:
        self.speak_left = 0.0

    @property
    def speaking(self) -> bool:
        return self.speak_left > 0

    @property
    def speaker(self) -> int:
        return 0 if self.speak_left > 0 else -1

    @speaker.setter
    def speaker(self, value: int) -> None:
        if value < 0:
            self.speak_left = 0.0

    def silence(self, present: np.ndarray, neutral_mood: int) -> None:
        self.speak_left = 0.0
