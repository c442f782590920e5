#!/usr/bin/env python3
"""Bake the virtual humans' clothes, hair, brows and eyes into ``assets/humans/garments_<body>.npz``.

Every piece is fitted to a baked body (``assets/humans/<body>.npz`` and ``.glb``, see
``scripts/bake_humans.py``) from its own mesh, with numpy only: one command, no extra venv,

    .venv/bin/python scripts/bake_garments.py            # writes assets/humans/garments_*.npz

- Garments are shells over body regions chosen by skin weights, height bands and limb
  parameters (a scalar field per body vertex, positive where the piece is), cut along the
  field's zero line through the triangles so hems run smooth, pushed out a few millimetres along
  the normals and closed by a hem strip back to the skin. Skirts and long hair are rings about
  the body's or head's vertical axis, never narrower than the body above them; a ponytail is a
  tapered tube; brows are arched strips laid on the brow ridge; eyes are finer balls with rings
  for pupil, iris, limbal ring and sclera, and a catch-light disc.
- Each vertex is stored as a *layer* vertex (``vr.render.garments.Layer``): the body vertex it
  follows, the one whose skin weights it takes, an offset along the normal and a constant
  offset, so at run time a piece follows the seeded shape and face units and is skinned with
  the body's joints.

Which pieces exist is what ``vr.render.garments.piece_specs`` can ask for over every look; the
output is byte-for-byte the same each run (fixed zip dates, sorted keys, pure numpy).
"""

from __future__ import annotations

import io
import itertools
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vr.render.bodies import ASSETS_DIR, BODY_NAMES, BodyAsset, load_body, vertex_normals  # noqa: E402
from vr.render.garments import HAIR_STYLES, Layer, Look, piece_specs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bake_humans import write_npz  # noqa: E402  (fixed dates and order: identical bytes run to run)


DRAPE = 40   # smoothing passes for tops and trousers
K = 4   # body vertices a layer vertex may follow (blended), see vr.render.garments.Layer


