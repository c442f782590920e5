"""Dressed people: clothes, hair, eyebrows and eyes fitted to a baked body, skinned with its weights.

The pieces are baked from each body's own mesh by ``scripts/bake_garments.py`` into
``assets/humans/garments_<body>.npz`` (numpy only; see that script for how they are fitted).
Every piece is a *layer* of vertices tied to the body: vertex i sits at a weighted blend of a few
body vertices ``anchor[i]`` (shaped and face-posed, as ``BodyView`` last wrote them) plus
``offset_m[i]`` along their blended normal plus a constant ``extra[i]`` (metres, the body's root
frame), and takes the skin weights of body vertex ``blend[i]``. So a garment follows the seeded
shape (its deltas are the body's), brows follow ``browInnerUp``, a beard follows ``jawOpen``, and
Panda3D skins every layer with the body's own joints; hair, brows and beards take the ``head``
joint's weights, eyes ``eye.L``/``eye.R``.

A ``Look`` (``look_for_seed``: the same seed, the same look) says which pieces and colours a person
wears; ``dress`` puts them on a ``BodyView``. Frames and units are ``vr.render.bodies``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, SparseArray, TransformBlendTable

from vr.render.bodies import ASSETS_DIR, BodyAsset, BodyView, vertex_normals

SCENES = ("office", "casual")
LOOKS_PATH = ASSETS_DIR / "looks.json"   # the colours seeds pick from, by scene style and part
HAIR_STYLES = ("short", "long", "tied", "bald")
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


def look_for_seed(seed: int, body: str, scene: str = "office", age: float = 0.0, colours: Path = LOOKS_PATH) -> Look:
    """A seeded look for ``body`` ('female'/'male') suited to ``scene`` (one of SCENES); ``age`` is the
    body's age coefficient in [-1, 1] (older people are more often grey); ``colours`` the palette
    file. Same arguments, same look."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene style {scene!r}; styles: {', '.join(SCENES)}")
    table = json.loads(colours.read_text())
    rng = np.random.default_rng([int(seed), 0x6A7E, SCENES.index(scene)])
    pal, woman = table["scenes"][scene], body == "female"

    def pick(options):
        choice = options[int(rng.integers(len(options)))]
        return tuple(choice) if isinstance(choice, list) else choice

    office = scene == "office"
    top = pick(["shirt", "blouse", "dress", "jumper"] if woman else ["shirt", "shirt", "jumper"]) if office else \
        pick(["tshirt", "jumper", "blouse", "dress", "tshirt"] if woman else ["tshirt", "tshirt", "jumper", "shirt"])
    jacket = "none" if top == "dress" and not office else pick(["open", "closed", "none"] if office else
                                                             ["none", "none", "open"])
    bottom = "skirt" if top == "dress" else pick(["trousers", "skirt"] if woman else ["trousers"])
    sleeve = 0.97 if top in ("jumper", "shirt") or jacket != "none" else pick([0.3, 0.45, 0.97])
    men_hair = ["short", "short", "bald", "short" if office else "tied"]
    hair = pick(["long", "tied", "short", "long"] if woman else men_hair)
    grey = rng.random() < 0.06 + 0.6 * max(age - 0.2, 0.0)
    colours = {"top": pick(pal["dress"] if top == "dress" else pal["top"]), "jacket": pick(pal["jacket"]),
               "bottom": pick(pal["bottom"]), "shoes": pick(pal["shoes"]),
               "hair": pick(table["grey_hair" if grey else "hair"])}
    if top == "dress":
        colours["bottom"] = colours["top"]
    beard = not woman and rng.random() < 0.4
    return Look(int(seed), scene, top, sleeve, jacket, bottom, hair, beard, colours)


@dataclass
class Layer:
    """Vertices tied to body vertices (see the module docstring), triangles and per-vertex colours."""

    anchor: np.ndarray      # (N, K) body vertices each vertex follows ...
    weight: np.ndarray      # (N, K) ... blended with these weights (rows sum to 1)
    blend: np.ndarray       # (N,) body vertex whose skin weights it takes
    offset_m: np.ndarray    # (N,) along the anchor's normal
    extra: np.ndarray       # (N, 3) constant, metres
    faces: np.ndarray       # (M, 3) into this layer
    shade: np.ndarray       # (N,) colour multiplier (hems darker); for eyes the ring's kind
    covers: np.ndarray | None = None   # body vertices this layer hides (all of a triangle's: not drawn)


