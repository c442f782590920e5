"""Where the virtual humans are: places, walking along scene paths, facing, personal space.

Vectorised over all human slots (numpy arrays of length N). A slot is one person for the whole
session (same seed, same looks); steps decide which slots are present and where.

Guarantees, re-established at the end of every update:
- no present human is closer than ``min_distance_m`` to the patient's head (floor plane);
- a walking human never moves into another's personal space (it waits instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vr.config import SceneConfig, expand_spawns
from vr.sim.mathutil import forward_xy, wrap_deg

SEPARATION_M = 0.5          # shoulder to shoulder; two humans' centres never come closer while walking
WAIT_S = 0.5                # a walker that had to give way waits this long before trying again
TURN_RATE_DPS = 120.0       # body turning speed
SIT_FACING_DEG = 20.0       # a walker sits down once turned this near its seat's heading
SIT_FRONT_M = 0.3           # ... having stopped this far short of the seat, in front of it, to sit back onto it
TABLE_STEP_M = 0.05         # resolution of the path look-up table used to find target points

POSTURE_STANDING, POSTURE_WALKING, POSTURE_SEATED = 0, 1, 2
_OFF_X = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])   # the nine grid cells around a point
_OFF_Y = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])


@dataclass(frozen=True)
class Places:
    """The scene's places for humans as padded arrays (P places, K points at most)."""

    ids: tuple[str, ...]
    points: np.ndarray        # (P, K, 2), padded by repeating the last point
    cum_m: np.ndarray         # (P, K) arc length at each point
    length_m: np.ndarray      # (P,)
    seated: np.ndarray        # (P,) bool: sits there from the start
    sits: np.ndarray          # (P,) bool: walks in, then sits at its path's end
    yaw_deg: np.ndarray       # (P,) NaN = face the patient
    tables: tuple[tuple[np.ndarray, np.ndarray], ...]  # per place: (s samples, distance to patient)

    @classmethod
    def from_scene(cls, scene: SceneConfig) -> Places:
        spawns = expand_spawns(scene)
        k = max((len(s.path_m) for s in spawns), default=1)
        p = len(spawns)
        pts = np.zeros((p, k, 2))
        for i, s in enumerate(spawns):
            path = np.asarray(s.path_m, dtype=np.float64)
            pts[i, : len(path)] = path
            pts[i, len(path):] = path[-1]
        seg = np.linalg.norm(np.diff(pts, axis=1), axis=2) if k > 1 else np.zeros((p, 0))
        cum = np.concatenate([np.zeros((p, 1)), np.cumsum(seg, axis=1)], axis=1)
        patient = np.asarray(scene.patient.position_m, dtype=np.float64)
        tables = []
        for i in range(p):
            length = cum[i, -1]
            s = np.linspace(0.0, length, max(2, int(np.ceil(length / TABLE_STEP_M)) + 1))
            xy = _along(pts[i : i + 1].repeat(len(s), 0), cum[i : i + 1].repeat(len(s), 0), s)
            tables.append((s, np.linalg.norm(xy - patient, axis=1)))
        yaw = np.array([np.nan if s.yaw_deg is None else s.yaw_deg for s in spawns], dtype=np.float64)
        return cls(tuple(s.id for s in spawns), pts, cum, cum[:, -1].copy(),
                   np.array([s.seated for s in spawns], dtype=bool),
                   np.array([s.sits_at_end for s in spawns], dtype=bool), yaw, tuple(tables))

    def target_s(self, place: int, distance_m: float) -> float:
        """Arc length where the path first comes within ``distance_m`` of the patient's place."""
        s, d = self.tables[place]
        inside = np.nonzero(d <= distance_m)[0]
        return float(s[inside[0]]) if len(inside) else float(s[-1])

    def closest_m(self, place: int) -> float:
        return float(self.tables[place][1].min())