def _single(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anchors (N, K) and weights (N, K) for vertices that each follow one body vertex."""
    idx = np.asarray(idx, np.int64)
    weight = np.zeros((len(idx), K), np.float32)
    weight[:, 0] = 1.0
    return np.repeat(idx[:, None], K, axis=1), weight


def _outward(faces: np.ndarray, pts: np.ndarray, center: np.ndarray, axis_only: bool = False) -> np.ndarray:
    """``faces`` wound so their normals point away from ``center`` (or from the vertical axis through it)."""
    tri = pts[faces]
    away = tri.mean(axis=1) - center
    if axis_only:
        away[:, 2] = 0.0
    flip = (np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]) * away).sum(axis=1) < 0
    return np.where(flip[:, None], faces[:, ::-1], faces)


def _skin(asset: BodyAsset) -> tuple[np.ndarray, np.ndarray]:
    """The four (joint, weight) skin influences a vertex, read straight from the body's .glb."""
    raw = asset.glb_path.read_bytes()
    n = struct.unpack("<I", raw[12:16])[0]
    doc, start = json.loads(raw[20:20 + n]), 28 + n
    attrs = doc["meshes"][0]["primitives"][0]["attributes"]

    def read(key: str, dtype) -> np.ndarray:
        view = doc["bufferViews"][doc["accessors"][attrs[key]]["bufferView"]]
        off = start + view.get("byteOffset", 0)
        return np.frombuffer(raw[off:off + view["byteLength"]], dtype).reshape(-1, 4)
    return read("JOINTS_0", np.uint8).astype(np.int64), read("WEIGHTS_0", np.float32)


class Fitter:
    """One body's measurements (skin-weight groups, limb parameters, head frame) and the pieces fitted to it."""

    GROUPS = {"head": ("head", "eye"), "neck": ("neck",), "torso": ("spine", "clavicle"), "hip": ("root", "pelvis"),
              "arm": ("shoulder", "upperarm", "lowerarm"), "hand": ("wrist", "finger", "metacarpal"),
              "leg": ("upperleg", "lowerleg"), "foot": ("foot", "toe")}

    def __init__(self, asset: BodyAsset) -> None:
        self.asset = asset
        joints, weights = _skin(asset)
        group_of = np.array([next(i for i, p in enumerate(self.GROUPS.values()) if n.startswith(p))
                             for n in asset.joint_names])
        self.w = {g: (weights * (group_of[joints] == i)).sum(axis=1) for i, g in enumerate(self.GROUPS)}
        v, h = asset.vertices, dict(zip(asset.joint_names, asset.joint_heads))
        self.v, self.n, self.h = v, vertex_normals(v, asset.faces), h
        side = np.where(v[:, 0] >= 0, "L", "R")
        self.s_arm = self._along(h["shoulder01.L"], h["wrist.L"], h["shoulder01.R"], h["wrist.R"], side)
        self.s_leg = self._along(h["upperleg01.L"], h["foot.L"], h["upperleg01.R"], h["foot.R"], side)
        self.eye_z, self.neck_z = float(h["eye.L"][2]), float(h["neck01"][2])
        top = (self.w["head"] > 0.6) & (v[:, 2] > self.eye_z)
        self.head_c = v[top].mean(axis=0)
        d = v - self.head_c
        self.phi = np.degrees(np.arctan2(d[:, 0], -d[:, 1]))       # azimuth about the head axis, 0 = front
        self.rigid_head = int(np.argmax(self.w["head"] - 0.001 * np.abs(v[:, 0])))
        roll = [np.linalg.norm(asset.face_deltas[asset.face_units.index(u)], axis=1) for u in ("mouthRollLower",
                                                                                              "mouthRollUpper")]
        self.lips = np.maximum(roll[0] / 0.003, roll[1] / 0.006)     # above 1 on the lips

    def _along(self, a_l, b_l, a_r, b_r, side) -> np.ndarray:
        a = np.where((side == "L")[:, None], a_l, a_r)
        b = np.where((side == "L")[:, None], b_l, b_r)
        return ((self.v - a) * (b - a)).sum(axis=1) / ((b - a) ** 2).sum(axis=1)

    # -- shells over the body ------------------------------------------------------------------

    def shell(self, field: np.ndarray, offset_m: np.ndarray | float, hem_m: float = 0.0008,
              blend: int | None = None, drape: int = 0) -> Layer:
        """The body surface where ``field`` (V,) > 0, cut along the field's zero line through the
        triangles (so hems run smooth, not along mesh edges), pushed out ``offset_m`` along the
        normals, its open edges closed by a hem strip back down to ``hem_m`` above the skin."""
        faces, inside = self.asset.faces, field > 0
        count = inside[faces].sum(axis=1)
        odd = np.where(count == 1, np.argmax(inside[faces], 1), np.argmin(inside[faces], 1))
        part = faces[(count == 1) | (count == 2)]
        k = odd[(count == 1) | (count == 2)]
        part = np.stack([part[np.arange(len(k)), (k + i) % 3] for i in range(3)], 1)   # odd vertex first
        one = count[(count == 1) | (count == 2)] == 1
        edge = np.concatenate([part[:, [0, 1]], part[:, [0, 2]]])
        key, cut = np.unique(np.sort(edge, axis=1), axis=0, return_inverse=True)
        cut = cut.reshape(2, -1)
        a_in = np.where(inside[key[:, 0]], key[:, 0], key[:, 1])
        a_out = key[:, 0] + key[:, 1] - a_in
        t = field[a_in] / (field[a_in] - field[a_out])
        used = np.unique(np.concatenate([faces[count == 3].reshape(-1), part[inside[part]]]))
        n_used = len(used)
        remap = np.full(len(self.v), -1, np.int64)
        remap[used] = np.arange(n_used)
        e01, e02 = cut[0] + n_used, cut[1] + n_used
        p0, p1, p2 = remap[part[:, 0]], remap[part[:, 1]], remap[part[:, 2]]
        f = np.concatenate([remap[faces[count == 3]], np.stack([p0, e01, e02], 1)[one],
                            np.stack([e01, p1, p2], 1)[~one], np.stack([e01, p2, e02], 1)[~one]])
        anchor = np.concatenate([used, a_in])
        mix, weight = _single(anchor)
        mix[n_used:, 1], weight[n_used:, :2] = a_out, np.stack([1 - t, t], 1)   # cut points: on the edge
        off = np.broadcast_to(np.asarray(offset_m, np.float32), (len(self.v),))[anchor]
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        n = len(anchor)
        rim = edges[~np.isin(edges[:, 1] * n + edges[:, 0], edges[:, 0] * n + edges[:, 1])]
        ring = np.unique(rim)
        inner = np.full(n, -1, np.int64)
        inner[ring] = n + np.arange(len(ring))
        hem = np.concatenate([np.stack([rim[:, 1], rim[:, 0], inner[rim[:, 0]]], 1),
                              np.stack([rim[:, 1], inner[rim[:, 0]], inner[rim[:, 1]]], 1)])
        anchor = np.concatenate([anchor, anchor[ring]])
        shade = np.ones(len(anchor), np.float32)
        shade[ring] = shade[n:] = 0.8
        offset = np.concatenate([off, np.full(len(ring), hem_m, np.float32)])
        mix, weight = np.concatenate([mix, mix[ring]]), np.concatenate([weight, weight[ring]])
        extra = self._drape(mix, weight, offset, f, ring, drape)
        return Layer(mix, weight, anchor if blend is None else np.full(len(anchor), blend), offset, extra,
                     np.concatenate([f, hem]), shade, used if np.min(off) >= 0.002 else None)

    def _drape(self, mix, weight, offset, faces, rim, iterations: int) -> np.ndarray:
        """Constant offsets that smooth a shell (Taubin's shrink-free smoothing, rim held, at most
        1 mm out or 1.5 mm in): cloth bridges the small shapes of the body under it instead of showing them."""
        normal = np.einsum("nk,nkc->nc", weight, self.n[mix])
        rest = np.einsum("nk,nkc->nc", weight, self.v[mix]) + normal * offset[:, None]
        p = rest.astype(np.float64)
        edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        edges = np.unique(np.sort(edges, axis=1), axis=0)
        a, b = np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([edges[:, 1], edges[:, 0]])
        degree = np.maximum(np.bincount(a, minlength=len(p)), 1)[:, None]
        free = np.ones(len(p), bool)
        free[rim] = False
        free[len(free) - len(rim):] = False
        for _ in range(iterations):
            for step in (0.5, -0.53):
                mean = np.stack([np.bincount(a, p[b, c], len(p)) for c in range(3)], 1) / degree
                p[free] += step * (mean - p)[free]
        move = p - rest
        outward = (move * normal).sum(axis=1, keepdims=True)
        move -= normal * (outward - np.clip(outward, -0.0015, 0.001))   # stay between the layers below and above
        return move.astype(np.float32)

    def ring(self, z_top: float, z_bottom: np.ndarray, phis: np.ndarray, candidates: np.ndarray, margin_m: float,
             center: np.ndarray, flare_m: float = 0.0, rows: int = 12, blend: int | None = None,
             anchors: np.ndarray | None = None, top_m: float = 0.0) -> Layer:
        """A tube around the vertical axis through ``center`` from ``z_top`` down to ``z_bottom[phi]``,
        never narrower below than the body above it (``candidates``) plus ``margin_m`` (``top_m`` at
        the top, to tuck under a scalp or over a blouse); closed at the bottom."""
        v = self.v[candidates]
        d = v[:, :2] - center[:2]
        az = np.degrees(np.arctan2(d[:, 0], -d[:, 1]))
        rad = np.hypot(d[:, 0], d[:, 1])
        u = np.linspace(0, 1, rows)
        z = z_top + (z_bottom[None, :] - z_top) * u[:, None]                     # (rows, P)
        pts = np.zeros((rows + 1, len(phis), 3))
        for k, p in enumerate(phis):
            near = np.abs((az - p + 180) % 360 - 180) < 12
            for r in range(rows):
                above = near & (v[:, 2] >= z[r, k] - 0.01) & (v[:, 2] <= z_top + 0.02)
                radius = ((rad[above].max() if above.any() else 0.05) + top_m + (margin_m - top_m) * min(3 * u[r], 1)
                          + flare_m * u[r] ** 1.5)
                a = np.radians(p)
                pts[r, k] = [center[0] + radius * np.sin(a), center[1] - radius * np.cos(a), z[r, k]]
            pts[rows, k] = pts[rows - 1, k] + (center - pts[rows - 1, k]) * np.array([0.06, 0.06, 0])
        pts = pts.reshape(-1, 3)
        pool = candidates if anchors is None else anchors
        dist = np.sqrt(((pts[:, None, :] - self.v[pool][None]) ** 2).sum(axis=2))
        order = np.argsort(dist, axis=1, kind="stable")[:, :K]
        mix = pool[order]                     # a blend of the nearest few, so a shaped body moves it smoothly
        weight = 1.0 / (np.take_along_axis(dist, order, axis=1) + 0.02)
        weight = (weight / weight.sum(axis=1, keepdims=True)).astype(np.float32)
        nearest = mix[:, 0]
        cols = len(phis)
        closed = abs((phis[-1] - phis[0]) % 360 - 360 + (phis[1] - phis[0])) < 1e-6
        quads = [(r * cols + k, r * cols + (k + 1) % cols, (r + 1) * cols + (k + 1) % cols, (r + 1) * cols + k)
                 for r in range(rows) for k in range(cols if closed else cols - 1)]
        q = np.array(quads)
        shade = np.ones(len(pts), np.float32)
        shade[rows * cols:] = 0.75
        return Layer(mix, weight, nearest if blend is None else np.full(len(pts), blend),
                     np.zeros(len(pts), np.float32),
                     (pts - np.einsum("nk,nkc->nc", weight, self.v[mix])).astype(np.float32),
                     _outward(np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]), pts, center, axis_only=True), shade)

    # -- the pieces ----------------------------------------------------------------------------

    def _not(self, *groups: str, limit: float = 0.5) -> np.ndarray:
        """A field (metres-like) that is positive where the named groups weigh less than ``limit``."""
        return 0.1 * (limit - sum(self.w[g] for g in groups))

    def _trunk(self) -> np.ndarray:
        return (self.w["torso"] + self.w["hip"] >= 0.5) & (self.w["head"] + self.w["neck"] < 0.2)

    def top(self, kind: str, sleeve: float, z_bottom: float, offset_m: float, neck_drop_m: float,
            front_open_m: float = 0.0) -> Layer:
        """A shirt, blouse, jumper or jacket: the trunk from ``z_bottom`` to a neckline ``neck_drop_m``
        below the neck joint at the front (a V for a blouse or jacket), sleeves to ``sleeve``."""
        v = self.v
        arm = self.w["arm"] + self.w["hand"] >= 0.5
        front = np.clip((self.h["neck01"][1] - v[:, 1]) / 0.06 + 0.3, 0.0, 1.0)     # 0 at the back, 1 in front
        neckline = self.neck_z - 0.015 - front * neck_drop_m
        if kind in ("blouse", "jacket"):
            neckline = neckline + front * 1.6 * np.abs(v[:, 0])
        trunk = np.minimum(v[:, 2] - z_bottom, neckline - v[:, 2])
        if front_open_m > 0:
            trunk = np.minimum(trunk, np.maximum(np.abs(v[:, 0]) - front_open_m, v[:, 1] - self.h["spine03"][1]))
        field = np.minimum.reduce([np.where(arm, (sleeve - self.s_arm) * 0.55, trunk), neckline - v[:, 2],
                                   self._not("hand", limit=0.3)])
        return self.shell(field, offset_m, drape=DRAPE)

    def trousers(self, z_top: float, offset_m: float) -> Layer:
        leg = self.w["leg"] + self.w["foot"] >= 0.5
        field = np.minimum.reduce([np.where(leg, (0.93 - self.s_leg) * 0.8, z_top - self.v[:, 2]),
                                   self._not("arm", "hand"), self._not("head", "neck")])
        return self.shell(field, offset_m, drape=DRAPE)

    def shoes(self) -> Layer:
        field = np.minimum(0.11 - self.v[:, 2], -self._not("foot", "leg"))
        return self.shell(field, np.where(self.v[:, 2] < 0.01, 0.0015, 0.005))

    def skirt(self, z_top: float, z_hem: float, flare_m: float) -> Layer:
        body = ((self.w["hip"] + self.w["leg"] + self.w["torso"] >= 0.5) & (self.w["arm"] + self.w["hand"] < 0.2))
        cand = np.flatnonzero(body & (self.v[:, 2] < z_top + 0.03) & (self.v[:, 2] > z_hem - 0.03))
        hips = np.flatnonzero(body & (self.v[:, 2] > self.h["upperleg01.L"][2] - 0.06) & (self.v[:, 2] < z_top + 0.03))
        phis = np.arange(-180, 180, 7.5)
        center = np.array([0.0, float(self.v[hips, 1].mean()), 0.0])
        return self.ring(z_top, np.full(len(phis), z_hem), phis, cand, 0.012, center, flare_m, anchors=hips,
                         top_m=0.009)

    def hair(self, style: str) -> list[Layer]:
        """Scalp shell (with a hairline), plus a curtain for long hair or a ponytail for tied hair."""
        v, ez, phi = self.v, self.eye_z, np.abs(self.phi)
        line = ez + np.interp(phi, [0, 30, 55, 80, 100, 135, 180], [0.054, 0.054, 0.046, 0.036, 0.036, -0.005, -0.055])
        scalp = np.minimum(v[:, 2] - line + 0.004, -self._not("head", "neck", limit=0.6))
        thick = {"short": 0.010, "long": 0.012, "tied": 0.005}[style]
        feather = np.clip((v[:, 2] - line) / 0.02, 0.15, 1.0)
        top = np.clip((v[:, 2] - ez) / 0.09, 0.0, 1.0)
        out = [self.shell(scalp, 0.0015 + feather * thick * (0.5 + 0.5 * top), hem_m=0.001, blend=self.rigid_head)]
        out[0].covers = None
        if style == "long":
            phis = np.arange(70, 291, 7.5)
            bottom = ez + np.interp(np.abs((phis + 180) % 360 - 180), [70, 110, 140, 180], [-0.12, -0.16, -0.22, -0.26])
            cand = np.flatnonzero(((self.w["head"] + self.w["neck"] > 0.5) | (self._trunk() & (np.abs(v[:, 0]) < 0.1)))
                                  & (v[:, 2] > ez - 0.3) & (v[:, 2] < ez + 0.1) & (self.w["arm"] < 0.2))
            heads = np.flatnonzero((self.w["head"] > 0.9) & (v[:, 2] > ez - 0.02))
            out.append(self.ring(ez + 0.075, bottom, phis, cand, 0.008, self.head_c, 0.02, rows=12,
                                 blend=self.rigid_head, anchors=heads))
        elif style == "tied":
            back = self.head_c + np.array([0.0, 0.0, 0.02])
            back[1] = v[(self.w["head"] > 0.9) & (np.abs(v[:, 0]) < 0.01), 1].max() - 0.005
            t = np.linspace(0, 1, 9)
            spine = back + np.stack([0 * t, 0.05 * np.sin(t * np.pi / 2) + 0.012, -0.17 * t ** 1.3], 1)
            radius = 0.021 * (1.15 - 0.75 * t) * np.where(t < 0.1, 0.7, 1.0)
            a = np.radians(np.arange(0, 360, 45))
            ring = np.stack([np.cos(a), 0.85 * np.sin(a), 0 * a], 1)
            pts = (spine[:, None] + radius[:, None, None] * ring[None]).reshape(-1, 3)
            pts = np.concatenate([pts, spine[-1:] + [0, 0, -0.01]])
            c, k = len(a), len(t)
            quads = np.array([(r * c + j, r * c + (j + 1) % c, (r + 1) * c + (j + 1) % c, (r + 1) * c + j)
                              for r in range(k - 1) for j in range(c)])
            tip = np.array([((k - 1) * c + j, (k - 1) * c + (j + 1) % c, k * c) for j in range(c)])
            anchor = np.full(len(pts), self.rigid_head)
            out.append(Layer(*_single(anchor), anchor, np.zeros(len(pts), np.float32),
                             (pts - v[anchor]).astype(np.float32),
                             _outward(np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]], tip]), pts,
                                      spine[4]),
                             np.ones(len(pts), np.float32)))
        return out

    def beard(self) -> Layer:
        v, ez, phi = self.v, self.eye_z, np.abs(self.phi)
        line = ez + np.interp(phi, [0, 20, 45, 70, 90], [-0.052, -0.058, -0.05, -0.02, 0.0])
        chin = v[:, 2] - self.h["neck01"][2] - 0.03 + 0.4 * np.maximum(self.h["head"][1] - v[:, 1], 0)
        field = np.minimum.reduce([line - v[:, 2], (100 - phi) * 1e-3, -self._not("head", "neck"), chin,
                                   0.004 * (1 - self.lips)])
        return self.shell(field, 0.0012 + 0.004 * np.clip((line - v[:, 2]) / 0.02, 0, 1), blend=self.rigid_head)

    def brows(self, woman: bool) -> Layer:
        """Two arched strips on the brow ridge, each point on its nearest front-facing skin vertex."""
        v, ez = self.v, self.eye_z
        front = np.flatnonzero((self.w["head"] > 0.8) & (self.n[:, 1] < -0.4) & (np.abs(v[:, 2] - ez - 0.02) < 0.03)
                               & (v[:, 1] < self.h["eye.L"][1] + 0.02))
        t = np.linspace(0, 1, 9)
        x = 0.013 + 0.037 * t
        mid = ez + 0.018 + 0.007 * np.sin(np.pi * 0.85 * t)
        half = (0.0042 if not woman else 0.0031) * (1.1 - 0.7 * t)
        rows = []
        for sign in (1, -1):
            for dz in (half, -half):
                rows.append(np.stack([sign * x, 0 * x, mid + dz], 1))
        pts = np.concatenate(rows)
        close = ((pts[:, None, [0, 2]] - v[front][None, :, [0, 2]]) ** 2).sum(axis=2)
        near = front[np.argmin(np.where(close < 0.004 ** 2, v[front, 1][None], 1.0 + close), axis=1)]   # frontmost
        pts[:, 1] = v[near, 1]
        k = len(t)
        quads = np.array([(b + j, b + j + 1, b + k + j + 1, b + k + j) for b in (0, 2 * k) for j in range(k - 1)])
        return Layer(*_single(near), near, np.full(len(pts), 0.0025, np.float32), (pts - v[near]).astype(np.float32),
                     np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]), np.ones(len(pts), np.float32))

    def eye(self, side: str) -> Layer:
        """A finer eyeball on the ``eye.<side>`` joint, its rings coloured at run time by kind (in
        ``shade``: 0 pupil, 1 iris, 2 light iris, 3 limbal ring, 4 sclera); it replaces the baked
        72-vertex ball at the same centre and radius."""
        on = np.flatnonzero((self.asset.regions > 0) & ((self.v[:, 0] > 0) == (side == "L")))
        c = self.h[f"eye.{side}"]
        r = float(np.linalg.norm(self.v[on] - c, axis=1).mean())
        rings = [(0, 0), (4, 0), (9, 0), (9, 1), (13, 1), (18, 2), (23, 1), (26.5, 3), (26.5, 4), (34, 4)]
        rings += [(a, 4) for a in range(50, 181, 16)]
        seg = 32
        az = np.radians(np.arange(seg) * 360 / seg)
        polar = np.radians([a for a, _ in rings])[:, None]
        pts = c + r * np.stack([np.sin(polar) * np.cos(az), -np.cos(polar) * np.ones(seg), np.sin(polar) * np.sin(az)],
                               axis=2).reshape(-1, 3)
        kind = np.repeat([k for _, k in rings], seg).astype(np.float32)
        quads = np.array([(i * seg + j, (i + 1) * seg + j, (i + 1) * seg + (j + 1) % seg, i * seg + (j + 1) % seg)
                          for i in range(len(rings) - 1) for j in range(seg)])
        front = on[np.argmin(self.v[on, 1])]
        blend = on[np.argmin(self.w["head"][on])]
        anchor = np.full(len(pts), front)
        return Layer(*_single(anchor), np.full(len(pts), blend), np.zeros(len(pts), np.float32),
                     (pts - self.v[front]).astype(np.float32),
                     _outward(np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]), pts, c), kind)

    def highlight(self, side: str) -> Layer:
        """A small catch-light disc on the cornea, up and to the key light's side (drawn unlit)."""
        on = np.flatnonzero((self.asset.regions > 0) & ((self.v[:, 0] > 0) == (side == "L")))
        c = self.h[f"eye.{side}"]
        r = float(np.linalg.norm(self.v[on] - c, axis=1).mean()) * 1.003
        centre = np.array([0.16, -0.97, 0.17])
        centre /= np.linalg.norm(centre)
        u = np.cross(centre, [0, 0, 1.0]); u /= np.linalg.norm(u)
        w = np.cross(u, centre)
        a = np.radians(np.arange(0, 360, 45))
        disc = centre[None] + 0.085 * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * w)
        pts = c + r * np.concatenate([centre[None], disc / np.linalg.norm(disc, axis=1, keepdims=True)])
        front = on[np.argmin(self.v[on, 1])]
        blend = on[np.argmin(self.w["head"][on])]
        tris = np.array([(0, 1 + j, 1 + (j + 1) % 8) for j in range(8)])
        return Layer(*_single(np.full(9, front)), np.full(9, blend), np.zeros(9, np.float32),
                     (pts - self.v[front]).astype(np.float32),
                     tris, np.ones(9, np.float32))




