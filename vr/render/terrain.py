"""The landscapes' ground as pure numpy: seeded smooth noise and the canyon's or reef's surface.

Offers ``Ground`` (height and colour of the surface at any (s, u)), ``Waves`` (the seeded noise it
is made of, periodic over one glide wavelength so tiles join), ``smoothstep`` and ``grid_tris``
(triangles of a vertex grid). No Panda3D here: ``vr.render.landscape`` turns these arrays into
nodes. Frames: the session's (metres, Z up, +Y forward); ``s`` is the distance along the glide's
path, ``u`` the signed distance to its right (metres).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vr.sim.glide import WAVELENGTH_M

if TYPE_CHECKING:
    from vr.config.scene import LandscapeConfig

REEF_RGB = np.array([(0.86, 0.46, 0.60), (0.93, 0.58, 0.36), (0.58, 0.42, 0.78), (0.84, 0.74, 0.38),
                     (0.38, 0.58, 0.40), (0.80, 0.40, 0.42)])   # coral and algae covering the reef's rock


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, float) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)



def grid_tris(rows: int, cols: int) -> np.ndarray:
    """Triangles of a rows x cols vertex grid (row-major), counter-clockwise seen from +Z when rows
    run along +Y and columns along +X."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    return np.concatenate([np.stack([a, a + 1, a + cols + 1], -1), np.stack([a, a + cols + 1, a + cols], -1)])



class Waves:
    """Seeded smooth noise: a sum of waves, periodic in ``s`` over one wavelength (so tiles join)."""

    def __init__(self, rng: np.random.Generator, n: int, k: tuple[int, int], u_per_m: float, amp: float) -> None:
        self.k = rng.integers(k[0], k[1] + 1, n).astype(float)
        self.w = rng.uniform(-u_per_m, u_per_m, n)
        self.phi = rng.uniform(0.0, 2.0 * np.pi, n)
        self.a = amp * math.sqrt(2.0 / n) * np.sqrt(k[0] / self.k)

    def __call__(self, s: np.ndarray, u: np.ndarray | float = 0.0) -> np.ndarray:
        s, u = np.asarray(s, float)[..., None], np.asarray(u, float)[..., None]
        return (self.a * np.sin(2.0 * np.pi * self.k * s / WAVELENGTH_M + self.w * u + self.phi)).sum(-1)


