"""The distraction game's models: targets, fish, hit bursts, and the rings the view draws with.

Offers ``throw_model`` (snowman, penguin, ice balloon, igloo), ``fish_model`` (four reef species,
with a wagging ``tail`` child), ``burst_model`` (a snow puff or a glow with bubbles), ``add_ring``
(an annulus or arc into a ``ColorMesh``) and ``unlit_blended`` (the render state of everything
unlit the game draws). Each model is about a unit sphere in its own frame (metres, Z up, facing
+Y) and is built once; ``vr.render.game_view.GameView`` places, scales and animates it.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import ColorBlendAttrib, NodePath, TransparencyAttrib

from vr.render.flora import ColorMesh, cone
from vr.render.geom import Mesh, rot_x, rot_y, rot_z, translate
from vr.render.landscape import unlit
from vr.render.terrain import grid_tris

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
BALLOONS = ((0.55, 0.86, 0.97), (0.78, 0.72, 0.99), (0.62, 0.95, 0.84), (0.99, 0.74, 0.86))


def add_ring(m: ColorMesh, inner: float, outer: float, rgba_in: tuple[float, ...], rgba_out: tuple[float, ...],
             frac: float = 1.0, segments: int = 48) -> None:
    """An annulus in the XZ plane (facing -Y, the viewer), from 12 o'clock clockwise over ``frac``."""
    n = max(1, math.ceil(segments * frac))
    theta = np.linspace(0.0, 2 * np.pi * frac, n + 1)
    unit = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], -1)
    pos = np.vstack([unit * inner, unit * outer])
    col = np.vstack([np.tile(rgba_in, (n + 1, 1)), np.tile(rgba_out, (n + 1, 1))])
    m.add_rgba(pos, np.tile([0.0, -1.0, 0.0], (len(pos), 1)), grid_tris(2, n + 1), col)


def unlit_blended(node: NodePath, sort: int | None = None) -> NodePath:
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


def _floe(m: Mesh, z: float) -> None:
    """A little floating ice floe under a target, its top at ``z``."""
    m.ellipsoid((0.7, 0.64, 0.18), (0.86, 0.94, 1.0), translate(0, 0, z - 0.1), segments=16, rings=6,
                z_range=(-0.5, 1.0))


def throw_model(kind: int, slot: int) -> NodePath:
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


def fish_model(kind: int) -> NodePath:
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


def burst_model(action: str, rng: np.random.Generator) -> NodePath:
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
        return unlit_blended(root)
    glow = ColorMesh()
    add_ring(glow, 0.0, 0.5, (1.0, 1.0, 0.85, 0.9), (1.0, 0.9, 0.5, 0.55))
    add_ring(glow, 0.5, 1.0, (1.0, 0.9, 0.5, 0.55), (0.6, 0.9, 1.0, 0.0))
    g = unlit_blended(root.attachNewNode(glow.node("glow")))
    g.setAttrib(ColorBlendAttrib.make(ColorBlendAttrib.MAdd, ColorBlendAttrib.OIncomingAlpha, ColorBlendAttrib.OOne))
    for _ in range(10):
        r = rng.uniform(0.04, 0.09)
        m.ellipsoid((r, r, r), (0.85, 0.97, 1.0, 0.55), translate(*rng.uniform(-0.45, 0.45, 2), rng.uniform(-0.4, 0.2)),
                    segments=8, rings=5)
    unlit_blended(root.attachNewNode(m.node("bubbles")))
    return root
