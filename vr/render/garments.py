"""Dressed people: clothes, hair, eyebrows and eyes made from a baked body's own mesh, skinned with its weights.

Every piece is a *layer* of vertices tied to the body: vertex i sits at body vertex ``anchor[i]``
(shaped and face-posed, as ``BodyView`` last wrote it) plus ``offset_m[i]`` along that vertex's
normal plus a constant ``extra[i]`` (metres, the body's root frame), and takes the skin weights
of body vertex ``blend[i]``. So a garment follows the seeded shape (its deltas are the body's),
brows follow ``browInnerUp``, a beard follows ``jawOpen``, and Panda3D skins every layer with the
body's own joint transforms. Garments are shells over body regions chosen by skin weights and
height bands, with hems closed back to the skin; skirts and long hair are rings around the body
axis; hair, brows and beards are bound rigidly to the ``head`` joint, eyes to ``eye.L``/``eye.R``.

Layers are made at load time (numpy only, no baked files): a ``Wardrobe`` per body measures the
body once, then caches each distinct piece, so dressing a person costs a few milliseconds. A
``Look`` (chosen from a seed by ``look_for_seed``) says which pieces and colours a person wears.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np
from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, SparseArray, TransformBlendTable

from vr.render.bodies import BodyAsset, BodyView, vertex_normals

SCENES = ("office", "casual")
HAIR_STYLES = ("short", "long", "tied", "bald")
# Clothing colours (sRGB) a scene's seeds pick from.
PALETTES: dict[str, dict[str, list[tuple[float, float, float]]]] = {
    "office": {
        "top": [(0.93, 0.93, 0.91), (0.72, 0.80, 0.90), (0.90, 0.78, 0.80), (0.80, 0.80, 0.82), (0.93, 0.89, 0.80),
                (0.74, 0.70, 0.84)],
        "jacket": [(0.13, 0.16, 0.26), (0.20, 0.20, 0.22), (0.38, 0.38, 0.40), (0.08, 0.08, 0.09), (0.52, 0.42, 0.30),
                   (0.28, 0.30, 0.24)],
        "bottom": [(0.13, 0.15, 0.24), (0.18, 0.18, 0.20), (0.07, 0.07, 0.08), (0.36, 0.36, 0.38), (0.55, 0.50, 0.42)],
        "dress": [(0.14, 0.17, 0.32), (0.42, 0.10, 0.16), (0.12, 0.28, 0.22), (0.10, 0.10, 0.11)],
        "shoes": [(0.05, 0.05, 0.05), (0.26, 0.16, 0.10)],
    },
    "casual": {
        "top": [(0.72, 0.16, 0.15), (0.85, 0.66, 0.22), (0.15, 0.47, 0.50), (0.40, 0.45, 0.24), (0.30, 0.42, 0.62),
                (0.92, 0.92, 0.90), (0.12, 0.12, 0.13), (0.55, 0.30, 0.45), (0.90, 0.50, 0.35)],
        "jacket": [(0.26, 0.34, 0.50), (0.30, 0.24, 0.18), (0.12, 0.12, 0.12), (0.40, 0.42, 0.30)],
        "bottom": [(0.20, 0.28, 0.45), (0.15, 0.20, 0.32), (0.62, 0.55, 0.40), (0.10, 0.10, 0.11), (0.35, 0.35, 0.36)],
        "dress": [(0.20, 0.36, 0.58), (0.70, 0.25, 0.22), (0.85, 0.72, 0.35), (0.25, 0.40, 0.28)],
        "shoes": [(0.92, 0.92, 0.90), (0.30, 0.19, 0.11), (0.06, 0.06, 0.06), (0.45, 0.45, 0.48)],
    },
}
HAIR_RGB = [(0.06, 0.05, 0.05), (0.17, 0.11, 0.07), (0.30, 0.19, 0.11), (0.45, 0.32, 0.20), (0.72, 0.58, 0.36),
            (0.45, 0.20, 0.10)]
GREY_HAIR_RGB = [(0.55, 0.54, 0.52), (0.78, 0.77, 0.75)]


@dataclass(frozen=True)
class Look:
    """What one person wears: pieces by kind and colours (sRGB) by part; ``seed`` varies fabric shading."""

    seed: int
    scene: str
    top: str            # 'shirt' (collar), 'blouse' (V neck), 'tshirt', 'jumper' or 'dress'
    sleeve: float       # where the sleeve ends along the arm: 0 shoulder, 0.5 elbow, 1 wrist
    jacket: str         # 'none', 'open' or 'closed'
    bottom: str         # 'trousers' or 'skirt' (a dress is a top and a skirt of one colour)
    hair: str           # one of HAIR_STYLES
    beard: bool
    colours: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def look_for_seed(seed: int, body: str, scene: str = "office", age: float = 0.0) -> Look:
    """A seeded look for ``body`` ('female'/'male') suited to ``scene`` (one of SCENES); ``age`` is the
    body's age coefficient in [-1, 1] (older people are more often grey). Same arguments, same look."""
    if scene not in PALETTES:
        raise ValueError(f"unknown scene style {scene!r}; styles: {', '.join(SCENES)}")
    rng = np.random.default_rng([int(seed), 0x6A7E, SCENES.index(scene)])
    pal, woman = PALETTES[scene], body == "female"

    def pick(options):
        return options[int(rng.integers(len(options)))]

    office = scene == "office"
    top = pick(["shirt", "blouse", "dress", "jumper"] if woman else ["shirt", "shirt", "jumper"]) if office else \
        pick(["tshirt", "jumper", "blouse", "dress", "tshirt"] if woman else ["tshirt", "tshirt", "jumper", "shirt"])
    jacket = "none" if top == "dress" and not office else pick(["open", "closed", "none"] if office else
                                                             ["none", "none", "open"])
    bottom = "skirt" if top == "dress" else pick(["trousers", "skirt"] if woman else ["trousers"])
    sleeve = 0.97 if top in ("jumper", "shirt") or jacket != "none" else pick([0.3, 0.45, 0.97])
    hair = pick(["long", "tied", "short", "long"] if woman else ["short", "short", "bald", "tied" if not office else "short"])
    grey = rng.random() < 0.25 + 0.5 * max(age, 0.0)
    colours = {"top": pick(pal["dress"] if top == "dress" else pal["top"]), "jacket": pick(pal["jacket"]),
               "bottom": pick(pal["bottom"]), "shoes": pick(pal["shoes"]),
               "hair": pick(GREY_HAIR_RGB if grey else HAIR_RGB)}
    if top == "dress":
        colours["bottom"] = colours["top"]
    beard = not woman and rng.random() < 0.4
    return Look(int(seed), scene, top, sleeve, jacket, bottom, hair, beard, colours)


