"""The distraction game drawn in the world: targets, aim dwell, hits, reticle, score, breathing pacer.

``GameView.apply(world, dt_s)`` reads ``world.game`` (a ``vr.sim.distraction.GameState``) and
``world.head`` and never changes them. Each target slot of the game gets its own pooled model
(built the first time the slot shows that kind), placed at the slot's position (session frame:
metres, Z up, +Y forward; headings in degrees, 0 facing +Y) and scaled so its body fills the hit
radius. Models face +Y in their own frame. The reticle, dwell rings, score and pacer are unlit
and drawn on top; bursts are unlit and blended; targets and the snowball are lit by the scene.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import ColorBlendAttrib, NodePath, TextNode, TransparencyAttrib

from vr.render.geom import Mesh, rot_x, rot_y, rot_z, translate
from vr.render.landscape import ColorMesh, cone, grid_tris, unlit
from vr.render.shading import MAX_LIGHTS, apply_shading
from vr.sim import WorldState

RETICLE_M = 3.0                  # the reticle floats this far along the head's forward direction
SNOWBALL_S = 0.3                 # a snowball's flight
POP_S = 0.42                     # a hit snowman (penguin...) has shrunk away by then
BURST_S = 1.0
SCORE_AT_M = (1.6, 4.5, 1.25)    # right, ahead, up from the eyes, in the rig's frame
PACER_AT_M = (0.0, 2.5, -0.3)
PACER_RADIUS_M = (0.08, 0.3)     # empty .. full breath
ARC_STEPS = 32
SNOW, NAVY, ORANGE, BLACK = (0.97, 0.98, 1.0), (0.12, 0.14, 0.22), (1.0, 0.55, 0.12), (0.06, 0.06, 0.08)
ORANGE_F, WHITE, BLUE = (1.0, 0.5, 0.1), (1.0, 1.0, 1.0), (0.2, 0.42, 1.0)
YELLOW, PURPLE = (1.0, 0.9, 0.2), (0.7, 0.32, 0.92)
FISH = (  # the body's colours nose to tail as (from, to) along its length (-1 tail .. 1 nose), fins, top fin
    (((-1, -0.5, ORANGE_F), (-0.5, -0.3, WHITE), (-0.3, 0.1, ORANGE_F), (0.1, 0.3, WHITE), (0.3, 1, ORANGE_F)),
     ORANGE_F, ORANGE_F),                                                                       # clownfish
    (((-1, 1, BLUE),), YELLOW, (0.08, 0.1, 0.3)),                                                 # blue tang
    (((-1, 1, YELLOW),), YELLOW, YELLOW),                                                         # yellow tang
    (((-1, -0.05, YELLOW), (-0.05, 1, PURPLE)), YELLOW, PURPLE),                                  # royal gramma
)
FISH_BOOST = (1.25, 1.12, 1.0)   # warms the fish against the water's blue light
BALLOONS = ((0.55, 0.86, 0.97), (0.78, 0.72, 0.99), (0.62, 0.95, 0.84), (0.99, 0.74, 0.86))


def _ring(m: ColorMesh, inner: float, outer: float, rgba_in, rgba_out, frac: float = 1.0, segments: int = 48) -> None:
    """An annulus in the XZ plane (facing -Y, the viewer), from 12 o'clock clockwise over ``frac``."""
    n = max(1, math.ceil(segments * frac))
    theta = np.linspace(0.0, 2 * np.pi * frac, n + 1)
    unit = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], -1)
    pos = np.vstack([unit * inner, unit * outer])
    col = np.vstack([np.tile(rgba_in, (n + 1, 1)), np.tile(rgba_out, (n + 1, 1))])
    m.add_rgba(pos, np.tile([0.0, -1.0, 0.0], (len(pos), 1)), grid_tris(2, n + 1), col)


def _unlit(node: NodePath, sort: int | None = None) -> NodePath:
    """Unlit, blended, double-sided; with ``sort``, drawn on top of everything in that order."""
    unlit(node)
    node.setTransparency(TransparencyAttrib.MAlpha)
    node.setTwoSided(True)
    node.setDepthWrite(False)
    if sort is None:
        node.setBin("transparent", 0)
    else:
        node.setFogOff(10)
        node.setDepthTest(False)
        node.setBin("fixed", sort)
    return node


