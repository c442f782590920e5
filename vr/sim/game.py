"""The distraction game's rules: targets ahead of the glide, hits by looking or by the trigger,
and difficulty that adapts to keep the hit rate in the profile's band.

Pure numpy; the frame loop, a headless run and ``vr simulate`` all drive it the same way.
Positions are in the session frame (metres, Z up). A target is hit when the aim ray passes
within its radius: held there for ``dwell_s`` (looking), or at the moment the trigger is pressed.
A target that leaves unhit counts as a miss; the hit rate is hits over targets that ended in
the last ``window_s`` seconds.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from vr.config.distraction import DifficultyConfig, GameConfig
from vr.sim.types import Event

MAX_SLOTS = 32
LATERAL_M = (2.0, 6.0)      # targets appear this far either side of the path
HEIGHT_M = (1.0, 3.2)


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


class Targets:
    """Up to ``max_targets`` targets, their life, and hit bookkeeping."""

    def __init__(self, game: GameConfig, difficulty: DifficultyConfig, rng: np.random.Generator) -> None:
        self.game = game
        self.cfg = difficulty
        self.rng = rng
        n = MAX_SLOTS
        self.alive = np.zeros(n, bool)
        self.pos = np.zeros((n, 3))
        self.vel = np.zeros((n, 3))
        self.radius = np.zeros(n)
        self.age = np.zeros(n)
        self.life = np.zeros(n)
        self.kind = np.zeros(n, np.int8)
        self.dwell = np.zeros(n)
        self.hit_age = np.full(n, np.inf)   # seconds since hit (the burst), inf if never
        self.serial = np.zeros(n, np.int64)
        self.next_serial = 0
        self.difficulty = float(difficulty.start)
        self.spawn_wait = 1.0
        self.outcomes: deque[tuple[float, bool]] = deque()
        self.hits = 0
        self.misses = 0
        self.score = 0
        self._next_adjust = difficulty.adjust_every_s

    # -- per step ---------------------------------------------------------------------------------
    def update(self, t_s: float, dt_s: float, glide_xy: tuple[float, float], glide_yaw_deg: float,
               rays: list[tuple[np.ndarray, np.ndarray, bool, str]], active: bool) -> list[Event]:
        """Move, spawn, age and hit targets; ``rays``: (origin, unit direction, trigger pressed, source)."""
        events: list[Event] = []
        g, d = self.game, self.difficulty
        self.hit_age[np.isfinite(self.hit_age)] += dt_s
        if not active:
            self.dwell[:] = 0.0
            return events
        alive = self.alive
        self.pos[alive] += self.vel[alive] * dt_s
        self.age[alive] += dt_s
        expired = alive & (self.age >= self.life)
        for i in np.flatnonzero(expired):
            self._end(i, t_s, False, events, "expired")
        self.spawn_wait -= dt_s
        if self.spawn_wait <= 0.0:
            rate = lerp(g.spawn_per_min_easy, g.spawn_per_min_hard, d) / 60.0
            self.spawn_wait = float(self.rng.exponential(1.0 / rate))
            if int(self.alive.sum()) < g.max_targets:
                self._spawn(glide_xy, glide_yaw_deg, t_s, events)
        aimed = self._aimed(rays)
        for i in np.flatnonzero(self.alive):
            hit_by = ""
            on = [r for r, k in aimed if k == i]
            if on and any(r[2] for r in on) and g.select in ("trigger", "either"):
                hit_by = "trigger"
            if on:
                self.dwell[i] += dt_s
                if g.select in ("dwell", "either") and self.dwell[i] >= g.dwell_s and not hit_by:
                    hit_by = "dwell"
            else:
                self.dwell[i] = max(0.0, self.dwell[i] - 2.0 * dt_s)
            if hit_by:
                source = on[0][3]
                self._end(i, t_s, True, events, hit_by, source)
        if t_s >= self._next_adjust:
            self._next_adjust += self.cfg.adjust_every_s
            events.extend(self._adapt(t_s))
        return events

    def _aimed(self, rays) -> list[tuple[tuple, int]]:
        """For each ray, the alive target it passes through (nearest along the ray), if any."""
        out = []
        idx = np.flatnonzero(self.alive)
        if not len(idx):
            return out
        for ray in rays:
            origin, direction = ray[0], ray[1]
            rel = self.pos[idx] - origin
            along = rel @ direction
            perp = np.linalg.norm(rel - along[:, None] * direction, axis=1)
            ok = (along > 0.5) & (perp <= self.radius[idx])
            if ok.any():
                k = idx[ok][int(np.argmin(along[ok]))]
                out.append((ray, int(k)))
        return out

    def _spawn(self, glide_xy, glide_yaw_deg: float, t_s: float, events: list[Event]) -> None:
        free = np.flatnonzero(~self.alive & ~(self.hit_age < 1.0))
        if not len(free):
            return
        i = int(free[0])
        g, d, rng = self.game, self.difficulty, self.rng
        ahead = rng.uniform(*g.distance_m)
        side = rng.choice([-1.0, 1.0]) * rng.uniform(*LATERAL_M)
        h = np.radians(glide_yaw_deg)
        fwd = np.array([-np.sin(h), np.cos(h), 0.0])
        right = np.array([np.cos(h), np.sin(h), 0.0])
        self.pos[i] = np.array([glide_xy[0], glide_xy[1], 0.0]) + fwd * ahead + right * side
        self.pos[i, 2] = rng.uniform(*HEIGHT_M)
        drift = lerp(g.drift_easy_mps, g.drift_hard_mps, d)
        self.vel[i] = -np.sign(side) * right * drift * rng.uniform(0.5, 1.0)
        self.radius[i] = lerp(g.radius_easy_m, g.radius_hard_m, d)
        self.life[i] = lerp(g.life_easy_s, g.life_hard_s, d)
        self.age[i] = 0.0
        self.dwell[i] = 0.0
        self.kind[i] = int(rng.integers(0, 4))
        self.hit_age[i] = np.inf
        self.alive[i] = True
        self.serial[i] = self.next_serial
        self.next_serial += 1
        events.append(Event(t_s, "target_appeared", {"target": f"t{self.serial[i]}",
                                                     "position_m": [round(float(v), 2) for v in self.pos[i]],
                                                     "radius_m": round(float(self.radius[i]), 3)}))

    def _end(self, i: int, t_s: float, hit: bool, events: list[Event], how: str, source: str = "") -> None:
        self.alive[i] = False
        self.dwell[i] = 0.0
        self.outcomes.append((t_s, hit))
        name = f"t{self.serial[i]}"
        if hit:
            self.hits += 1
            self.score += 10 + int(round(10 * self.difficulty))
            self.hit_age[i] = 0.0
            events.append(Event(t_s, "hit", {"target": name, "by": how, "aim": source, "score": self.score,
                                             "difficulty": round(self.difficulty, 3),
                                             "position_m": [round(float(v), 2) for v in self.pos[i]]}))
        else:
            self.misses += 1
            events.append(Event(t_s, "target_missed", {"target": name, "difficulty": round(self.difficulty, 3)}))

    def hit_rate(self, t_s: float) -> float | None:
        while self.outcomes and self.outcomes[0][0] < t_s - self.cfg.window_s:
            self.outcomes.popleft()
        if not self.outcomes:
            return None
        return sum(h for _, h in self.outcomes) / len(self.outcomes)

    def _adapt(self, t_s: float) -> list[Event]:
        rate = self.hit_rate(t_s)
        if rate is None or len(self.outcomes) < 3:
            return []
        low, high = self.cfg.target_hit_rate
        before = self.difficulty
        if rate > high:
            self.difficulty = min(1.0, self.difficulty + self.cfg.step)
        elif rate < low:
            self.difficulty = max(0.0, self.difficulty - self.cfg.step)
        if self.difficulty == before:
            return []
        return [Event(t_s, "difficulty", {"difficulty": round(self.difficulty, 3), "hit_rate": round(rate, 3)})]

    def clear(self) -> None:
        self.alive[:] = False
        self.dwell[:] = 0.0
