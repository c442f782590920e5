"""The distraction scenes' landscapes: a snowy river canyon or a coral reef, laid along the glide.

The glide's path (``vr.sim.glide``) is periodic: after each ``WAVELENGTH_M`` its heading is back
to 0 and the seat has moved on by a fixed vector (``tile_step_m``, along +Y). So the landscape is
built as tiles one wavelength long over a ground that repeats with the path (tiles join without a
seam): three tiles, each with its own trees or corals, built once and kept behind, under and
ahead of the rig. Frames: the session's (metres, Z up, +Y forward, headings in degrees, 0 facing
+Y); ``s`` is the distance along the path, ``u`` the signed distance to its right (metres).
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import CullBinEnums, CullBinManager, Fog, GeomNode, NodePath, OmniBoundingVolume, Shader, ShaderAttrib

from vr.config import SceneConfig
from vr.render.geom import Mesh, rot_x, rot_y, rot_z, translate
from vr.render.shading import lit_shader
from vr.sim.glide import WAVELENGTH_M, heading_deg, path_points

TILES = 3
FOG_DENSITY = 2.0          # exponential-squared haze: density x fog_m; at fog_m 98 % of a colour is haze
SKY_RADIUS_M = 150.0       # inside the camera's far plane (200 m)
SKY_RGB, SURFACE_RGB = (0.45, 0.64, 0.90), (0.30, 0.62, 0.70)
CLEAR_M = 2.2              # no snowflake or speck comes nearer the rig's axis than this
LAND_BIN, SKY_BIN = "vr-landscape", "vr-sky"
REEF_RGB = np.array([(0.86, 0.46, 0.60), (0.93, 0.58, 0.36), (0.58, 0.42, 0.78), (0.84, 0.74, 0.38),
                     (0.38, 0.58, 0.40), (0.80, 0.40, 0.42)])   # coral and algae covering the reef's rock
CORAL_RGB = ((1.0, 0.42, 0.62), (1.0, 0.55, 0.22), (0.68, 0.36, 0.88), (1.0, 0.84, 0.28), (0.96, 0.3, 0.34),
             (1.0, 0.62, 0.52), (0.35, 0.85, 0.75))
_LIT_OUT = "v_color = vec4(sqrt(clamp(base * light, 0.0, 1.0)), c.a);"
_FOG_OUT = ("float haze = p3d_Fog.density * length(pos);\n"
            "    v_color = vec4(mix(p3d_Fog.color.rgb, sqrt(clamp(base * light, 0.0, 1.0)), exp(-haze * haze)), c.a);")
_FOG_DECL = "uniform struct { vec4 color; float density; float start; float end; float scale; } p3d_Fog;\n"
_FOGGED: dict[int, Shader] = {}


def fogged_shader(lights: int) -> Shader:
    """The toolkit's per-vertex lit shader (``vr.render.shading``) with exponential-squared fog
    read from Panda3D's fog state; a node without fog is drawn unfogged (density 0)."""
    if lights not in _FOGGED:
        lit = lit_shader(lights)
        vert = lit.getText(Shader.ST_vertex)
        if _LIT_OUT not in vert or "out vec4 v_color;" not in vert:
            raise RuntimeError("vr.render.shading's vertex shader changed; update landscape.fogged_shader")
        vert = vert.replace("out vec4 v_color;", _FOG_DECL + "out vec4 v_color;").replace(_LIT_OUT, _FOG_OUT)
        _FOGGED[lights] = Shader.make(Shader.SL_GLSL, vert, lit.getText(Shader.ST_fragment))
    return _FOGGED[lights]


