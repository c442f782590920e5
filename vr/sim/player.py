"""A simulated player for distraction sessions: aims with the head, throws, answers pain prompts.

``skill`` (0-1) sets how quickly it notices a target (reaction 1.2 s down to 0.3 s), how fast
it turns its head (60 to 150 degrees per second) and how steadily it aims (6 down to 1 degree of
wobble). Its pain follows the procedure (low before, high during a phase, lower after), eased
while it is absorbed in the game, and it answers a pain prompt after a few seconds. Seeded:
the same skill and seed play the same game.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vr.sim.types import Command, FrameInputs, HeadPose, Rating, WorldState


@dataclass(frozen=True)
class PlayerParams:
    skill: float = 0.6
    pain_during: float = 6.0     # 0-10 while a phase runs, before distraction
    pain_outside: float = 2.0
    distraction_relief: float = 2.5   # points of pain taken off while engaged


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


class GamePlayer:
    """Plays a ``DistractionSession`` through ``FrameInputs`` (head in the glide's frame)."""

    def __init__(self, params: PlayerParams, seed: int, start: HeadPose) -> None:
        self.p = params
        self.rng = np.random.default_rng(seed + 7919)
        self.head = start
        self.target: str | None = None
        self.noticed: dict[str, float] = {}
        self.wobble = np.zeros(2)
        self.answer_at: float | None = None
        s = min(max(params.skill, 0.0), 1.0)
        self.reaction_s = lerp(1.2, 0.3, s)
        self.turn_deg_s = lerp(60.0, 150.0, s)
        self.noise_deg = lerp(6.0, 1.0, s)
        self.fire_per_s = lerp(1.0, 4.0, s)

    def act(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        if world is None or world.game is None:
            return FrameInputs(self.head)
        g = world.game
        t = world.t_s
        commands: list[Command] = []
        ratings: list[Rating] = []
        alive = [i for i in np.flatnonzero(g.alive)]
        for i in alive:
            self.noticed.setdefault(g.target_ids[i], t)
        ready = [i for i in alive if t - self.noticed[g.target_ids[i]] >= self.reaction_s]
        head_world = np.asarray(world.head.position_m)
        yaw_w, pitch_w = world.head.yaw_deg, world.head.pitch_deg
        want_yaw, want_pitch = g.rig_yaw_deg, -5.0
        aim_target = None
        if ready:
            def angle(i: int) -> float:
                d = g.position_m[i] - head_world
                yaw = math.degrees(math.atan2(-d[0], d[1]))
                return abs((yaw - yaw_w + 180.0) % 360.0 - 180.0)

            aim_target = min(ready, key=angle)
            d = g.position_m[aim_target] - head_world
            want_yaw = math.degrees(math.atan2(-d[0], d[1]))
            want_pitch = math.degrees(math.atan2(d[2], math.hypot(d[0], d[1])))
        self.wobble = 0.9 * self.wobble + self.rng.normal(0.0, self.noise_deg * 0.45, 2)
        want_yaw += self.wobble[0]
        want_pitch += self.wobble[1]
        step = self.turn_deg_s * dt_s
        dyaw = (want_yaw - yaw_w + 180.0) % 360.0 - 180.0
        dpitch = want_pitch - pitch_w
        yaw_w += max(-step, min(step, dyaw))
        pitch_w += max(-step, min(step, dpitch))
        local_yaw = yaw_w - g.rig_yaw_deg
        self.head = HeadPose(self.head.position_m, local_yaw, max(-60.0, min(60.0, pitch_w)), 0.0)
        if aim_target is not None and abs(dyaw) < 4.0 and self.rng.random() < self.fire_per_s * dt_s:
            commands.append(Command("fire", source="patient"))
        if world.rating_prompt:
            if self.answer_at is None:
                self.answer_at = t + float(self.rng.uniform(2.0, 4.0))
            elif t >= self.answer_at:
                self.answer_at = None
                pain = self.pain(world)
                ratings.append(Rating(world.rating_prompt, pain if world.rating_prompt == "pain" else 30.0))
        return FrameInputs(self.head, tuple(commands), tuple(ratings))

    def pain(self, world: WorldState) -> float:
        g = world.game
        base = self.p.pain_during if g.in_phase else self.p.pain_outside
        relief = self.p.distraction_relief if (g.in_phase and g.engaged) else 0.0
        return float(np.clip(round(base - relief + self.rng.normal(0.0, 0.7)), 0, 10))