def piece_specs(look: Look, asset: BodyAsset) -> list[tuple[str, str, str, tuple]]:
    """The pieces of ``look`` on ``asset``, innermost first (their offsets stack outwards), as
    (colour part, key in the baked wardrobe, fitting method, its arguments); the bake makes every
    key any look can ask for (``scripts/bake_garments.py``)."""
    h = dict(zip(asset.joint_names, asset.joint_heads.tolist()))
    z_waist, knee = round(h["spine03"][2] - 0.02, 4), round(h["lowerleg01.L"][2], 4)
    out: list[tuple[str, str, tuple]] = [("shoes", "shoes", ())]
    skirt = look.bottom == "skirt"
    if not skirt:
        out.append(("bottom", "trousers", (round(z_waist + 0.02, 4), 0.008)))
    tucked = look.top in ("shirt", "blouse") and not skirt
    drop = {"shirt": 0.03, "blouse": 0.05, "tshirt": 0.02, "jumper": 0.01, "dress": 0.04}[look.top]
    jumper = look.top == "jumper"
    bottom = z_waist - (0.05 if look.top == "dress" or skirt else 0.04 if tucked else 0.06 if jumper else 0.05)
    out.append(("top", "top", (look.top, look.sleeve, round(bottom, 4), 0.011 if jumper else 0.004, drop)))
    if skirt:
        hem = knee - (0.08 if look.top == "dress" else 0.02)
        out.append(("bottom", "skirt", (round(z_waist + 0.03, 4), round(hem, 4), 0.03)))
    if look.jacket != "none":
        opening = 0.07 if look.jacket == "open" else 0.0
        hem = z_waist + 0.035 if skirt else z_waist - 0.2       # over a skirt it stops at the waistband
        out.append(("jacket", "top", ("jacket", 0.96, round(hem, 4), 0.016, 0.15 if opening else 0.13, opening)))
    if look.hair != "bald":
        out.append(("hair", "hair", (look.hair,)))
    if look.beard:
        out.append(("hair", "beard", ()))
    out.append(("brows", "brows", (asset.name == "female",)))
    out += [("eye", "eye", (side,)) for side in "LR"] + [("glint", "highlight", (side,)) for side in "LR"]
    return [(part, f"{method}{json.dumps(list(args))}", method, args) for part, method, args in out]


class Wardrobe:
    """One body's baked pieces (``assets/humans/garments_<body>.npz``), loaded once and shared by
    every person of that body: layers by key (``piece_specs``)."""

    def __init__(self, asset: BodyAsset, assets_dir: Path = ASSETS_DIR) -> None:
        path = assets_dir / f"garments_{asset.name}.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path}: baked garments missing; make them with scripts/bake_garments.py "
                                    "(see assets/humans/README.md)")
        self.asset, self.layers = asset, {}
        with np.load(path, allow_pickle=False) as d:
            for i, key in enumerate(str(k) for k in d["keys"]):
                f = {name: d[f"{i}.{name}"] for name in ("anchor", "weight", "blend", "offset_m", "extra", "faces",
                                                         "shade", "covers")}
                if f["anchor"].max(initial=0) >= len(asset.vertices):
                    raise ValueError(f"{path}: piece {key} is for another body; re-bake with scripts/bake_garments.py")
                self.layers.setdefault(key.rsplit("#", 1)[0], []).append(Layer(
                    f["anchor"].astype(np.int64), f["weight"], f["blend"].astype(np.int64), f["offset_m"], f["extra"],
                    f["faces"].astype(np.int64), f["shade"].astype(np.float32),
                    f["covers"].astype(np.int64) if len(f["covers"]) else None))

    def pieces(self, look: Look) -> list[tuple[str, Layer]]:
        """The layers of ``look`` by colour part."""
        out = []
        for part, key, _, _ in piece_specs(look, self.asset):
            if key not in self.layers:
                raise KeyError(f"no baked piece {key} for body {self.asset.name!r}; "
                               "re-bake with scripts/bake_garments.py")
            out += [(part, layer) for layer in self.layers[key]]
        return out


class Outfit:
    """One person's clothes, hair, brows and eyes in the scene graph, skinned with the body.

    All lit layers share one vertex array and one draw; the eyes' catch-lights are a second, unlit
    draw. Built by ``dress``; it re-fits itself whenever the body is re-shaped or its face moves."""

    def __init__(self, view: BodyView, wardrobe: Wardrobe, look: Look) -> None:
        self.view, self.look = view, look
        layers = wardrobe.pieces(look)
        lit = [(part, layer) for part, layer in layers if part != "glint"]
        glints = [(part, layer) for part, layer in layers if part == "glint"]
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
        weight = np.concatenate([p.weight for _, p in parts])
        blend = np.concatenate([p.blend for _, p in parts])
        offset = np.concatenate([p.offset_m for _, p in parts])[:, None]
        extra = np.concatenate([p.extra for _, p in parts])
        starts = np.cumsum([0] + [len(p.anchor) for _, p in parts])
        faces = np.concatenate([p.faces + s for (_, p), s in zip(parts, starts)]).astype(np.uint32)
        rgb = []
        iris = self.view.palette[2]
        tones = np.array([(0.02, 0.02, 0.02), iris * 0.8, iris * 1.25, iris * 0.35, (0.94, 0.93, 0.91)], np.float32)
        for part, layer in parts:
            if part == "eye":      # shade holds the ring's kind; irises get radial fibres
                kind = np.round(layer.shade).astype(int)
                fibre = 1.0 + 0.25 * rng.standard_normal(len(kind)) * np.isin(kind, (1, 2))
                rgb.append(np.clip(tones[kind] * fibre[:, None], 0, 1))
                continue
            base = np.asarray(self.look.colours.get(part, (1.0, 1.0, 1.0)), np.float32)
            if part == "brows":
                base = np.asarray(self.look.colours["hair"], np.float32) * 0.8
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
        return path, geom, anchor, weight, offset, extra, faces.astype(np.int64)

    @staticmethod
    def _vertex_view(geom: Geom) -> np.ndarray:
        array = geom.modifyVertexData().modifyArray(0)
        fmt = array.getArrayFormat()
        cols = {c.getName().getName(): c.getStart() for c in fmt.getColumns()}
        dtype = np.dtype({"names": ["v", "n", "c"], "formats": [("<f4", (3,)), ("<f4", (3,)), ("u1", (4,))],
                          "offsets": [cols["vertex"], cols["normal"], cols["color"]], "itemsize": fmt.getStride()})
        return np.frombuffer(memoryview(array).cast("B"), dtype)

    def _follow(self, vertices: np.ndarray, normals: np.ndarray) -> None:
        for _, geom, anchor, weight, offset, extra, faces in (self._lit, self._glint):
            pos = (np.einsum("nk,nkc->nc", weight, vertices[anchor]) + np.einsum("nk,nkc->nc", weight, normals[anchor])
                   * offset + extra)
            data = self._vertex_view(geom)
            data["v"] = pos
            data["n"] = vertex_normals(pos, faces)

    def report(self) -> dict:
        return {"look": self.look.__dict__, "vertices": int(len(self._lit[2]) + len(self._glint[2])),
                "triangles": int(len(self._lit[6]) + len(self._glint[6]))}