def _along(points: np.ndarray, cum: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Points at arc length ``s`` on padded polylines (rows of ``points``/``cum``)."""
    k = points.shape[1]
    if k == 1:
        return points[:, 0, :].copy()
    seg = np.minimum((cum[:, 1:-1] <= s[:, None]).sum(axis=1), k - 2)  # interior breakpoints passed
    rows = np.arange(len(s))
    c0, c1 = cum[rows, seg], cum[rows, seg + 1]
    span = c1 - c0
    t = np.where(span > 1e-9, (s - c0) / np.where(span > 1e-9, span, 1.0), 0.0)
    p0, p1 = points[rows, seg], points[rows, seg + 1]
    return p0 + (p1 - p0) * np.clip(t, 0.0, 1.0)[:, None]


class Crowd:
    """Positions, speeds and body headings of N human slots."""

    def __init__(self, places: Places, n_slots: int, rng: np.random.Generator) -> None:
        self.places = places
        n = n_slots
        self.n = n
        self.place = np.full(n, -1, dtype=np.int64)       # index into places, -1 absent
        self.present = np.zeros(n, dtype=bool)
        self.s = np.zeros(n)
        self.v = np.zeros(n)
        self.target_s = np.zeros(n)
        self.wait_left = np.zeros(n)
        self.pos = np.zeros((n, 2))
        self.body_yaw = np.zeros(n)
        self.posture = np.zeros(n, dtype=np.int8)
        self.seated = np.zeros(n, dtype=bool)          # per slot, from its place (or once it sat down)
        self.sits = np.zeros(n, dtype=bool)            # per slot: its place is a seat it walks to
        self.fixed_yaw = np.full(n, np.nan)           # per slot: seat heading, NaN faces the patient
        # A fixed, seeded preference per place so that seats at similar distances fill in a
        # natural scatter rather than strictly left to right.
        self._jitter = rng.uniform(0.0, 0.6, size=len(places.ids))
        self._closest = np.array([places.closest_m(i) for i in range(len(places.ids))])

    def choose_places(self, count: int, distance_m: float) -> np.ndarray:
        """The ``count`` places that best suit ``distance_m``: seats nearest that distance, walkers able to reach it."""
        pl = self.places
        seat = pl.seated | pl.sits
        err = np.where(seat, np.abs(self._closest - distance_m), np.maximum(self._closest - distance_m, 0.0))
        order = np.lexsort((np.arange(len(err)), err + self._jitter))
        return order[:count]

    def assign(self, count: int, distance_m: float, min_distance_m: float) -> tuple[list[int], list[int]]:
        """Fill ``count`` places for a step; returns (slots that arrived, slots that left)."""
        chosen = self.choose_places(min(count, len(self.places.ids), self.n), distance_m)
        chosen_set = set(int(c) for c in chosen)
        left = [int(i) for i in np.nonzero(self.present)[0] if int(self.place[i]) not in chosen_set]
        for i in left:
            self.present[i] = False
            self.place[i] = -1
            self.v[i] = 0.0
        kept = {int(self.place[i]) for i in np.nonzero(self.present)[0]}
        free = [i for i in range(self.n) if not self.present[i]]
        arrived = []
        for place in (int(c) for c in chosen):
            if place in kept:
                continue
            slot = free.pop(0)
            self.place[slot], self.present[slot] = place, True
            self.s[slot], self.v[slot] = 0.0, 0.0
            arrived.append(slot)
        self.retarget(distance_m, min_distance_m)
        idx = np.nonzero(self.present)[0]
        if len(arrived):
            a = np.asarray(arrived)
            self.pos[a] = self.places.points[self.place[a], 0]
            self.body_yaw[a] = np.where(np.isnan(self.places.yaw_deg[self.place[a]]), 0.0,
                                        self.places.yaw_deg[self.place[a]])
        stays = self.seated & self.sits & self.present    # sat down in an earlier step: stays seated
        stays[arrived] = False
        self.seated[:] = False
        self.fixed_yaw[:] = np.nan
        self.sits[:] = False
        self.seated[idx] = self.places.seated[self.place[idx]]
        self.sits[idx] = self.places.sits[self.place[idx]]
        self.seated |= stays
        self.fixed_yaw[idx] = self.places.yaw_deg[self.place[idx]]
        self.fixed_yaw[self.sits & ~self.seated] = np.nan   # walking to the seat: faces the patient at rest
        self.posture = np.where(self.seated, POSTURE_SEATED, POSTURE_STANDING).astype(np.int8)
        return arrived, left

    def retarget(self, distance_m: float, min_distance_m: float) -> None:
        """Where along its path each present walker should stop for this distance."""
        want = max(distance_m, min_distance_m)
        for i in np.nonzero(self.present)[0]:
            place = int(self.place[i])
            if not self.places.sits[place]:
                self.target_s[i] = self.places.target_s(place, want)
                continue
            # A seat's walker goes to just in front of the seat, whatever the distance, unless its
            # way there comes inside the minimum distance: then it stops there and stays standing.
            s_ok, length = self.places.target_s(place, min_distance_m), float(self.places.length_m[place])
            front = max(length - SIT_FRONT_M, 0.0)
            self.target_s[i] = front if s_ok >= length - 1e-6 else min(s_ok, front)

    def update(self, dt_s: float, head_xy: np.ndarray, speed_mps: float, accel_mps2: float,
               min_distance_m: float, moving_allowed: bool) -> np.ndarray:
        """Walk, keep personal space, keep out of the patient's space, turn to face.

        Returns every slot's floor distance to the patient's head (metres).
        """
        present = self.present
        moving = np.zeros(self.n, dtype=bool)
        walk_yaw = self.body_yaw
        self.wait_left -= dt_s
        busy = present & ~self.seated & (self.wait_left <= 0.0) & (
            (np.abs(self.target_s - self.s) > 0.005) | (self.v != 0.0))
        walkers = np.flatnonzero(busy)
        if len(walkers) and moving_allowed:
            old_xy = self.pos[walkers]
            err = self.target_s[walkers] - self.s[walkers]
            # Fastest speed from which the human can still stop at the target (v^2 = 2 a d).
            v_des = np.sign(err) * np.minimum(speed_mps, np.sqrt(2.0 * accel_mps2 * np.abs(err)))
            v_des[np.abs(err) < 0.005] = 0.0
            dv = accel_mps2 * dt_s
            v = self.v[walkers] + np.minimum(np.maximum(v_des - self.v[walkers], -dv), dv)
            place = self.place[walkers]
            s_new = np.minimum(np.maximum(self.s[walkers] + v * dt_s, 0.0), self.places.length_m[place])
            new_xy = _along(self.places.points[place], self.places.cum_m[place], s_new)
            moved = np.abs(s_new - self.s[walkers]) > 1e-9
            blocked = self._blocked(walkers, new_xy, moved)
            v[blocked] = 0.0
            self.wait_left[walkers[blocked]] = WAIT_S
            s_new[blocked] = self.s[walkers][blocked]
            new_xy[blocked] = old_xy[blocked]
            self.v[walkers], self.s[walkers], self.pos[walkers] = v, s_new, new_xy
            moving[walkers] = (np.abs(v) > 0.02) & ~blocked
            step = new_xy - old_xy
            walk_yaw = self.body_yaw.copy()
            walk_yaw[walkers] = np.degrees(np.arctan2(-step[:, 0], step[:, 1]))
        elif len(walkers):
            self.v[walkers] = 0.0
        delta = self.pos - head_xy
        dist = np.hypot(delta[:, 0], delta[:, 1])
        inside = np.flatnonzero(present & (dist < min_distance_m))
        if len(inside):
            # Push straight back out; a human exactly at the head goes back along its own heading.
            d = dist[inside, None]
            away = np.where(d > 1e-6, delta[inside] / np.maximum(d, 1e-9), -forward_xy(self.body_yaw[inside]))
            self.pos[inside] = head_xy + away * (min_distance_m + 1e-6)
            self.v[inside] = np.minimum(self.v[inside], 0.0)
            dist[inside] = min_distance_m + 1e-6
            delta = self.pos - head_xy
        self._sit_down(present & ~moving)
        self.posture = np.where(self.seated, POSTURE_SEATED, np.where(moving, POSTURE_WALKING,
                                                                      POSTURE_STANDING)).astype(np.int8)
        # Face the way of walking; at rest face the patient (or the seat's own direction).
        face_yaw = np.degrees(np.arctan2(delta[:, 0], -delta[:, 1]))
        target = np.where(moving, walk_yaw, np.where(np.isnan(self.fixed_yaw), face_yaw, self.fixed_yaw))
        turn = TURN_RATE_DPS * dt_s
        change = np.minimum(np.maximum(wrap_deg(target - self.body_yaw), -turn), turn)
        self.body_yaw = np.where(present, wrap_deg(self.body_yaw + change), self.body_yaw)
        return dist

    def _sit_down(self, still: np.ndarray) -> None:
        """A seat's walker stopped in front of its seat turns to the seat's heading, then sits on it
        (seated from the next step on, its place the seat's point)."""
        at_seat = still & self.sits & ~self.seated & (self.v == 0.0)
        if not at_seat.any():
            return
        length = self.places.length_m[self.place[at_seat]]
        front = np.maximum(length - SIT_FRONT_M, 0.0)
        at_seat[at_seat] = (np.abs(self.s[at_seat] - front) < 0.005) & (np.abs(self.target_s[at_seat] - front) < 1e-6)
        i = np.flatnonzero(at_seat)
        yaw = self.places.yaw_deg[self.place[i]]
        self.fixed_yaw[i] = yaw
        facing = np.isnan(yaw) | (np.abs(wrap_deg(np.nan_to_num(yaw) - self.body_yaw[i])) < SIT_FACING_DEG)
        i = i[facing]                     # turned to the seat: sits back onto it (the renderer eases the move)
        self.seated[i] = True
        self.s[i] = self.places.length_m[self.place[i]]
        self.pos[i] = self.places.points[self.place[i], -1]

    def _near_pairs(self, walkers: np.ndarray, new_xy: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """(walker row, other slot) pairs whose cells touch: a grid look-up, no walkers x humans matrix.

        Present humans are bucketed in ``reach``-sized cells and sorted by cell; each walker's nine
        neighbouring cells are found with a binary search. Work and memory grow with the number of
        humans actually nearby, which keeps large crowds cheap.
        """
        others = np.flatnonzero(self.present)
        span = 1 << 20
        cell = np.floor(self.pos[others] / reach).astype(np.int64) + span // 2
        key = cell[:, 0] * span + cell[:, 1]
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        wcell = np.floor(new_xy / reach).astype(np.int64) + span // 2
        query = ((wcell[:, 0, None] + _OFF_X) * span + (wcell[:, 1, None] + _OFF_Y)).ravel()
        lo = np.searchsorted(sorted_key, query, "left")
        count = np.searchsorted(sorted_key, query, "right") - lo
        total = int(count.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        first = np.cumsum(count) - count
        at = np.arange(total) - np.repeat(first, count) + np.repeat(lo, count)
        rows = np.repeat(np.arange(len(query)) // 9, count)
        slots = others[order[at]]
        keep = slots != walkers[rows]
        return rows[keep], slots[keep]

    def _blocked(self, walkers: np.ndarray, new_xy: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Walkers whose step would enter someone's personal space (lower slot numbers go first)."""
        blocked = np.zeros(len(walkers), dtype=bool)
        if not moved.any() or np.count_nonzero(self.present) < 2:
            return blocked
        near_w, j = self._near_pairs(walkers, new_xy, SEPARATION_M + 0.1)
        if len(near_w) == 0:
            return blocked
        slot_to_walker = np.full(self.n, -1)
        slot_to_walker[walkers] = np.arange(len(walkers))
        jw = slot_to_walker[j]                       # -1 where the other human is not walking now
        jw0 = np.maximum(jw, 0)
        old_i, old_j = self.pos[walkers[near_w]], self.pos[j]
        d_old = np.hypot(old_i[:, 0] - old_j[:, 0], old_i[:, 1] - old_j[:, 1])
        lower = j < walkers[near_w]
        # Each round only adds walkers that must wait, so this settles in at most len(walkers) rounds.
        for _ in range(len(walkers)):
            stays = ~moved | blocked
            cand_i = np.where(stays[near_w, None], old_i, new_xy[near_w])
            j_moves = (jw >= 0) & ~stays[jw0]
            cand_j = np.where(j_moves[:, None], new_xy[jw0], old_j)
            d_new = np.hypot(cand_i[:, 0] - cand_j[:, 0], cand_i[:, 1] - cand_j[:, 1])
            # Give way to lower-numbered slots and to anyone standing still.
            conflict = (d_new < SEPARATION_M) & (d_new < d_old - 1e-9) & (lower | ~j_moves) & ~stays[near_w]
            if not conflict.any():
                break
            blocked[near_w[conflict]] = True
        return blocked
        others = np.flatnonzero(self.present)
        reach = SEPARATION_M + 0.1
        ox, oy = self.pos[others, 0], self.pos[others, 1]
        dx = new_xy[:, 0, None] - ox[None, :]
        dy = new_xy[:, 1, None] - oy[None, :]
        near_w, near_o = np.nonzero(dx * dx + dy * dy < reach * reach)
        j = others[near_o]
        keep = j != walkers[near_w]
        near_w, j = near_w[keep], j[keep]
        if len(near_w) == 0:
            return blocked
        slot_to_walker = np.full(self.n, -1)
        slot_to_walker[walkers] = np.arange(len(walkers))
        jw = slot_to_walker[j]                       # -1 where the other human is not walking now
        old_i, old_j = self.pos[walkers[near_w]], self.pos[j]
        d_old = np.hypot(*(old_i - old_j).T)
        lower = j < walkers[near_w]
        for _ in range(len(walkers)):
            stays = ~moved | blocked
            cand_i = np.where(stays[near_w, None], old_i, new_xy[near_w])
            j_moves = (jw >= 0) & ~stays[np.maximum(jw, 0)]
            cand_j = np.where(j_moves[:, None], new_xy[np.maximum(jw, 0)], old_j)
            d_new = np.hypot(*(cand_i - cand_j).T)
            # Give way to lower-numbered slots and to anyone standing still.
            conflict = (d_new < SEPARATION_M) & (d_new < d_old - 1e-9) & (lower | ~j_moves) & ~stays[near_w]
            if not conflict.any():
                break
            blocked[near_w[conflict]] = True
        return blocked