def _text(parent: NodePath, scale: float, z: float) -> TextNode:
    node = TextNode("text")
    node.setAlign(TextNode.ACenter)
    node.setTextColor(1.0, 1.0, 1.0, 1.0)
    node.setShadow(0.05, 0.05)
    node.setShadowColor(0.0, 0.05, 0.15, 0.6)
    path = parent.attachNewNode(node)
    path.setScale(scale)
    path.setPos(0.0, -0.01, z)
    return node


def _floe(m: Mesh, z: float) -> None:
    """A little floating ice floe under a target, its top at ``z``."""
    m.ellipsoid((0.7, 0.64, 0.18), (0.86, 0.94, 1.0), translate(0, 0, z - 0.1), segments=16, rings=6,
                z_range=(-0.5, 1.0))


def _throw_model(kind: int, slot: int) -> NodePath:
    """Kind 0 a snowman, 1 a penguin, 2 an ice balloon, 3 a little igloo; about a unit sphere."""
    m = Mesh()
    eye = lambda x, y, z, r=0.035: m.ellipsoid((r, r, r), BLACK, translate(x, y, z), segments=8, rings=5)
    if kind == 0:
        for r, z in ((0.44, -0.42), (0.33, 0.16), (0.25, 0.6)):
            m.ellipsoid((r, r, r * 0.95), SNOW, translate(0, 0, z))
        for sx in (-1, 1):
            eye(0.085 * sx, 0.215, 0.66)
            m.tube(0.025, 0.018, 0.42, (0.4, 0.27, 0.15), translate(0.3 * sx, 0, 0.22) @ rot_y(-60 * sx) @ rot_x(180),
                   segments=5, rings=2)
        for z in (0.3, 0.14, -0.02):
            eye(0.0, math.sqrt(max(0.33 ** 2 - (z - 0.16) ** 2, 0.0)) - 0.01, z, 0.03)
        cone(m, 0.045, 0.2, ORANGE, translate(0, 0.22, 0.6) @ rot_x(-90), np.random.default_rng(0), 8)
        m.ellipsoid((0.27, 0.27, 0.06), (0.9, 0.2, 0.25), translate(0, 0, 0.41), segments=14, rings=4)
        m.ellipsoid((0.06, 0.04, 0.16), (0.9, 0.2, 0.25), translate(0.12, 0.22, 0.3) @ rot_y(15), segments=8, rings=4)
        m.tube(0.14, 0.14, 0.16, (0.15, 0.15, 0.2), translate(0, 0, 0.93), segments=12, rings=2, cap=0.05)
        m.ellipsoid((0.22, 0.22, 0.02), (0.15, 0.15, 0.2), translate(0, 0, 0.79), segments=12, rings=3)
        _floe(m, -0.86)
    elif kind == 1:
        m.ellipsoid((0.4, 0.36, 0.6), NAVY, translate(0, 0, -0.18))
        m.ellipsoid((0.31, 0.3, 0.5), SNOW, translate(0, 0.09, -0.22))
        m.ellipsoid((0.29, 0.27, 0.27), NAVY, translate(0, 0, 0.48))
        m.ellipsoid((0.21, 0.18, 0.17), SNOW, translate(0, 0.1, 0.47))
        cone(m, 0.06, 0.16, ORANGE, translate(0, 0.25, 0.44) @ rot_x(-90), np.random.default_rng(1), 8)
        for sx in (-1, 1):
            eye(0.085 * sx, 0.245, 0.55, 0.04)
            m.ellipsoid((0.045, 0.02, 0.035), (1.0, 0.6, 0.65), translate(0.16 * sx, 0.22, 0.45), segments=8, rings=4)
            m.ellipsoid((0.06, 0.16, 0.34), NAVY, translate(0.38 * sx, 0, -0.12) @ rot_y(22 * sx), segments=10, rings=6)
            m.ellipsoid((0.1, 0.15, 0.04), ORANGE, translate(0.14 * sx, 0.12, -0.78), segments=8, rings=4)
        _floe(m, -0.84)
    elif kind == 2:
        rgb = BALLOONS[slot % len(BALLOONS)]
        m.ellipsoid((0.58, 0.58, 0.66), rgb, translate(0, 0, 0.08), segments=18, rings=12)
        m.ellipsoid((0.1, 0.06, 0.16), (1.0, 1.0, 1.0), translate(-0.22, 0.5, 0.36) @ rot_y(-30), segments=8, rings=5)
        m.ellipsoid((0.08, 0.08, 0.07), tuple(0.8 * c for c in rgb), translate(0, 0, -0.6), segments=8, rings=4)
        m.tube(0.012, 0.012, 0.32, (0.85, 0.88, 0.95), translate(0, 0, -0.64), segments=4, rings=2)
    else:
        m.ellipsoid((0.62, 0.62, 0.6), (0.92, 0.96, 1.0), translate(0, 0, -0.36), segments=18, rings=8, z_range=(0, 1))
        for z in (0.2, 0.45, 0.7):
            m.ellipsoid((0.625, 0.625, 0.605), (0.7, 0.8, 0.92), translate(0, 0, -0.36), segments=18, rings=1,
                        z_range=(z, z + 0.025))
        m.ellipsoid((0.25, 0.32, 0.3), (0.92, 0.96, 1.0), translate(0, 0.5, -0.36), segments=12, rings=5,
                    z_range=(0, 1))
        m.disc(0.16, (0.15, 0.22, 0.35), translate(0, 0.825, -0.34), 12, ry=0.2)
        m.tube(0.015, 0.015, 0.35, (0.4, 0.3, 0.2), translate(0.1, 0, 0.55), segments=4, rings=2)
        m.box((0.18, 0.01, 0.11), (0.95, 0.3, 0.3), translate(0.19, 0, 0.44))
        _floe(m, -0.4)
    return NodePath(m.node("target"))


