"""The distraction scenes' landscapes: a snowy river canyon or a coral reef, laid along the glide.

The glide's path (``vr.sim.glide``) is periodic: after each ``WAVELENGTH_M`` its heading is back
to 0 and the seat has moved on by a fixed vector (``tile_step_m``, along +Y). So the landscape is
built as tiles one wavelength long over a ground that repeats with the path (tiles join without a
seam): three tiles, each with its own trees or corals, built once and kept behind, under and
ahead of the rig. Frames: the session's (metres, Z up, +Y forward, headings in degrees, 0 facing
+Y); ``s`` is the distance along the path, ``u`` the signed distance to its right (metres).

The ground's surface is pure numpy (``vr.render.terrain``), the plants are mesh builders
(``vr.render.flora``); this module makes them into tiles, adds the sky, fog and drifting specks,
and keeps the tiles around the rig (``LandscapeView``).
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import CullBinEnums, CullBinManager, Fog, GeomNode, NodePath, OmniBoundingVolume, Shader, ShaderAttrib

from vr.config import SceneConfig
from vr.render.flora import CORAL_RGB, ColorMesh, coral, cone, kelp, pine
from vr.render.geom import Mesh, rot_z, translate
from vr.render.shading import lit_shader
from vr.render.terrain import REEF_RGB, Ground, Waves, grid_tris, smoothstep
from vr.sim.glide import WAVELENGTH_M, heading_deg, path_points

# Re-exported: callers import these from here.
__all__ = ["CORAL_RGB", "REEF_RGB", "ColorMesh", "Drift", "Ground", "LandscapeView", "Waves", "coral", "cone",
           "fogged_shader", "grid_tris", "kelp", "pine", "populate", "sky_dome", "smoothstep", "triangle_count",
           "unlit"]

TILES = 3
FOG_DENSITY = 2.0          # exponential-squared haze: density x fog_m; at fog_m 98 % of a colour is haze
SKY_RADIUS_M = 150.0       # inside the camera's far plane (200 m)
SKY_RGB, SURFACE_RGB = (0.45, 0.64, 0.90), (0.30, 0.62, 0.70)
CLEAR_M = 2.2              # no snowflake or speck comes nearer the rig's axis than this
LAND_BIN, SKY_BIN = "vr-landscape", "vr-sky"
_LIT_OUT = "v_color = vec4(sqrt(clamp(base * toolkit_light(pos, n), 0.0, 1.0)), c.a);"
_FOG_OUT = ("float haze = p3d_Fog.density * length(pos);\n"
            "    v_color = vec4(mix(p3d_Fog.color.rgb, sqrt(clamp(base * toolkit_light(pos, n), 0.0, 1.0)), "
            "exp(-haze * haze)), c.a);")
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



def triangle_count(node: NodePath) -> int:
    """Triangles drawn under ``node``."""
    paths = [p for p in [node, *node.findAllMatches("**/+GeomNode")] if isinstance(p.node(), GeomNode)]
    return sum(g.getPrimitive(i).getNumFaces() for p in paths for g in p.node().getGeoms()
               for i in range(g.getNumPrimitives()))



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
