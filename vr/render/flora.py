"""The landscapes' plants and rocks as meshes: pines with snow on their tiers, corals, kelp.

Offers ``ColorMesh`` (a ``vr.render.geom.Mesh`` with one colour per vertex) and the builders
``cone``, ``pine``, ``coral`` and ``kelp``, each adding one seeded plant to a mesh at a 4x4
placement (metres, Z up). ``vr.render.landscape`` places them along the glide.
"""

from __future__ import annotations

import numpy as np

from vr.render.geom import Mesh, rot_x, rot_y, rot_z, translate

CORAL_RGB = ((1.0, 0.42, 0.62), (1.0, 0.55, 0.22), (0.68, 0.36, 0.88), (1.0, 0.84, 0.28), (0.96, 0.3, 0.34),
             (1.0, 0.62, 0.52), (0.35, 0.85, 0.75))


class ColorMesh(Mesh):
    """A ``Mesh`` that also takes one colour per vertex (terrain, gradients, glows)."""

    def add_rgba(self, pos: np.ndarray, normal: np.ndarray, tris: np.ndarray, rgba: np.ndarray) -> ColorMesh:
        """Vertices (n, 3), normals (n, 3), triangles (m, 3) and colours (n, 3 or 4, 0-1)."""
        self.add(pos, normal, tris, (1.0, 1.0, 1.0, 1.0))
        rgba = np.asarray(rgba, float)
        self._verts[-1]["color"][:, :rgba.shape[1]] = np.clip(np.round(rgba * 255.0), 0, 255)
        return self



def cone(m: Mesh, radius: float, height: float, rgb, xform: np.ndarray, rng: np.random.Generator,
         segments: int = 9, jag: float = 0.0, base: bool = False) -> None:
    """An upright cone standing on the origin; ``jag`` roughens the rim's height (snow on a tier)."""
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)
    rim_z = rng.uniform(-jag, jag, segments + 1) * height
    rim_z[-1] = rim_z[0]
    ring = np.stack([radius * np.cos(phi), radius * np.sin(phi), rim_z], -1)
    ang = np.concatenate([phi, phi[:-1] + np.pi / segments])      # the apex once per side, for smooth sides
    pos = np.vstack([ring, np.tile([0.0, 0.0, height], (segments, 1))])
    normal = np.stack([height * np.cos(ang), height * np.sin(ang), np.full(len(ang), radius)], -1)
    i = np.arange(segments)
    m.add(pos, normal / np.linalg.norm(normal, axis=1, keepdims=True), np.stack([i, i + 1, segments + 1 + i], -1),
          rgb, xform)
    if base:
        m.add(ring, np.tile([0.0, 0.0, -1.0], (len(ring), 1)), np.stack([0 * i[1:], i[1:] + 1, i[1:]], -1),
              tuple(0.7 * c for c in rgb), xform)


def pine(m: Mesh, x: np.ndarray, height: float, rng: np.random.Generator) -> None:
    """A pine with snow on its tiers, standing on ``x``'s origin (a 4x4 placement)."""
    green = tuple(np.array([0.12, 0.28, 0.19]) * rng.uniform(0.8, 1.15))
    m.tube(0.05 * height, 0.06 * height, 0.3 * height, (0.36, 0.25, 0.17), x @ translate(0, 0, 0.25 * height),
           segments=6, rings=2)
    for k in range(4):
        zb, th, r = height * (0.14 + 0.2 * k), height * (0.4 - 0.05 * k), height * (0.27 - 0.05 * k)
        turn = x @ translate(0, 0, zb) @ rot_z(rng.uniform(0, 360))
        cone(m, r, th, green, turn, rng, base=True)
        cone(m, 0.56 * r, 0.5 * th, (0.95, 0.97, 1.0), turn @ translate(0, 0, 0.52 * th), rng, jag=0.08)


def coral(m: Mesh, x: np.ndarray, size: float, rng: np.random.Generator) -> None:
    """One coral: branching, brain, fans, tube sponges or a table, in a warm reef colour."""
    rgb = CORAL_RGB[int(rng.integers(len(CORAL_RGB)))]
    light = tuple(min(1.0, 0.35 + 0.75 * c) for c in rgb)
    kind = int(rng.choice(5, p=(0.32, 0.2, 0.18, 0.17, 0.13)))
    if kind == 0:
        for _ in range(int(rng.integers(5, 9))):
            b, length = x @ rot_z(rng.uniform(0, 360)) @ rot_y(rng.uniform(8, 50)), size * rng.uniform(0.5, 1.1)
            m.tube(0.07 * size, 0.045 * size, length, rgb, b @ rot_x(180), segments=6, rings=0)
            m.ellipsoid((0.06 * size,) * 3, light, b @ translate(0, 0, length), segments=5, rings=3)
    elif kind == 1:
        for _ in range(int(rng.integers(1, 4))):
            r = size * rng.uniform(0.3, 0.6)
            m.ellipsoid((r, r * 0.9, r * 0.7), rgb, x @ translate(*rng.uniform(-0.4, 0.4, 2) * size, 0),
                        segments=10, rings=5, z_range=(-0.2, 1.0))
    elif kind == 2:
        for _ in range(2):
            m.ellipsoid((0.7 * size, 0.04, 0.6 * size), rgb, x @ rot_z(rng.uniform(0, 180)) @
                        translate(0, 0, 0.62 * size), segments=10, rings=6)
        m.tube(0.05, 0.05, 0.2 * size, light, x @ translate(0, 0, 0.2 * size), segments=5, rings=2)
    elif kind == 3:
        for _ in range(int(rng.integers(3, 6))):
            r, length = size * rng.uniform(0.1, 0.16), size * rng.uniform(0.5, 1.2)
            t = x @ translate(*rng.uniform(-0.3, 0.3, 2) * size, 0) @ rot_y(rng.uniform(-12, 12))
            m.tube(r * 1.15, r, length, rgb, t @ rot_x(180), segments=7, rings=0, cap=0.05)
            m.disc(r * 0.8, tuple(0.35 * c for c in rgb), t @ translate(0, 0, length + 0.005) @ rot_x(-90), 8)
    else:
        m.tube(0.06 * size, 0.09 * size, 0.5 * size, rgb, x @ translate(0, 0, 0.5 * size), segments=6, rings=2)
        m.ellipsoid((0.9 * size, 0.85 * size, 0.1 * size), light, x @ translate(0, 0, 0.55 * size), segments=14,
                    rings=5)


def kelp(m: Mesh, x: np.ndarray, height: float, rng: np.random.Generator) -> None:
    """A kelp strand: a thin stalk with leaves, bending gently as it rises."""
    olive, seg = tuple(np.array([0.40, 0.50, 0.18]) * rng.uniform(0.85, 1.2)), height / 3
    for _ in range(3):
        x = x @ rot_y(rng.uniform(-9, 9)) @ rot_x(rng.uniform(-9, 9))
        m.tube(0.04, 0.03, seg, olive, x @ rot_x(180), segments=5, rings=0)
        for side in (-1, 1):
            m.ellipsoid((0.05, 0.16, 0.42), olive, x @ translate(0, 0.14 * side, seg * 0.55) @ rot_x(-28 * side),
                        segments=5, rings=3)
        x = x @ translate(0, 0, seg)