@dataclass
class Layer:
    """Vertices tied to body vertices (see the module docstring), triangles and per-vertex colours."""

    anchor: np.ndarray      # (N,) body vertex each vertex follows
    blend: np.ndarray       # (N,) body vertex whose skin weights it takes
    offset_m: np.ndarray    # (N,) along the anchor's normal
    extra: np.ndarray       # (N, 3) constant, metres
    faces: np.ndarray       # (M, 3) into this layer
    shade: np.ndarray       # (N,) colour multiplier (hems darker)
    covers: np.ndarray | None = None   # body vertices this layer hides
    rgb: np.ndarray | None = None      # (N, 3) own colours (eyes), else the part's colour times shade


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


class Wardrobe:
    """One body's measurements for fitting pieces, and a cache of the pieces made (build once per body)."""

    GROUPS = {"head": ("head", "eye"), "neck": ("neck",), "torso": ("spine", "clavicle"), "hip": ("root", "pelvis"),
              "arm": ("shoulder", "upperarm", "lowerarm"), "hand": ("wrist", "finger", "metacarpal"),
              "leg": ("upperleg", "lowerleg"), "foot": ("foot", "toe")}

    def __init__(self, asset: BodyAsset) -> None:
        self.asset, self._cache = asset, {}
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
        self.lips = (roll[0] > 0.003) | (roll[1] > 0.006)

    def _along(self, a_l, b_l, a_r, b_r, side) -> np.ndarray:
        a = np.where((side == "L")[:, None], a_l, a_r)
        b = np.where((side == "L")[:, None], b_l, b_r)
        return ((self.v - a) * (b - a)).sum(axis=1) / ((b - a) ** 2).sum(axis=1)

    def piece(self, key: tuple, make) -> Layer:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- shells over the body ------------------------------------------------------------------

    def shell(self, keep: np.ndarray, offset_m: np.ndarray | float, hem_m: float = 0.0008,
              blend: int | None = None, smooth: int = 6) -> Layer:
        """The body faces whose three vertices are all in ``keep``, pushed out along the normals,
        their open edges closed by a hem strip back down to ``hem_m`` above the skin."""
        faces = self.asset.faces[keep[self.asset.faces].all(axis=1)]
        used = np.unique(faces)
        remap = np.full(len(self.v), -1, np.int64)
        remap[used] = np.arange(len(used))
        f = remap[faces]
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        code = edges[:, 0] * len(used) + edges[:, 1]
        rim = edges[~np.isin(edges[:, 1] * len(used) + edges[:, 0], code)]
        ring = np.unique(rim)
        inner = np.full(len(used), -1, np.int64)
        inner[ring] = len(used) + np.arange(len(ring))
        hem = np.concatenate([np.stack([rim[:, 1], rim[:, 0], inner[rim[:, 0]]], 1),
                              np.stack([rim[:, 1], inner[rim[:, 0]], inner[rim[:, 1]]], 1)])
        off = np.broadcast_to(np.asarray(offset_m, np.float32), (len(self.v),))[used]
        anchor = np.concatenate([used, used[ring]])
        # the cut follows mesh edges and zigzags: slide the rim along itself into a smooth line
        nxt, prv = np.arange(len(used)), np.arange(len(used))
        nxt[rim[:, 0]], prv[rim[:, 1]] = rim[:, 1], rim[:, 0]
        p = self.v[used].astype(np.float64)
        for _ in range(smooth):
            p[ring] = 0.5 * p[ring] + 0.25 * (p[nxt[ring]] + p[prv[ring]])
        extra = np.zeros((len(anchor), 3), np.float32)
        extra[ring] = extra[len(used):] = p[ring] - self.v[used[ring]]
        shade = np.ones(len(anchor), np.float32)
        shade[ring] = shade[len(used):] = 0.8
        interior = np.setdiff1d(used, used[ring])
        return Layer(anchor, anchor if blend is None else np.full(len(anchor), blend), np.concatenate(
            [off, np.full(len(ring), hem_m, np.float32)]), extra,
            np.concatenate([f, hem]), shade, interior if np.min(off) >= 0.002 else None)

    def ring(self, z_top: float, z_bottom: np.ndarray, phis: np.ndarray, candidates: np.ndarray, margin_m: float,
             center: np.ndarray, flare_m: float = 0.0, rows: int = 12, blend: int | None = None,
             anchors: np.ndarray | None = None) -> Layer:
        """A tube around the vertical axis through ``center`` from ``z_top`` down to ``z_bottom[phi]``,
        never narrower below than the body above it (``candidates``) plus ``margin_m``; closed at the bottom."""
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
                radius = (rad[above].max() if above.any() else 0.05) + margin_m + flare_m * u[r] ** 1.5
                a = np.radians(p)
                pts[r, k] = [center[0] + radius * np.sin(a), center[1] - radius * np.cos(a), z[r, k]]
            pts[rows, k] = pts[rows - 1, k] + (center - pts[rows - 1, k]) * np.array([0.06, 0.06, 0])
        pts = pts.reshape(-1, 3)
        pool = candidates if anchors is None else anchors
        nearest = pool[np.argmin(((pts[:, None, :] - self.v[pool][None]) ** 2).sum(axis=2), axis=1)]
        cols = len(phis)
        closed = abs((phis[-1] - phis[0]) % 360 - 360 + (phis[1] - phis[0])) < 1e-6
        quads = [(r * cols + k, r * cols + (k + 1) % cols, (r + 1) * cols + (k + 1) % cols, (r + 1) * cols + k)
                 for r in range(rows) for k in range(cols if closed else cols - 1)]
        q = np.array(quads)
        shade = np.ones(len(pts), np.float32)
        shade[rows * cols:] = 0.75
        return Layer(nearest, nearest if blend is None else np.full(len(pts), blend), np.zeros(len(pts), np.float32),
                     (pts - self.v[nearest]).astype(np.float32), np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]),
                     shade)

    # -- the pieces ----------------------------------------------------------------------------

    def _trunk(self) -> np.ndarray:
        return (self.w["torso"] + self.w["hip"] >= 0.5) & (self.w["head"] + self.w["neck"] < 0.2)

    def top(self, kind: str, sleeve: float, z_bottom: float, offset_m: float, neck_drop_m: float,
            front_open_m: float = 0.0) -> Layer:
        """A shirt, blouse, jumper or jacket: the trunk from ``z_bottom`` to a neckline ``neck_drop_m``
        below the neck joint at the front (a V for a blouse or jacket), sleeves to ``sleeve``."""
        v = self.v
        arm = (self.w["arm"] + self.w["hand"] >= 0.5) & (self.w["hand"] < 0.3) & (self.s_arm < sleeve)
        neckline = self.neck_z - 0.015 - np.where(v[:, 1] < self.h["neck01"][1], neck_drop_m, 0.0)
        if kind in ("blouse", "jacket"):
            neckline = neckline + np.where(v[:, 1] < 0, 1.6 * np.abs(v[:, 0]), 0.0)
        keep = (self._trunk() & (v[:, 2] > z_bottom) & (v[:, 2] < neckline)) | arm
        if front_open_m > 0:
            keep &= ~((np.abs(v[:, 0]) < front_open_m) & (v[:, 1] < self.h["spine03"][1]) & ~arm)
        return self.shell(keep, offset_m)

    def trousers(self, z_top: float, offset_m: float) -> Layer:
        keep = (((self.w["hip"] + self.w["torso"] >= 0.5) & (self.v[:, 2] < z_top)) |
                ((self.w["leg"] >= 0.5) & (self.s_leg < 0.93))) & (self.w["arm"] + self.w["hand"] < 0.5)
        return self.shell(keep, offset_m)

    def shoes(self) -> Layer:
        keep = ((self.w["foot"] >= 0.3) | ((self.w["leg"] >= 0.5) & (self.s_leg > 0.9))) & (self.v[:, 2] < 0.12)
        return self.shell(keep, np.where(self.v[:, 2] < 0.01, 0.0015, 0.005))

    def skirt(self, z_top: float, z_hem: float, flare_m: float) -> Layer:
        body = ((self.w["hip"] + self.w["leg"] + self.w["torso"] >= 0.5) & (self.w["arm"] + self.w["hand"] < 0.2))
        cand = np.flatnonzero(body & (self.v[:, 2] < z_top + 0.03) & (self.v[:, 2] > z_hem - 0.03))
        hips = np.flatnonzero(body & (self.v[:, 2] > self.h["upperleg01.L"][2] - 0.06) & (self.v[:, 2] < z_top + 0.03))
        phis = np.arange(-180, 180, 7.5)
        center = np.array([0.0, float(self.v[hips, 1].mean()), 0.0])
        return self.ring(z_top, np.full(len(phis), z_hem), phis, cand, 0.012, center, flare_m, anchors=hips)

    def hair(self, style: str) -> list[Layer]:
        """Scalp shell (with a hairline), plus a curtain for long hair or a ponytail for tied hair."""
        v, ez, phi = self.v, self.eye_z, np.abs(self.phi)
        line = ez + np.interp(phi, [0, 30, 55, 80, 100, 135, 180], [0.050, 0.055, 0.046, 0.036, 0.036, -0.005, -0.055])
        scalp = (self.w["head"] + self.w["neck"] > 0.6) & (v[:, 2] > line - 0.004) & ~self.lips
        thick = {"short": 0.010, "long": 0.012, "tied": 0.005}[style]
        feather = np.clip((v[:, 2] - line) / 0.02, 0.15, 1.0)
        top = np.clip((v[:, 2] - ez) / 0.09, 0.0, 1.0)
        out = [self.shell(scalp, 0.0015 + feather * thick * (0.5 + 0.5 * top), hem_m=0.001, blend=self.rigid_head, smooth=0)]
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
            spine = back + np.stack([0 * t, 0.035 * np.sin(t * np.pi / 2) + 0.01, -0.17 * t ** 1.3], 1)
            radius = 0.016 * (1.15 - 0.75 * t) * np.where(t < 0.1, 0.7, 1.0)
            a = np.radians(np.arange(0, 360, 45))
            ring = np.stack([np.cos(a), 0.6 * np.sin(a), 0 * a], 1)
            pts = (spine[:, None] + radius[:, None, None] * ring[None]).reshape(-1, 3)
            pts = np.concatenate([pts, spine[-1:] + [0, 0, -0.01]])
            c, k = len(a), len(t)
            quads = np.array([(r * c + j, r * c + (j + 1) % c, (r + 1) * c + (j + 1) % c, (r + 1) * c + j)
                              for r in range(k - 1) for j in range(c)])
            tip = np.array([((k - 1) * c + j, (k - 1) * c + (j + 1) % c, k * c) for j in range(c)])
            anchor = np.full(len(pts), self.rigid_head)
            out.append(Layer(anchor, anchor, np.zeros(len(pts), np.float32), (pts - v[anchor]).astype(np.float32),
                             np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]], tip]),
                             np.ones(len(pts), np.float32)))
        return out

    def beard(self) -> Layer:
        v, ez, phi = self.v, self.eye_z, np.abs(self.phi)
        line = ez + np.interp(phi, [0, 20, 45, 70, 90], [-0.052, -0.058, -0.05, -0.02, 0.0])
        keep = (self.w["head"] + self.w["neck"] > 0.5) & (v[:, 2] < line) & (phi < 100) & ~self.lips
        keep &= v[:, 2] > self.h["neck01"][2] + 0.03 - 0.4 * np.maximum(self.h["head"][1] - v[:, 1], 0)
        return self.shell(keep, 0.0012 + 0.004 * np.clip((line - v[:, 2]) / 0.02, 0, 1), blend=self.rigid_head, smooth=0)

    def brows(self, woman: bool) -> Layer:
        """Two arched strips on the brow ridge, each point on its nearest front-facing skin vertex."""
        v, ez = self.v, self.eye_z
        front = np.flatnonzero((self.w["head"] > 0.8) & (self.n[:, 1] < -0.4) & (np.abs(v[:, 2] - ez - 0.02) < 0.03)
                               & (v[:, 1] < self.h["eye.L"][1] + 0.02))
        t = np.linspace(0, 1, 9)
        x = 0.014 + 0.046 * t
        mid = ez + 0.017 + 0.009 * np.sin(np.pi * np.minimum(t / 0.75, 1.0) * 0.9) - 0.004 * t
        half = (0.0045 if not woman else 0.0036) * (1.1 - 0.7 * t)
        rows = []
        for sign in (1, -1):
            for dz in (half, -half):
                rows.append(np.stack([sign * x, 0 * x, mid + dz], 1))
        pts = np.concatenate(rows)
        near = front[np.argmin(((pts[:, None, [0, 2]] - v[front][None, :, [0, 2]]) ** 2).sum(axis=2), axis=1)]
        pts[:, 1] = v[near, 1]
        k = len(t)
        quads = np.array([(b + j, b + j + 1, b + k + j + 1, b + k + j) for b in (0, 2 * k) for j in range(k - 1)])
        return Layer(near, near, np.full(len(pts), 0.0025, np.float32), (pts - v[near]).astype(np.float32),
                     np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]), np.ones(len(pts), np.float32))

    def eye(self, side: str, iris_rgb: np.ndarray, seed: int) -> Layer:
        """A finer eyeball on the ``eye.<side>`` joint: pupil, a fibrous iris with a dark limbal
        ring, sclera; it replaces the baked 72-vertex ball at the same centre and radius."""
        on = np.flatnonzero((self.asset.regions > 0) & ((self.v[:, 0] > 0) == (side == "L")))
        c = self.h[f"eye.{side}"]
        r = float(np.linalg.norm(self.v[on] - c, axis=1).mean())
        rings = [(0, 0), (4, 0), (9, 0), (9, 1), (13, 1), (18, 2), (23, 1), (26.5, 3), (26.5, 4), (34, 4)]
        rings += [(a, 4) for a in range(50, 181, 16)]
        seg = 32
        az = np.radians(np.arange(seg) * 360 / seg)
        pts, cols = [], []
        rng = np.random.default_rng([seed, 0xE7E])
        iris = np.asarray(iris_rgb, np.float32)
        tone = [np.full(3, 0.02), iris * 0.8, iris * 1.25, iris * 0.35, np.array([0.94, 0.93, 0.91])]
        for a_deg, kind in rings:
            a = np.radians(a_deg)
            d = np.stack([np.sin(a) * np.cos(az), -np.cos(a) * np.ones(seg), np.sin(a) * np.sin(az)], 1)
            pts.append(c + r * d)
            fibre = 1.0 + (0.25 * rng.standard_normal(seg) if kind in (1, 2) else 0.0)
            cols.append(np.clip(tone[kind][None] * np.atleast_1d(fibre)[:, None], 0, 1) * np.ones((seg, 1)))
        pts, rgb = np.concatenate(pts), np.concatenate(cols).astype(np.float32)
        n = len(rings)
        quads = np.array([(i * seg + j, (i + 1) * seg + j, (i + 1) * seg + (j + 1) % seg, i * seg + (j + 1) % seg)
                          for i in range(n - 1) for j in range(seg)])
        front = on[np.argmin(self.v[on, 1])]
        blend = on[np.argmax(self.w["head"][on] * -1)]
        anchor = np.full(len(pts), front)
        return Layer(anchor, np.full(len(pts), blend), np.zeros(len(pts), np.float32),
                     (pts - self.v[front]).astype(np.float32),
                     np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]), np.ones(len(pts), np.float32), rgb=rgb)

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
        return Layer(np.full(9, front), np.full(9, blend), np.zeros(9, np.float32), (pts - self.v[front]).astype(np.float32),
                     tris, np.ones(9, np.float32), rgb=np.ones((9, 3), np.float32))