def _fish_model(kind: int) -> NodePath:
    """A fish of species ``kind``, nose along +Y, with a ``tail`` child that wags about its root."""
    bands, fins, top = FISH[kind]
    tall = 1.3 if kind == 2 else 1.0
    m = Mesh()
    for z0, z1, rgb in bands:   # slices of one ellipsoid whose poles are nose and tail: crisp colour bands
        m.ellipsoid((0.2, 0.4 * tall, 0.72), rgb, rot_x(-90), segments=16, rings=max(2, int(5 * (z1 - z0))),
                    z_range=(z0, z1))
    m.ellipsoid((0.03, 0.3, 0.2 * tall), top, translate(0, -0.08, 0.36 * tall) @ rot_x(-12), segments=8, rings=5)
    m.ellipsoid((0.03, 0.18, 0.12), fins, translate(0, -0.1, -0.36 * tall) @ rot_x(15), segments=8, rings=5)
    for sx in (-1, 1):
        m.ellipsoid((0.06, 0.09, 0.09), WHITE, translate(0.15 * sx, 0.42, 0.1), segments=10, rings=6)
        m.ellipsoid((0.04, 0.05, 0.05), BLACK, translate(0.2 * sx, 0.45, 0.1), segments=8, rings=5)
        m.ellipsoid((0.03, 0.14, 0.07), fins, translate(0.19 * sx, 0.15, -0.08) @ rot_z(-25 * sx), segments=8, rings=4)
    root = NodePath(m.node("target"))
    t = Mesh()
    for tilt in (-32, 32):
        t.ellipsoid((0.03, 0.28, 0.12 * tall), fins, rot_x(tilt) @ translate(0, -0.22, 0), segments=8, rings=5)
    root.attachNewNode(t.node("tail")).setY(-0.62)
    return root


def _burst(action: str, rng: np.random.Generator) -> NodePath:
    """Unit-sized burst: a snow puff with sparkles (throw), or a glow with bubbles (light)."""
    m = Mesh()
    root = NodePath("burst")
    if action == "throw":
        for _ in range(16):
            d = rng.normal(size=3)
            d = d / np.linalg.norm(d) * rng.uniform(0.35, 0.7)
            m.ellipsoid((rng.uniform(0.14, 0.26),) * 3, (0.92, 0.95, 1.0, 0.9) if rng.random() < 0.5 else
                        (0.78, 0.86, 0.98, 0.85), translate(*d), segments=8, rings=5)
        for _ in range(12):
            d = rng.normal(size=3)
            d = d / np.linalg.norm(d) * rng.uniform(0.8, 1.15)
            m.ellipsoid((0.05, 0.05, 0.09), (1.0, 0.82, 0.35, 1.0) if rng.random() < 0.6 else (0.45, 0.85, 1.0, 1.0),
                        translate(*d) @ rot_z(rng.uniform(0, 90)), segments=4, rings=2)
        root.attachNewNode(m.node("puff"))
        return _unlit(root)
    glow = ColorMesh()
    _ring(glow, 0.0, 0.5, (1.0, 1.0, 0.85, 0.9), (1.0, 0.9, 0.5, 0.55))
    _ring(glow, 0.5, 1.0, (1.0, 0.9, 0.5, 0.55), (0.6, 0.9, 1.0, 0.0))
    g = _unlit(root.attachNewNode(glow.node("glow")))
    g.setAttrib(ColorBlendAttrib.make(ColorBlendAttrib.MAdd, ColorBlendAttrib.OIncomingAlpha, ColorBlendAttrib.OOne))
    for _ in range(10):
        r = rng.uniform(0.04, 0.09)
        m.ellipsoid((r, r, r), (0.85, 0.97, 1.0, 0.55), translate(*rng.uniform(-0.45, 0.45, 2), rng.uniform(-0.4, 0.2)),
                    segments=8, rings=5)
    _unlit(root.attachNewNode(m.node("bubbles")))
    return root