def dress(view: BodyView, wardrobe: Wardrobe, look: Look | None = None, scene: str = "office") -> Outfit:
    """Dress ``view`` in ``look`` (by default the view's seeded look for ``scene``); ``wardrobe`` is
    ``Wardrobe(view.asset)``, made once per body and shared by every person of that body."""
    if wardrobe.asset is not view.asset:
        raise ValueError(f"wardrobe is for body {wardrobe.asset.name!r}, the view is {view.asset.name!r}")
    if look is None:
        look = look_for_seed(view.seed or 0, view.asset.name, scene, view.shape.get("age", 0.0))
    return Outfit(view, wardrobe, look)


def render_pictures(out_dir: Path, size: tuple[int, int] = (1200, 520)) -> list[Path]:
    """docs/images/people_face.png (a dressed face from 0.8 m), people_twenty.png (seeds 1-10 in
    office clothes above seeds 11-20 in casual ones) and people_same_seed.png (seed 9 twice), lit by
    the toolkit's shader, seen from a standing patient's eye height."""
    import math

    from panda3d.core import PNMImage

    from vr.render import bodies

    base = bodies.picture_studio(size, "people", far_m=60)
    library = {}
    for name in bodies.BODY_NAMES:
        asset = bodies.load_body(name)
        library[name] = (asset, bodies.load_template(asset), Wardrobe(asset))

    def person(seed: int, scene: str, x_m: float) -> BodyView:
        asset, template, wardrobe = library[bodies.BODY_NAMES[(seed * 7 + seed // 3) % 2]]
        view = BodyView(asset, template, base.render, seed=seed)
        dress(view, wardrobe, scene=scene)
        view.root.setPos(x_m, 0, 0)
        return view

    def shot(views: list[BodyView], distance_m: float, yaw_deg: float, target_z: float, vfov_deg: float) -> PNMImage:
        half = math.tan(math.radians(vfov_deg) / 2)
        base.camLens.setFov(math.degrees(2 * math.atan(half * size[0] / size[1])), vfov_deg)
        yaw = math.radians(yaw_deg)
        base.cam.setPos(distance_m * math.sin(yaw), -distance_m * math.cos(yaw), 1.6)
        base.cam.lookAt(0, 0, target_z)
        base.graphicsEngine.renderFrame()
        base.graphicsEngine.renderFrame()
        image = PNMImage()
        base.win.getScreenshot(image)
        for view in views:
            view.root.cleanup()
            view.root.removeNode()
        return image

    out_dir.mkdir(parents=True, exist_ok=True)
    face = person(6, "office", 0.0)
    face.turn_joint("head", (12, 0, 0))
    face.set_face({"mouthSmileLeft": 0.3, "mouthSmileRight": 0.3})
    images = {"people_face.png": shot([face], 0.8, 35, face.joint_position("eye.L")[2] - 0.04, 26)}
    rows = []
    for first, scene in ((1, "office"), (11, "casual")):
        people = [person(s, scene, (s - first - 4.5) * 0.68) for s in range(first, first + 10)]
        rows.append(shot(people, 9.0, 0, 0.82, 20))
    twenty = PNMImage(size[0], 2 * size[1])
    for k, row in enumerate(rows):
        twenty.copySubImage(row, 0, k * size[1])
    images["people_twenty.png"] = twenty
    images["people_same_seed.png"] = shot([person(9, "office", -0.6), person(9, "office", 0.6)], 3.6, 0, 0.9, 36)
    for file, image in images.items():
        image.write(str(out_dir / file))
    base.destroy()
    return [out_dir / f for f in images]


if __name__ == "__main__":
    import sys

    for written in render_pictures(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images")):
        print(written)