def unlit(node: NodePath) -> NodePath:
    """Draw ``node`` with Panda3D's fixed pipeline and no lights, whatever shader is set above it."""
    node.setAttrib(ShaderAttrib.makeOff(), 10)
    node.setLightOff(10)
    return node


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, float) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class ColorMesh(Mesh):
    """A ``Mesh`` that also takes one colour per vertex (terrain, gradients, glows)."""

    def add_rgba(self, pos: np.ndarray, normal: np.ndarray, tris: np.ndarray, rgba: np.ndarray) -> ColorMesh:
        """Vertices (n, 3), normals (n, 3), triangles (m, 3) and colours (n, 3 or 4, 0-1)."""
        self.add(pos, normal, tris, (1.0, 1.0, 1.0, 1.0))
        rgba = np.asarray(rgba, float)
        self._verts[-1]["color"][:, :rgba.shape[1]] = np.clip(np.round(rgba * 255.0), 0, 255)
        return self


def grid_tris(rows: int, cols: int) -> np.ndarray:
    """Triangles of a rows x cols vertex grid (row-major), counter-clockwise seen from +Z when rows
    run along +Y and columns along +X."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    return np.concatenate([np.stack([a, a + 1, a + cols + 1], -1), np.stack([a, a + cols + 1, a + cols], -1)])


def triangle_count(node: NodePath) -> int:
    """Triangles drawn under ``node``."""
    paths = [p for p in [node, *node.findAllMatches("**/+GeomNode")] if isinstance(p.node(), GeomNode)]
    return sum(g.getPrimitive(i).getNumFaces() for p in paths for g in p.node().getGeoms()
               for i in range(g.getNumPrimitives()))


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

    def __init__(self, cfg, rng: np.random.Generator) -> None:
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


def sky_dome(cfg, radius_m: float) -> GeomNode:
    """A sphere around the camera shading from the haze colour at the horizon to the sky (or the lit
    surface far above the reef) straight up."""
    fog, top = np.asarray(cfg.fog_rgb), np.array(SKY_RGB if cfg.type == "canyon" else SURFACE_RGB)
    stops = np.array([-90.0, -2.0, 0.0, 10.0, 35.0, 90.0])
    rgb = np.array([fog * (1.0 if cfg.type == "canyon" else 0.45), fog, fog, 0.6 * fog + 0.4 * top,
                    0.2 * fog + 0.8 * top, top])
    e, a = np.meshgrid(np.radians(np.linspace(-90.0, 90.0, 25)), np.linspace(0.0, 2 * np.pi, 25), indexing="ij")
    pos = radius_m * np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], -1).reshape(-1, 3)
    col = np.stack([np.interp(np.degrees(e).ravel(), stops, rgb[:, i]) for i in range(3)], -1)
    return ColorMesh().add_rgba(pos, -pos / radius_m, grid_tris(25, 25)[:, ::-1], col).node("sky")


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


def populate(m: Mesh, tile: NodePath, g: Ground, st: np.ndarray, step_m: float,
             rng: np.random.Generator) -> list[tuple[NodePath, float]]:
    """Trees and boulders (canyon) or corals and kelp (reef) of one tile into ``m``. Kelp patches
    sway, so each becomes its own node under ``tile``; returns (node, phase) for each."""
    cfg, hw, run = g.cfg, g.half_w, g.run_m

    def place(s: float, u: float, sink: float = 0.15) -> np.ndarray:
        i = min(int(s / step_m), len(st) - 2)
        xy = st[i, :2] + (st[i + 1, :2] - st[i, :2]) * (s / step_m - i)
        h = math.radians(heading_deg(s))
        return translate(xy[0] + u * math.cos(h), xy[1] + u * math.sin(h), float(g.height(s, u)) - sink) @ \
            rot_z(rng.uniform(0, 360))

    def spot(lo: float, hi: float, flat: bool = False) -> tuple[float, float] | None:
        for _ in range(30):
            s, u = rng.uniform(0.0, WAVELENGTH_M), rng.choice([-1.0, 1.0]) * rng.uniform(lo, hi)
            z = g.height(np.array([s, s, s - 0.5, s + 0.5]), np.array([u - 0.4, u + 0.4, u, u]))
            if not flat or (abs(z[1] - z[0]) < 0.35 and abs(z[3] - z[2]) < 0.35):
                return s, u
        return None

    if g.canyon:
        for k in range(cfg.plants):     # two in five on the ledges
            ledge = k % 5 >= 3
            at = spot(hw + 0.5, hw + run + 3.0, True) if ledge else spot(hw - 2.6, hw + 0.8, True)
            if at is not None:
                pine(m, place(*at, sink=0.3), rng.uniform(2.5, 5.0) if ledge else rng.uniform(3.5, 7.5), rng)
        for k in range(10):     # boulders by the walls, smaller ones on the river banks
            r = rng.uniform(0.5, 1.2) if k < 5 else rng.uniform(0.25, 0.5)
            x = place(*(spot(hw - 3.0, hw + 0.5) if k < 5 else spot(g.river_half + 0.6, g.river_half + 2.5)), 0.4 * r)
            m.ellipsoid((1.2 * r, 0.9 * r, 0.75 * r), tuple(np.asarray(cfg.wall_rgb) * 0.9), x, segments=10, rings=6)
            m.ellipsoid((1.15 * r, 0.86 * r, 0.8 * r), cfg.ground_rgb, x @ translate(0, 0, 0.06 * r), segments=10,
                        rings=4, z_range=(0.35, 1.0))
        return []
    for k in range(cfg.plants):          # clumps of one to three corals, some around a rock
        s0, u0 = spot(3.4, hw + 1.0) if k % 3 else spot(hw, hw + 0.4 * run)
        if rng.random() < 0.35:
            r = rng.uniform(0.5, 1.1)
            m.ellipsoid((1.3 * r, r, 0.7 * r), tuple(np.asarray(cfg.wall_rgb) * 1.1), place(s0, u0, 0.3 * r),
                        segments=10, rings=5)
        for _ in range(int(rng.integers(1, 4))):
            u = u0 + rng.uniform(-1.2, 1.2)
            if abs(u) > 2.8:      # the glide's lane stays clear
                coral(m, place(min(max(s0 + rng.uniform(-1.2, 1.2), 0.0), WAVELENGTH_M), u), rng.uniform(0.7, 1.8), rng)
    for _ in range(20):          # starfish on the sand
        x, rgb = place(*spot(0.8, 5.5), -0.02), CORAL_RGB[int(rng.integers(5))]
        for arm in range(5):
            m.ellipsoid((0.045, 0.13, 0.025), rgb, x @ rot_z(72 * arm) @ translate(0, 0.1, 0), segments=5, rings=2)
    sway = []
    for j in range(4):
        patch = ColorMesh()
        for _ in range(int(rng.integers(3, 5))):
            kelp(patch, translate(*rng.uniform(-1.2, 1.2, 2), -0.2), rng.uniform(3.0, 6.5), rng)
        node = tile.attachNewNode(patch.node(f"kelp-{j}"))
        node.setPos(*place(*spot(hw - 1.5, hw + 2.5))[:3, 3])
        sway.append((node, float(rng.uniform(0, 2 * np.pi))))
    return sway


class Drift:
    """Small specks (snowflakes, marine snow) drifting through a box that travels with the rig."""

    def __init__(self, parent: NodePath, rng: np.random.Generator, count: int, size_m: float,
                 box_m: tuple[float, float, float], velocity_mps: tuple[float, float, float],
                 wobble_m: float, rgba: tuple[float, float, float, float]) -> None:
        self.box = np.asarray(box_m, float)
        self.base = rng.uniform(0.0, 1.0, (count, 3)) * self.box
        self.vel = np.asarray(velocity_mps) * rng.uniform(0.7, 1.3, (count, 1))
        self.phase, self.wobble = rng.uniform(0.0, 2 * np.pi, (count, 2)), wobble_m
        octa = np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], float)
        self.offsets = octa * size_m * 0.5
        faces = np.array([(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)])
        tris = (faces[None] + 6 * np.arange(count)[:, None, None]).reshape(-1, 3)
        node = Mesh().add(np.zeros((6 * count, 3)), np.tile(octa, (count, 1)), tris, rgba).node("drift")
        node.setBounds(OmniBoundingVolume())
        node.setFinal(True)
        self.vdata = node.modifyGeom(0).modifyVertexData()     # positions are rewritten every frame
        self.stride = self.vdata.getArray(0).getArrayFormat().getStride()
        self.node = unlit(parent.attachNewNode(node))

    def update(self, center_m: tuple[float, float, float], t_s: float) -> None:
        origin = np.array([center_m[0] - self.box[0] / 2, center_m[1] - self.box[1] / 2, 0.0])
        p = self.base + self.vel * t_s
        p[:, :2] += self.wobble * np.sin(0.6 * t_s + self.phase)
        p = np.mod(p - origin, self.box) + origin
        rel = p[:, :2] - center_m[:2]
        near = np.hypot(rel[:, 0], rel[:, 1])
        p[:, :2] += rel * (np.maximum(CLEAR_M / np.maximum(near, 1e-3), 1.0) - 1.0)[:, None]
        size = np.clip(np.maximum(near, CLEAR_M) / 8.0, 0.35, 1.0)[:, None, None]   # no big flake by the eyes
        verts = (p[:, None, :] + self.offsets[None] * size).astype(np.float32).reshape(-1, 3)
        rows = np.frombuffer(memoryview(self.vdata.modifyArray(0)).cast("B"), np.uint8).reshape(-1, self.stride)
        rows[:, :12] = verts.view(np.uint8).reshape(-1, 12)      # the position column comes first


class LandscapeView:
    """The canyon or the reef of ``scene.landscape`` under ``parent``, following the rig."""

    def __init__(self, parent: NodePath, scene: SceneConfig, seed: int) -> None:
        if scene.landscape is None:
            raise ValueError(f"scene {scene.name!r} has no landscape")
        cfg, canyon = scene.landscape, scene.landscape.type == "canyon"
        manager = CullBinManager.getGlobalPtr()
        for name, kind, sort in ((LAND_BIN, CullBinEnums.BT_front_to_back, 19),
                                 (SKY_BIN, CullBinEnums.BT_unsorted, 27)):     # the sky after opaque things,
            if manager.findBin(name) < 0:                                     # so it fills only the sky
                manager.addBin(name, kind, sort)
        self.cfg, self.root = cfg, parent.attachNewNode(f"landscape-{cfg.type}")
        self.lights = max(1, sum(1 for light in scene.lights if light.type != "ambient"))
        rng = np.random.default_rng([int(seed), 0x1A4D])
        self.ground = Ground(cfg, rng)
        self.step_m = 1.6 if canyon else 1.25
        n = round(WAVELENGTH_M / self.step_m)
        pts = np.asarray(path_points(WAVELENGTH_M + 2 * self.step_m, self.step_m))[:n + 2]
        self.tile_step_m = (float(pts[n, 0]), float(pts[n, 1]))
        self._stations = np.vstack([pts[n - 1] - (*self.tile_step_m, 0.0), pts])     # s = -step .. L + step
        self.fog = Fog(f"{cfg.type}-haze")
        self.fog.setMode(Fog.MExponentialSquared)
        self.fog.setColor(*cfg.fog_rgb)
        self.fog.setExpDensity(FOG_DENSITY / cfg.fog_m)
        self.tiles: list[NodePath] = []
        self.sway: list[tuple[NodePath, float]] = []
        for j in range(TILES):
            self.tiles.append(self._tile(j, np.random.default_rng([int(seed), 0x711E, j])))
        self.triangles = [triangle_count(tile) for tile in self.tiles]
        self._placed: list[int | None] = [None] * TILES
        self.clear_color = (*(SKY_RGB if canyon else np.asarray(cfg.fog_rgb) * 0.5), 1.0)
        self.sky = unlit(self.root.attachNewNode(sky_dome(cfg, SKY_RADIUS_M)))
        self.sky.setFogOff(10)
        self.sky.setDepthWrite(False)
        self.sky.setBin(SKY_BIN, 0)
        self.drift = None if not cfg.snow else Drift(
            self.root, rng, 900 if canyon else 700, 0.06 if canyon else 0.035, (36.0, 36.0, 16.0 if canyon else 10.0),
            (0.25, 0.1, -0.55) if canyon else (0.06, 0.03, -0.04), 0.6 if canyon else 0.25,
            (1.0, 1.0, 1.0, 1.0) if canyon else (0.78, 0.9, 0.88, 1.0))
        self.apply_fog(self.root)
        self.update((0.0, 0.0, 0.0), 0.0, 0.0)

    def apply_fog(self, node: NodePath) -> None:
        """Haze ``node`` like the landscape: this fog, and the lit shader that draws it (it overrides
        ``vr.render.shading.apply_shading`` set above ``node``; unlit nodes get Panda3D's own fog)."""
        node.setFog(self.fog)
        node.setAttrib(ShaderAttrib.make(fogged_shader(self.lights)), 2)

    def _tile(self, j: int, rng: np.random.Generator) -> NodePath:
        """Tile slot ``j``: the ground of one wavelength and its plants as one GeomNode (and kelp)."""
        g, st = self.ground, self._stations
        u, s = g.columns(), (np.arange(len(st)) - 1) * self.step_m
        right = np.stack([np.cos(np.radians(st[:, 2])), np.sin(np.radians(st[:, 2]))], -1)
        pos = np.concatenate([st[:, None, :2] + u[None, :, None] * right[:, None, :],
                              g.height(s[:, None], u[None, :])[..., None]], -1)
        normal = np.cross(np.gradient(pos, axis=1), np.gradient(pos, axis=0))[1:-1]   # the extra stations
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)                     # only smooth the seams
        pos = pos[1:-1]
        rgb = g.colors(np.broadcast_to(s[1:-1, None], pos.shape[:2]), np.broadcast_to(u, pos.shape[:2]),
                       pos[..., 2], normal[..., 2])
        m = ColorMesh().add_rgba(pos.reshape(-1, 3), normal.reshape(-1, 3), grid_tris(*pos.shape[:2]),
                                 rgb.reshape(-1, 3))
        tile = self.root.attachNewNode(f"tile-{j}")
        tile.setBin(LAND_BIN, 0)
        self.sway += populate(m, tile, g, st[1:-1], self.step_m, rng)
        tile.attachNewNode(m.node(f"ground-{j}"))
        return tile

    def update(self, rig_position_m: tuple[float, float, float], rig_s_m: float | None, t_s: float) -> None:
        """Keep the tiles behind, under and ahead of the rig; drift the snow or specks around it.

        ``rig_s_m``: the rig's distance along the path (metres; the glide's ``s_m``), or None to
        take it from the position (the path advances monotonically along ``tile_step_m``)."""
        dx, dy = self.tile_step_m
        k = math.floor(rig_s_m / WAVELENGTH_M if rig_s_m is not None else
                       (rig_position_m[0] * dx + rig_position_m[1] * dy) / (dx * dx + dy * dy))
        for index in (k - 1, k, k + 1):
            if self._placed[index % TILES] != index:
                self.tiles[index % TILES].setPos(index * dx, index * dy, 0.0)
                self._placed[index % TILES] = index
        self.sky.setPos(rig_position_m[0], rig_position_m[1], 0.0)
        if self.drift is not None:
            self.drift.update(rig_position_m, t_s)
        for node, phase in self.sway:
            node.setHpr(0.0, 3.0 * math.sin(0.55 * t_s + phase), 4.0 * math.sin(0.4 * t_s + 1.7 * phase))

    def destroy(self) -> None:
        self.root.removeNode()
        self.tiles, self.sway = [], []