def pieces(wardrobe: Wardrobe, look: Look, woman: bool) -> list[tuple[str, Layer]]:
    """The layers of ``look`` by colour part, innermost first (their offsets stack outwards)."""
    w, z_waist = wardrobe, float(wardrobe.h["spine03"][2]) - 0.02
    out: list[tuple[str, Layer]] = [("shoes", w.piece(("shoes",), w.shoes))]
    skirt = look.bottom == "skirt"
    if not skirt:
        out.append(("bottom", w.piece(("trousers",), lambda: w.trousers(z_waist + 0.02, 0.006))))
    tucked = look.top in ("shirt", "blouse") and not skirt
    drop = {"shirt": 0.03, "blouse": 0.05, "tshirt": 0.02, "jumper": 0.01, "dress": 0.04}[look.top]
    z_top_bottom = z_waist - (0.04 if tucked else 0.12 if look.top == "jumper" else 0.08)
    if look.top == "dress" or skirt:
        z_top_bottom = z_waist - 0.05
    offset = 0.009 if look.top == "jumper" else 0.004
    out.append(("top", w.piece(("top", look.top, look.sleeve, z_top_bottom),
                               lambda: w.top(look.top, look.sleeve, z_top_bottom, offset, drop))))
    if skirt:
        knee = float(w.h["lowerleg01.L"][2])
        hem = knee - (0.08 if look.top == "dress" else 0.02)
        out.append(("bottom", w.piece(("skirt", hem), lambda: w.skirt(z_waist + 0.03, hem, 0.03))))
    if look.jacket != "none":
        opening = 0.07 if look.jacket == "open" else 0.0
        out.append(("jacket", w.piece(("jacket", opening), lambda: w.top(
            "jacket", 0.96, z_waist - 0.2, 0.016, 0.15 if opening else 0.13, opening))))
    if look.hair != "bald":
        out += [("hair", layer) for layer in w.piece(("hair", look.hair), lambda: w.hair(look.hair))]
    if look.beard:
        out.append(("hair", w.piece(("beard",), w.beard)))
    out.append(("brows", w.piece(("brows", woman), lambda: w.brows(woman))))
    return out