def all_specs(asset: BodyAsset) -> dict[str, tuple[str, tuple]]:
    """Every piece any look can ask of this body, by key."""
    out: dict[str, tuple[str, tuple]] = {}
    for top, sleeve, jacket, bottom, hair, beard in itertools.product(
            ("shirt", "blouse", "tshirt", "jumper", "dress"), (0.3, 0.45, 0.97), ("none", "open", "closed"),
            ("trousers", "skirt"), HAIR_STYLES, (False, True)):
        look = Look(0, "office", top, sleeve, jacket, bottom, hair, beard)
        for _, key, method, args in piece_specs(look, asset):
            out[key] = (method, args)
    return out


def bake(asset: BodyAsset) -> dict[str, np.ndarray]:
    """The arrays of every piece of ``asset``: ``keys`` and per piece ``<i>.<field>``."""
    fitter, arrays, keys = Fitter(asset), {}, []
    for key, (method, args) in sorted(all_specs(asset).items()):
        made = getattr(fitter, method)(*args)
        for j, layer in enumerate(made if isinstance(made, list) else [made]):
            i = len(keys)
            keys.append(f"{key}#{j}")
            arrays[f"{i}.anchor"] = layer.anchor.astype(np.int32)
            arrays[f"{i}.weight"] = layer.weight.astype(np.float32)
            arrays[f"{i}.blend"] = layer.blend.astype(np.int32)
            arrays[f"{i}.offset_m"] = np.round(layer.offset_m, 5).astype(np.float32)
            arrays[f"{i}.extra"] = np.round(layer.extra, 5).astype(np.float32)
            arrays[f"{i}.faces"] = layer.faces.astype(np.int32)
            arrays[f"{i}.shade"] = layer.shade.astype(np.float16)
            arrays[f"{i}.covers"] = (np.zeros(0) if layer.covers is None else layer.covers).astype(np.int32)
    arrays["keys"] = np.array(keys)
    return arrays


def main() -> None:
    for name in BODY_NAMES:
        arrays = bake(load_body(name))
        path = ASSETS_DIR / f"garments_{name}.npz"
        write_npz(path, arrays)
        print(f"{path}: {len(arrays['keys'])} layers, {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
