"""Scenes from scene files: the room, its furniture and lights, built from primitives.

All static geometry of a scene is merged into one mesh (one batch), since none of it moves. A
chair is drawn at every seated place, so seat grids need no separate props.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import (AmbientLight, DirectionalLight, NodePath, PerspectiveLens, PointLight, Spotlight,
                          Vec3)

from vr.config import SceneConfig, expand_spawns
from vr.render.geom import Mesh, rot_x, rot_z, translate

DEFAULT_RGB = {
    "podium": (0.40, 0.28, 0.18), "lectern": (0.40, 0.28, 0.18), "seat": (0.30, 0.32, 0.40),
    "sofa": (0.45, 0.55, 0.62), "table": (0.55, 0.40, 0.26), "desk": (0.55, 0.40, 0.26),
    "door": (0.55, 0.42, 0.30), "window": (0.70, 0.82, 0.95), "screen": (0.93, 0.94, 0.96),
    "stage": (0.42, 0.30, 0.20), "plant": (0.25, 0.50, 0.22), "lamp": (0.95, 0.90, 0.75),
    "shelf": (0.55, 0.42, 0.28), "rail": (0.75, 0.76, 0.78), "panel": (0.55, 0.55, 0.58),
    "box": (0.60, 0.55, 0.45), "rug": (0.60, 0.45, 0.40), "counter": (0.70, 0.68, 0.62),
    "bench": (0.45, 0.35, 0.28),
}
SKY = (0.62, 0.75, 0.88)


def _shade(rgb: tuple[float, ...], f: float) -> tuple[float, float, float]:
    return tuple(min(1.0, c * f) for c in rgb[:3])


def _prop(m: Mesh, kind: str, size: tuple[float, float, float], rgb: tuple[float, ...], x: np.ndarray) -> None:
    """Draw one prop of ``kind`` and ``size`` (own frame: x across the front, y depth, z up) at ``x``."""
    w, d, h = size
    if kind in ("seat", "bench"):
        seat_h = min(0.46, h * 0.5) if kind == "seat" else min(0.45, h)
        m.box((w, d, 0.06), rgb, x @ translate(0, 0, seat_h - 0.06))
        for sx in (-1, 1):
            for sy in (-1, 1):
                m.box((0.04, 0.04, seat_h - 0.06), _shade(rgb, 0.6), x @ translate(sx * (w / 2 - 0.04), sy * (d / 2 - 0.04), 0))
        if kind == "seat":
            m.box((w, 0.05, max(h - seat_h, 0.3)), rgb, x @ translate(0, -d / 2 + 0.03, seat_h) @ rot_x(-8))
    elif kind == "sofa":
        m.box((w, d, 0.42), rgb, x)
        m.box((w, 0.2, h), _shade(rgb, 0.9), x @ translate(0, -d / 2 + 0.1, 0))
        for sx in (-1, 1):
            m.box((0.18, d, 0.6), _shade(rgb, 0.9), x @ translate(sx * (w / 2 - 0.09), 0, 0))
    elif kind in ("table", "desk"):
        m.box((w, d, 0.04), rgb, x @ translate(0, 0, h - 0.04))
        for sx in (-1, 1):
            for sy in (-1, 1):
                m.box((0.05, 0.05, h - 0.04), _shade(rgb, 0.7), x @ translate(sx * (w / 2 - 0.06), sy * (d / 2 - 0.06), 0))
    elif kind in ("podium", "lectern"):
        m.box((w, d * 0.8, h * 0.92), rgb, x)
        m.box((w * 1.05, d, 0.05), _shade(rgb, 1.2), x @ translate(0, 0, h * 0.92) @ rot_x(-12))
    elif kind == "door":
        m.box((w, d, h), rgb, x)
        m.box((w + 0.12, d * 0.5, h + 0.06), _shade(rgb, 0.7), x @ translate(0, -0.01, 0))
        m.ellipsoid((0.03, 0.03, 0.03), (0.8, 0.75, 0.5), x @ translate(w * 0.38, d / 2 + 0.02, h * 0.48))
    elif kind == "window":
        m.box((w + 0.1, d, h + 0.1), (0.92, 0.92, 0.9), x @ translate(0, 0, -0.05))
        m.box((w, d + 0.02, h), rgb, x)
        m.box((0.04, d + 0.04, h), (0.92, 0.92, 0.9), x)
    elif kind == "plant":
        m.tube(w * 0.32, w * 0.25, h * 0.28, (0.55, 0.35, 0.25), x @ translate(0, 0, h * 0.3))
        for k, (ox, oy, oz, r) in enumerate(((0, 0, 0.65, 0.5), (0.2, 0.1, 0.8, 0.38), (-0.18, -0.1, 0.78, 0.4),
                                              (0.05, -0.2, 0.9, 0.33))):
            m.ellipsoid((w * r, w * r, h * 0.22), _shade(rgb, 0.9 + 0.08 * k), x @ translate(ox * w, oy * w, oz * h))
    elif kind == "lamp":
        m.tube(0.02, 0.02, h * 0.8, (0.3, 0.3, 0.3), x @ translate(0, 0, h * 0.8))
        m.box((0.3, 0.3, 0.03), (0.3, 0.3, 0.3), x)
        m.tube(w * 0.25, w * 0.45, h * 0.16, rgb, x @ translate(0, 0, h))
    elif kind == "shelf":
        m.box((w, d, h), _shade(rgb, 0.8), x)
        for k in range(1, 5):
            m.box((w * 0.95, d * 1.02, 0.03), rgb, x @ translate(0, 0, h * k / 5))
            for b in range(6):
                bh = 0.18 + 0.06 * ((k * 7 + b * 3) % 4)
                m.box((w / 8, d * 0.8, bh), _shade(((0.6, 0.2, 0.2), (0.2, 0.35, 0.55), (0.85, 0.8, 0.6))[(k + b) % 3], 1.0),
                      x @ translate(-w / 2 + w / 7 * (b + 0.8), 0.0, h * (k - 1) / 5 + 0.03))
    elif kind == "rail":
        m.tube(0.02, 0.02, w, rgb, x @ translate(w / 2, 0, h) @ rot_z(90) @ rot_x(90))
    else:  # stage, screen, panel, box, rug, counter: solid blocks
        m.box((w, d, h), rgb, x)


def build_scene(scene: SceneConfig, parent: NodePath) -> tuple[NodePath, list[NodePath]]:
    """Room, props and chairs of ``scene`` as one node under ``parent``, and its lights (not yet switched on)."""
    root = parent.attachNewNode(f"scene-{scene.name}")
    m = Mesh()
    w, d, h = scene.room.size_m
    if scene.room.outdoor and scene.landscape is not None:
        pass  # a distraction landscape brings its own ground, laid along the glide (vr.render.landscape)
    elif scene.room.outdoor:
        m.box((max(w, 200.0), max(d, 200.0), 0.1), scene.room.floor_rgb, translate(0, 0, -0.1))
    else:
        t = 0.1
        m.box((w + 2 * t, d + 2 * t, t), scene.room.floor_rgb, translate(0, 0, -t))
        m.box((w + 2 * t, d + 2 * t, t), scene.room.ceiling_rgb, translate(0, 0, h))
        wall = scene.room.wall_rgb
        m.box((w + 2 * t, t, h), wall, translate(0, d / 2 + t / 2, 0))
        m.box((w + 2 * t, t, h), _shade(wall, 0.96), translate(0, -d / 2 - t / 2, 0))
        m.box((t, d, h), _shade(wall, 0.93), translate(w / 2 + t / 2, 0, 0))
        m.box((t, d, h), _shade(wall, 0.98), translate(-w / 2 - t / 2, 0, 0))
        m.box((w, 0.02, 0.1), _shade(wall, 0.7), translate(0, d / 2 - 0.01, 0))  # skirting boards
        m.box((w, 0.02, 0.1), _shade(wall, 0.7), translate(0, -d / 2 + 0.01, 0))
    for prop in scene.props:
        x, y, z = prop.position_m
        rgb = prop.rgb or DEFAULT_RGB[prop.type]
        _prop(m, prop.type, prop.size_m, rgb, translate(x, y, z) @ rot_z(prop.yaw_deg))
    px, py = scene.patient.position_m
    furniture = [p.position_m[:2] for p in scene.props if p.type in ("seat", "sofa", "bench")]
    for place in expand_spawns(scene):
        if not place.seated:
            continue
        sx, sy = place.path_m[0]
        if any(math.hypot(sx - fx, sy - fy) < 0.45 for fx, fy in furniture):
            continue  # the scene already has a seat here
        yaw = place.yaw_deg if place.yaw_deg is not None else math.degrees(math.atan2(-(px - sx), py - sy))
        _prop(m, "seat", (0.5, 0.48, 0.9), DEFAULT_RGB["seat"], translate(sx, sy, 0) @ rot_z(yaw) @ translate(0, -0.12, 0))
    root.attachNewNode(m.node("static"))
    return root, _lights(scene, root)


def _lights(scene: SceneConfig, root: NodePath) -> list[NodePath]:
    out = []
    for i, light in enumerate(scene.lights):
        color = tuple(c * light.intensity for c in light.rgb) + (1.0,)
        if light.type == "ambient":
            node = AmbientLight(f"ambient{i}")
            node.setColor(color)
            np_ = root.attachNewNode(node)
        elif light.type == "directional":
            node = DirectionalLight(f"sun{i}")
            node.setColor(color)
            np_ = root.attachNewNode(node)
            np_.setPos(*light.position_m)
            np_.lookAt(Vec3(*light.target_m))
        elif light.type == "point":
            node = PointLight(f"point{i}")
            node.setColor(color)
            node.setAttenuation((1.0, 0.0, 0.08))
            np_ = root.attachNewNode(node)
            np_.setPos(*light.position_m)
        else:
            node = Spotlight(f"spot{i}")
            node.setColor(color)
            node.setAttenuation((1.0, 0.0, 0.01))
            lens = PerspectiveLens()
            lens.setFov(55)
            node.setLens(lens)
            np_ = root.attachNewNode(node)
            np_.setPos(*light.position_m)
            np_.lookAt(Vec3(*light.target_m))
        out.append(np_)
    return out


def background(scene: SceneConfig) -> tuple[float, float, float, float]:
    """Clear colour: sky outdoors, the ceiling's colour dimmed indoors (never seen through walls)."""
    return (*SKY, 1.0) if scene.room.outdoor else (*_shade(scene.room.ceiling_rgb, 0.5), 1.0)