class GameView:
    """Draws ``world.game``; ``action`` 'throw' (canyon targets) or 'light' (reef fish)."""

    def __init__(self, render: NodePath, overlay: NodePath | None, action: str, landscape: str, seed: int) -> None:
        """``render``: the node the game hangs under; it should carry the scene's lights (targets are
        lit). ``overlay`` is unused: everything is drawn in the world so it shows in a headset.
        ``landscape`` ('canyon' or 'reef') picks the reticle's and pacer's colours."""
        if action not in ("throw", "light"):
            raise ValueError(f"action is 'throw' or 'light', got {action!r}")
        self.action, self.landscape, self.seed = action, landscape, int(seed)
        self.root = render.attachNewNode("game")
        self.lit_root = self.root.attachNewNode("targets")     # lit: fog it with LandscapeView.apply_fog
        apply_shading(self.lit_root, MAX_LIGHTS)
        self.fx_root = self.root.attachNewNode("bursts")
        self.ui_root = self.root.attachNewNode("ui")
        self.models: dict[tuple[int, int], NodePath] = {}
        self.bursts: dict[int, NodePath] = {}
        self.snowballs: dict[int, NodePath] = {}
        self.rings: dict[int, NodePath] = {}
        self.shown: dict[int, NodePath] = {}
        self.heading: dict[int, float] = {}
        self.last_pos: dict[int, np.ndarray] = {}
        self._arcs = []
        for k in range(ARC_STEPS + 1):
            m = ColorMesh()
            _ring(m, 1.0, 1.07, (0.2, 0.3, 0.45, 0.4), (0.2, 0.3, 0.45, 0.4))
            if k:
                _ring(m, 0.99, 1.09, (1.0, 0.86, 0.3, 1.0), (1.0, 0.86, 0.3, 1.0), k / ARC_STEPS)
            self._arcs.append(m.node("dwell"))
        warm = (1.0, 0.72, 0.25, 1.0) if landscape == "canyon" else (1.0, 0.95, 0.45, 1.0)
        m = ColorMesh()
        _ring(m, 0.045, 0.058, (0.05, 0.1, 0.2, 0.6), (0.05, 0.1, 0.2, 0.6))
        _ring(m, 0.032, 0.045, warm, warm)
        _ring(m, 0.0, 0.008, warm, warm, segments=10)
        self.reticle = _unlit(self.ui_root.attachNewNode(m.node("reticle")), 40)
        self.score = _unlit(self.ui_root.attachNewNode("score"), 20)
        self.score_text = _text(self.score, 0.3, 0.02)
        self.hits_text = _text(self.score, 0.13, -0.19)
        self._score_shown: tuple[int, int] | None = None
        self.pacer = _unlit(self.ui_root.attachNewNode("pacer"), 10)
        m = ColorMesh()
        soft = (0.8, 0.95, 1.0)
        _ring(m, 0.0, 0.72, (*soft, 0.06), (*soft, 0.16))
        _ring(m, 0.72, 0.88, (*soft, 0.16), (*soft, 0.95))
        _ring(m, 0.88, 1.08, (*soft, 0.95), (*soft, 0.0))
        self.pacer_ring = self.pacer.attachNewNode(m.node("breath"))
        self.pacer_text = _text(self.pacer, 0.1, -PACER_RADIUS_M[1] - 0.18)
        self._breath: float | None = None
        self._inhaling = True
        self.pacer.hide()

    # -- per frame ---------------------------------------------------------------------------------
    def apply(self, world: WorldState, dt_s: float) -> None:
        """Show ``world.game`` seen from ``world.head``; reads the state only."""
        g, head, t = world.game, world.head, world.t_s
        if g is None:
            self.root.hide()
            return
        self.root.show()
        eye = np.asarray(head.position_m, float)
        for i in range(len(g.alive)):
            self._target(i, g, eye, t, dt_s)
        yaw, pitch = math.radians(head.yaw_deg), math.radians(head.pitch_deg)
        forward = np.array([-math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
        self.reticle.setPos(*(eye + RETICLE_M * forward))
        self.reticle.setHpr(head.yaw_deg, head.pitch_deg, head.roll_deg)
        rig = math.radians(g.rig_yaw_deg)
        right, ahead = np.array([math.cos(rig), math.sin(rig), 0.0]), np.array([-math.sin(rig), math.cos(rig), 0.0])
        seat = np.array([g.rig_position_m[0], g.rig_position_m[1], eye[2]])
        place = lambda off: seat + off[0] * right + off[1] * ahead + np.array([0.0, 0.0, off[2]])
        self._face(self.score, place(SCORE_AT_M), eye)
        if self._score_shown != (g.score, g.hits):
            self._score_shown = (g.score, g.hits)
            self.score_text.setText(str(g.score))
            self.hits_text.setText(f"{g.hits} hit{'s' if g.hits != 1 else ''}")
        if g.breathing_on:
            self.pacer.show()
            self._face(self.pacer, place(PACER_AT_M), eye)
            lo, hi = PACER_RADIUS_M
            self.pacer_ring.setScale(lo + (hi - lo) * float(np.clip(g.breath, 0.0, 1.0)))
            if self._breath is not None and abs(g.breath - self._breath) > 1e-6:
                self._inhaling = g.breath > self._breath
            self._breath = g.breath
            self.pacer_text.setText("breathe in" if self._inhaling else "breathe out")
        else:
            self.pacer.hide()
            self._breath = None

    @staticmethod
    def _face(node: NodePath, at: np.ndarray, eye: np.ndarray) -> None:
        """Put ``node`` at ``at`` with its +Y pointing away from the eye (its -Y side faces the patient)."""
        d = at - eye
        node.setPos(*at)
        node.setHpr(math.degrees(math.atan2(-d[0], d[1])), math.degrees(math.atan2(d[2], math.hypot(d[0], d[1]))), 0)

    def _model(self, i: int, kind: int) -> NodePath:
        key = (i, kind)
        if key not in self.models:
            model = _throw_model(kind, i) if self.action == "throw" else _fish_model(kind)
            model.reparentTo(self.lit_root)
            model.hide()
            self.models[key] = model
        return self.models[key]

    def _target(self, i: int, g, eye: np.ndarray, t: float, dt_s: float) -> None:
        alive, age, r = bool(g.alive[i]), float(g.hit_age_s[i]), max(float(g.radius_m[i]), 0.05)
        pos = np.asarray(g.position_m[i], float)
        throw = self.action == "throw"
        hold = POP_S if throw else BURST_S
        model = self._model(i, int(g.kind[i])) if (alive or age < hold) else None
        old = self.shown.get(i)
        if old is not None and old is not model:
            old.hide()
        if model is None:
            self.shown.pop(i, None)
            self.last_pos.pop(i, None)
        else:
            self.shown[i] = model
            model.show()
            self._pose(i, int(g.kind[i]), model, pos, r, eye, t, dt_s, alive, age)
        self._dwell(i, alive and g.dwell[i] > 0.01, float(g.dwell[i]), pos, r, eye)
        self._hit(i, age, pos, r, eye)

    def _pose(self, i: int, kind: int, model: NodePath, pos: np.ndarray, r: float, eye: np.ndarray, t: float,
              dt_s: float, alive: bool, age: float) -> None:
        """Idle motion (bob, waddle, swim), facing, and the hit's wobble, pop or glow."""
        phase = (i * 2.399 + self.seed * 0.7) % (2 * np.pi)
        to_eye = eye - pos
        facing = math.degrees(math.atan2(-to_eye[0], to_eye[1]))
        scale, bright = r, 1.0
        if self.action == "throw":
            bob = 0.07 * r * math.sin(1.7 * t + phase)
            roll = (9.0 if kind == 1 else 4.0) * math.sin((4.2 if kind == 1 else 1.3) * t + phase)
            if not alive and age > SNOWBALL_S:
                scale = r * max(0.0, 1.0 - (age - SNOWBALL_S) / (POP_S - SNOWBALL_S))
            elif not alive:
                roll += 12.0 * math.sin(40.0 * age)
            model.setPos(pos[0], pos[1], pos[2] + bob)
            model.setHpr(facing + 12.0 * math.sin(0.5 * t + phase), 0.0, roll)
        else:
            last = self.last_pos.get(i)
            heading = self.heading.get(i, facing + 90.0)
            if last is not None and alive:
                step = pos - last
                if np.hypot(step[0], step[1]) > 1e-5:
                    want = math.degrees(math.atan2(-step[0], step[1]))
                    heading += ((want - heading + 180.0) % 360.0 - 180.0) * min(1.0, 4.0 * dt_s)
            self.heading[i] = heading
            self.last_pos[i] = pos.copy()
            h = math.radians(heading)
            swim = 0.0 if alive else 1.5 * age * r
            if not alive:
                bright = 1.0 + 0.7 * math.exp(-2.5 * age)
                scale = r * min(1.0, (BURST_S - age) / 0.3)
            model.setPos(pos[0] - math.sin(h) * swim, pos[1] + math.cos(h) * swim,
                         pos[2] + 0.05 * r * math.sin(1.3 * t + phase))
            model.setHpr(heading + 6.0 * math.sin(3.0 * t + phase), 0.0, 0.0)
            model.find("tail").setH(22.0 * math.sin((6.0 if alive else 14.0) * t + phase))
        model.setScale(max(scale, 1e-3))
        boost = FISH_BOOST if self.action == "light" else (1.0, 1.0, 1.0)
        model.setColorScale(bright * boost[0], bright * boost[1], bright * boost[2], 1.0)

    def _dwell(self, i: int, on: bool, dwell: float, pos: np.ndarray, r: float, eye: np.ndarray) -> None:
        ring = self.rings.get(i)
        if not on:
            if ring is not None:
                ring.hide()
            return
        if ring is None:
            ring = self.rings[i] = _unlit(self.ui_root.attachNewNode("dwell"), 30)
            ring.attachNewNode(self._arcs[0].makeCopy())
        ring.show()
        node = ring.getChild(0).node()
        node.removeAllGeoms()
        node.addGeomsFrom(self._arcs[int(np.clip(dwell, 0.0, 1.0) * ARC_STEPS + 0.5)])
        self._face(ring, pos, eye)
        ring.setScale(1.25 * r)

    def _hit(self, i: int, age: float, pos: np.ndarray, r: float, eye: np.ndarray) -> None:
        throw = self.action == "throw"
        start = 0.25 if throw else 0.0
        burst = self.bursts.get(i)
        if not (start <= age < BURST_S):
            if burst is not None:
                burst.hide()
        else:
            if burst is None:
                burst = self.bursts[i] = _burst(self.action, np.random.default_rng([self.seed, i]))
                burst.reparentTo(self.fx_root)
            u = (age - start) / (BURST_S - start)
            burst.show()
            self._face(burst, pos, eye)
            if throw:
                burst.setScale(r * (0.7 + 1.3 * u))
                burst.setAlphaScale((1.0 - u) ** 1.5)
            else:
                glow, bubbles = burst.find("glow"), burst.find("bubbles")
                glow.setScale(r * (1.3 + 1.2 * u))
                glow.setAlphaScale((1.0 - u) ** 1.2)
                bubbles.setScale(r * 1.2)
                bubbles.setPos(0.0, 0.0, 1.1 * r * u)
                bubbles.setAlphaScale(1.0 - u)
        ball = self.snowballs.get(i)
        if throw and age < SNOWBALL_S:
            if ball is None:
                m = Mesh().ellipsoid((0.09, 0.09, 0.09), SNOW, segments=10, rings=6)
                ball = self.snowballs[i] = self.lit_root.attachNewNode(m.node("snowball"))
            u, dist = age / SNOWBALL_S, max(float(np.linalg.norm(pos - eye)), 1e-6)
            start_at = eye + np.array([0.0, 0.0, -0.35]) + 0.3 * (pos - eye) / dist   # from just below the chin
            p = start_at + (pos - start_at) * u
            ball.setPos(p[0], p[1], p[2] + 0.03 * dist * math.sin(math.pi * u))          # a gentle arc
            ball.show()
        elif ball is not None:
            ball.hide()

    def destroy(self) -> None:
        self.root.removeNode()
        self.models, self.bursts, self.snowballs, self.rings, self.shown = {}, {}, {}, {}, {}
