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
from panda3d.core import NodePath, TextNode

from vr.render.flora import ColorMesh
from vr.render.game_models import SNOW, add_ring, burst_model, fish_model, throw_model, unlit_blended
from vr.render.geom import Mesh
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
FISH_BOOST = (1.25, 1.12, 1.0)   # warms the fish against the water's blue light


def _text(parent: NodePath, scale: float, z: float) -> TextNode:
    """A centred white label with a soft shadow under ``parent``, ``scale`` metres tall, at height ``z``."""
    node = TextNode("text")
    node.setAlign(TextNode.ACenter)
    node.setTextColor(1.0, 1.0, 1.0, 1.0)
    node.setShadow(0.05, 0.05)
    node.setShadowColor(0.0, 0.05, 0.15, 0.6)
    path = parent.attachNewNode(node)
    path.setScale(scale)
    path.setPos(0.0, -0.01, z)
    return node


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
            add_ring(m, 1.0, 1.07, (0.2, 0.3, 0.45, 0.4), (0.2, 0.3, 0.45, 0.4))
            if k:
                add_ring(m, 0.99, 1.09, (1.0, 0.86, 0.3, 1.0), (1.0, 0.86, 0.3, 1.0), k / ARC_STEPS)
            self._arcs.append(m.node("dwell"))
        warm = (1.0, 0.72, 0.25, 1.0) if landscape == "canyon" else (1.0, 0.95, 0.45, 1.0)
        m = ColorMesh()
        add_ring(m, 0.045, 0.058, (0.05, 0.1, 0.2, 0.6), (0.05, 0.1, 0.2, 0.6))
        add_ring(m, 0.032, 0.045, warm, warm)
        add_ring(m, 0.0, 0.008, warm, warm, segments=10)
        self.reticle = unlit_blended(self.ui_root.attachNewNode(m.node("reticle")), 40)
        self.score = unlit_blended(self.ui_root.attachNewNode("score"), 20)
        self.score_text = _text(self.score, 0.3, 0.02)
        self.hits_text = _text(self.score, 0.13, -0.19)
        self._score_shown: tuple[int, int] | None = None
        self.pacer = unlit_blended(self.ui_root.attachNewNode("pacer"), 10)
        m = ColorMesh()
        soft = (0.8, 0.95, 1.0)
        add_ring(m, 0.0, 0.72, (*soft, 0.06), (*soft, 0.16))
        add_ring(m, 0.72, 0.88, (*soft, 0.16), (*soft, 0.95))
        add_ring(m, 0.88, 1.08, (*soft, 0.95), (*soft, 0.0))
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
            model = throw_model(kind, i) if self.action == "throw" else fish_model(kind)
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
            ring = self.rings[i] = unlit_blended(self.ui_root.attachNewNode("dwell"), 30)
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
                burst = self.bursts[i] = burst_model(self.action, np.random.default_rng([self.seed, i]))
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
