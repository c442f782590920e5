"""The slow glide through a distraction scene, with its comfort limits enforced step by step.

The path is fixed by the scene's length scale: the heading swings gently left and right with
distance travelled (``heading_deg(s)``), so the renderer can lay the canyon or the reef along the
same curve. The core moves along it at the profile's speed, never accelerating faster than
``max_accel_mps2`` and never turning faster than ``max_turn_deg_s``; when the path would turn
faster at the current speed, the speed is lowered instead (comfort before schedule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SWING_DEG = 18.0          # the path's heading swings this far either side
WAVELENGTH_M = 160.0      # over this distance


def heading_deg(s_m: float) -> float:
    """The path's heading (degrees, Panda3D convention: 0 faces +Y) after ``s_m`` metres."""
    return SWING_DEG * math.sin(2.0 * math.pi * s_m / WAVELENGTH_M)


def heading_rate_deg_per_m(s_m: float) -> float:
    return SWING_DEG * 2.0 * math.pi / WAVELENGTH_M * math.cos(2.0 * math.pi * s_m / WAVELENGTH_M)


def path_points(length_m: float, step_m: float = 1.0) -> list[tuple[float, float, float]]:
    """(x, y, heading_deg) every ``step_m`` along the path from the origin (for building scenery)."""
    out = [(0.0, 0.0, heading_deg(0.0))]
    x = y = 0.0
    s = 0.0
    while s < length_m:
        h = math.radians(heading_deg(s + step_m / 2))
        x += -math.sin(h) * step_m
        y += math.cos(h) * step_m
        s += step_m
        out.append((x, y, heading_deg(s)))
    return out


@dataclass
class Glide:
    """Where the patient's seat is: distance along the path, position, heading, speed."""

    speed_mps: float
    max_accel_mps2: float
    max_turn_deg_s: float
    s_m: float = 0.0
    x_m: float = 0.0
    y_m: float = 0.0
    v_mps: float = 0.0
    yaw_deg: float = 0.0
    last_accel_mps2: float = 0.0
    last_turn_deg_s: float = 0.0

    def step(self, dt_s: float, moving: bool) -> None:
        """Advance ``dt_s`` seconds; ``moving`` False brings the glide smoothly to a stop (pause)."""
        want = self.speed_mps if moving else 0.0
        # The path may not turn faster than allowed at this speed: slow down where it bends.
        rate = abs(heading_rate_deg_per_m(self.s_m))
        if rate > 1e-9:
            want = min(want, self.max_turn_deg_s * 0.95 / rate)
        dv = max(-self.max_accel_mps2 * dt_s, min(self.max_accel_mps2 * dt_s, want - self.v_mps))
        self.v_mps = max(0.0, self.v_mps + dv)
        self.last_accel_mps2 = dv / dt_s
        ds = self.v_mps * dt_s
        before = self.yaw_deg
        h = math.radians(heading_deg(self.s_m + ds / 2))
        self.x_m += -math.sin(h) * ds
        self.y_m += math.cos(h) * ds
        self.s_m += ds
        self.yaw_deg = heading_deg(self.s_m)
        self.last_turn_deg_s = (self.yaw_deg - before) / dt_s
