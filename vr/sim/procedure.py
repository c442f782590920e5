"""Distraction sessions: the right session core for a profile, a simulated player, a scripted clinician.

``new_session`` gives the right core for a profile (``Session`` for exposure, ``DistractionSession``
for distraction). For headless runs and ``vr simulate``, ``SimulatedProcedure`` plays the
patient (``GamePlayer``) and the clinician, who marks each phase at its expected length after
a short lead-in and ends the session a little after the last phase.
"""

from __future__ import annotations

from vr.config import LoadedProfile
from vr.sim import Command, FrameInputs, Session, WorldState
from vr.sim.distraction import DistractionSession
from vr.sim.player import GamePlayer, PlayerParams

LEAD_IN_S = 20.0       # before the first phase: the patient settles into the game
AFTER_S = 30.0         # after the last phase: the pain rating, a calm finish


def new_session(loaded: LoadedProfile, seed: int, lines=None, bands=None):
    """The session core for ``loaded``: exposure or distraction. ``lines``: vetted line id -> text;
    ``bands``: line id -> band (an exposure session's clinician may pick lines)."""
    if getattr(loaded, "distraction", False):
        return DistractionSession(loaded.config, loaded.scene.config, seed, lines=lines)
    return Session(loaded.config, loaded.scene.config, seed, lines=lines, line_bands=bands)


def phase_plan(loaded: LoadedProfile, time_scale: float = 1.0) -> list[tuple[float, Command]]:
    """(time, command): each phase started at its expected length with a pain rating asked halfway
    through, the last one ended, then stop."""
    t = LEAD_IN_S
    plan: list[tuple[float, Command]] = []
    for index, phase in enumerate(loaded.config.phases):
        plan.append((t, Command("phase_start", value=float(index), source="simulated_clinician")))
        length = phase.expected_min * 60.0 * time_scale
        plan.append((t + length / 2, Command("ask_rating", text="pain", source="simulated_clinician")))
        t += length
    plan.append((t, Command("phase_end", source="simulated_clinician")))
    plan.append((t + AFTER_S, Command("stop", source="simulated_clinician")))
    return plan


class SimulatedProcedure:
    """The input source of a headless distraction run: a simulated player and clinician."""

    def __init__(self, loaded: LoadedProfile, session: DistractionSession, seed: int, skill: float = 0.6,
                 time_scale: float = 1.0) -> None:
        self.player = GamePlayer(PlayerParams(skill=skill), seed, session.head)
        self.plan = phase_plan(loaded, time_scale)

    def poll(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        inputs = self.player.act(world, dt_s)
        t = world.t_s if world is not None else 0.0
        due = []
        while self.plan and self.plan[0][0] <= t:
            due.append(self.plan.pop(0)[1])
        if due:
            inputs = inputs.plus(commands=tuple(due))
        return inputs

    def act(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        return self.poll(world, dt_s)