class Outfit:
    """One person's clothes, hair, brows and eyes in the scene graph, skinned with the body.

    All lit layers share one vertex array and one draw; the eyes' catch-lights are a second, unlit
    draw. Built by ``dress``; it re-fits itself whenever the body is re-shaped or its face moves."""

    def __init__(self, view: BodyView, wardrobe: Wardrobe, look: Look) -> None:
        self.view, self.look = view, look
        woman = view.asset.name == "female"
        lit = pieces(wardrobe, look, woman)
        lit += [("eye", wardrobe.eye(s, view.palette[2], look.seed)) for s in "LR"]
        glints = [("glint", wardrobe.highlight(s)) for s in "LR"]
        rng = np.random.default_rng([look.seed, 0xC10])
        self._parts: list[tuple[Layer, np.ndarray, np.ndarray]] = []
        self.node = view.geom_path.getParent().attachNewNode("outfit")
        self.node.setTwoSided(True)
        self._lit = self._build(lit, rng, "clothes")
        self._glint = self._build(glints, rng, "glints")
        self._glint[0].setShaderOff(20)
        self._glint[0].setLightOff(20)
        body = view.asset
        covered = np.zeros(len(body.vertices), bool)
        for _, layer in lit:
            if layer.covers is not None:
                covered[layer.covers] = True
        keep = ~covered[body.faces].all(axis=1) & (body.regions[body.faces] == 0).all(axis=1)
        view.set_visible_faces(keep)
        view.add_vertex_listener(self._follow)

    def _build(self, parts: list[tuple[str, Layer]], rng: np.random.Generator, name: str):
        anchor = np.concatenate([p.anchor for _, p in parts])
        blend = np.concatenate([p.blend for _, p in parts])
        offset = np.concatenate([p.offset_m for _, p in parts])[:, None]
        extra = np.concatenate([p.extra for _, p in parts])
        starts = np.cumsum([0] + [len(p.anchor) for _, p in parts])
        faces = np.concatenate([p.faces + s for (_, p), s in zip(parts, starts)]).astype(np.uint32)
        rgb = []
        for part, layer in parts:
            if layer.rgb is not None:
                rgb.append(layer.rgb)
                continue
            base = np.asarray(self.look.colours.get(part, (0.1, 0.08, 0.07)), np.float32)
            if part == "brows":
                base = np.asarray(self.look.colours["hair"], np.float32) * 0.7
            grain = 1.0 + (0.05 if part in ("hair", "brows") else 0.015) * rng.standard_normal(len(layer.anchor))
            rgb.append(np.clip(base[None] * (layer.shade * grain)[:, None], 0, 1))
        src = self.view.geom_path.node().getGeom(0).getVertexData()
        data = GeomVertexData(name, src.getFormat(), Geom.UH_dynamic)
        table = TransformBlendTable(src.getTransformBlendTable())   # the body's blends, on this layer's rows
        table.setRows(SparseArray.range(0, len(anchor)))
        data.setTransformBlendTable(table)
        if src.getTransformTable() is not None:
            data.setTransformTable(src.getTransformTable())
        data.setNumRows(len(anchor))
        for k in (1, 2):       # each vertex's skin: the rows of the body vertices it takes weights from
            stride = src.getArray(k).getArrayFormat().getStride()
            rows = np.frombuffer(src.getArray(k).getHandle().getData(), np.uint8).reshape(-1, stride)
            data.modifyArray(k).modifyHandle().setData(rows[blend].tobytes())
        prim = GeomTriangles(Geom.UH_static)
        prim.setIndexType(Geom.NT_uint32)
        prim.modifyVertices().setNumRows(faces.size)
        np.frombuffer(memoryview(prim.modifyVertices()).cast("B"), np.uint32)[:] = faces.reshape(-1)
        geom = Geom(data)
        geom.addPrimitive(prim)
        node = GeomNode(name)
        node.addGeom(geom)
        path = self.node.attachNewNode(node)
        colour = np.concatenate([np.round(np.concatenate(rgb) * 255), np.full((len(anchor), 1), 255)], 1)
        self._vertex_view(geom)["c"] = colour.astype(np.uint8)
        return path, geom, anchor, offset, extra, faces.astype(np.int64)

    @staticmethod
    def _vertex_view(geom: Geom) -> np.ndarray:
        array = geom.modifyVertexData().modifyArray(0)
        fmt = array.getArrayFormat()
        cols = {c.getName().getName(): c.getStart() for c in fmt.getColumns()}
        dtype = np.dtype({"names": ["v", "n", "c"], "formats": [("<f4", (3,)), ("<f4", (3,)), ("u1", (4,))],
                          "offsets": [cols["vertex"], cols["normal"], cols["color"]], "itemsize": fmt.getStride()})
        return np.frombuffer(memoryview(array).cast("B"), dtype)

    def _follow(self, vertices: np.ndarray, normals: np.ndarray) -> None:
        for _, geom, anchor, offset, extra, faces in (self._lit, self._glint):
            pos = vertices[anchor] + normals[anchor] * offset + extra
            data = self._vertex_view(geom)
            data["v"] = pos
            data["n"] = vertex_normals(pos, faces)

    def report(self) -> dict:
        return {"look": self.look.__dict__, "vertices": int(len(self._lit[2]) + len(self._glint[2])),
                "triangles": int(len(self._lit[5]) + len(self._glint[5]))}


def dress(view: BodyView, wardrobe: Wardrobe, look: Look | None = None, scene: str = "office") -> Outfit:
    """Dress ``view`` in ``look`` (by default the view's seeded look for ``scene``); ``wardrobe`` is
    ``Wardrobe(view.asset)``, made once per body and shared by every person of that body."""
    if wardrobe.asset is not view.asset:
        raise ValueError(f"wardrobe is for body {wardrobe.asset.name!r}, the view is {view.asset.name!r}")
    if look is None:
        look = look_for_seed(view.seed or 0, view.asset.name, scene, view.shape.get("age", 0.0))
    return Outfit(view, wardrobe, look)