class Ground:
    """The landscape's surface: height (metres above the path's level) and colour at (s, u)."""

    def __init__(self, cfg: LandscapeConfig, rng: np.random.Generator) -> None:
        self.cfg, self.canyon = cfg, cfg.type == "canyon"
        self.half_w = cfg.width_m / 2
        self.run_m = cfg.wall_height_m * (0.55 if self.canyon else 1.1)   # how far out the wall reaches
        self.river_half = float(np.clip(0.15 * cfg.width_m, 1.5, 3.0))
        self.edge = [Waves(rng, 6, (2, 9), 0.0, 0.8) for _ in range(2)]
        self.ledge = [Waves(rng, 5, (3, 12), 0.0, 0.12) for _ in range(2)]
        self.tops = Waves(rng, 8, (2, 10), 0.05, 0.10)
        self.rough = Waves(rng, 24, (6, 40), 0.6, 0.6 if self.canyon else 0.7)
        self.fine = Waves(rng, 16, (20, 60), 1.2, 0.25)
        self.patch = Waves(rng, 12, (4, 24), 0.35, 1.0)

    def columns(self) -> np.ndarray:
        """Lateral positions of the grid's columns (metres, symmetric about the path)."""
        hw, run, rh = self.half_w, self.run_m, self.river_half
        river = [np.linspace(0.0, rh - 0.45, 3), [rh - 0.05, rh + 0.5], np.arange(rh + 1.4, hw - 1.6, 1.1)]
        floor = np.concatenate(river) if self.canyon else np.arange(0.0, hw - 1.6, 0.8)
        wall = np.arange(hw - 1.6, hw + run + 2.5, 0.5 if self.canyon else 0.9)
        half = np.concatenate([floor, wall, hw + run + np.array([6.0, 14.0, 26.0])])
        return np.concatenate([-half[:0:-1], half])

    def height(self, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        s, u = np.broadcast_arrays(np.asarray(s, float), np.asarray(u, float))
        a, right, hw, run = np.abs(u), u >= 0, self.half_w, self.run_m
        d = a - hw - np.where(right, self.edge[0](s), self.edge[1](s))     # beyond the wall's foot
        t = np.clip(d / run, 0.0, 1.0)
        top = self.cfg.wall_height_m * (1.0 + self.tops(s, u))
        wall_w, far = smoothstep(0.0, 0.12, t), smoothstep(run, run + 20.0, d)
        if self.canyon:     # three cliffs with snowy ledges between, a snowbank at the foot, river banks
            x = t * 3.0
            k = np.floor(np.minimum(x, 2.999))
            q = 0.62 + np.where(right, self.ledge[0](s), self.ledge[1](s))
            z = 0.3 * smoothstep(self.river_half - 0.45, self.river_half + 0.5, a) + 0.9 * smoothstep(-4.5, 0.5, d)
            z = z + 0.3 * self.fine(s, u) * smoothstep(self.river_half + 0.5, self.river_half + 2.5, a)
            z = z + top * (k + smoothstep(0, 1, (x - k) / q)) / 3
            return z + wall_w * self.rough(s, u) * (1.0 + 2.0 * t) + far * 4.0 * self.patch(s, u)
        ripple = 0.06 * np.sin(2 * np.pi * (0.46 * u + 42.0 * s / WAVELENGTH_M) + 0.8 * np.sin(0.4 * u))
        z = ripple * (1.0 - wall_w) + 0.25 * self.patch(s, u) + top * smoothstep(0.0, 1.0, t) ** 0.8
        return z + smoothstep(-1.0, 2.0, d) * 1.3 * self.rough(s, u) * (1.0 + 0.5 * t) + far * 2.0 * self.patch(s, u)

    def colors(self, s: np.ndarray, u: np.ndarray, z: np.ndarray, nz: np.ndarray) -> np.ndarray:
        """Vertex colours (..., 3): snow or sand where flat, rock where steep, ice on the river,
        coral and algae on the reef's rock."""
        c = self.cfg
        ground, rock, vary = np.asarray(c.ground_rgb), np.asarray(c.wall_rgb), self.fine(s, u)[..., None]
        if self.canyon:
            band = np.sin(1.15 * z + 2.5 * self.patch(s, u))[..., None]
            snow = smoothstep(0.52, 0.75, nz)[..., None]
            out = rock * (0.84 + 0.16 * band + np.array([0.04, 0.0, -0.04]) * band) * (1.0 + 0.3 * vary) * (1 - snow)
            out = out + ground * (0.985 + 0.06 * vary) * snow
            ice = (1.0 - smoothstep(self.river_half - 0.45, self.river_half - 0.05, np.abs(u)))[..., None]
            return out * (1 - ice) + (np.asarray(c.water_rgb) * (1.0 + 0.08 * self.patch(s, u)[..., None]) * 0.85
                                      + 0.15) * ice
        cover = 0.6 * smoothstep(-0.3, 0.4, self.fine(s, u) + 0.5 * self.patch(s, u))[..., None]
        pick = np.floor(self.fine(s, u + 40.0) * 4.0 + 12.0).astype(int) % len(REEF_RGB)
        rocky = rock * (1.0 + 0.3 * vary) * (1 - cover) + REEF_RGB[pick] * (0.9 + 0.25 * vary) * cover
        sandy = (smoothstep(0.75, 0.92, nz) * (1.0 - smoothstep(0.5, 2.5, z)))[..., None]
        return rocky * (1 - sandy) + ground * (0.95 + 0.12 * vary + 0.1 * np.sin(6.0 * z)[..., None]) * sandy

