"""The instanced crowd's vertex data, prepared with numpy: one ``Piece`` per drawn layer of a body.

A body kind ('female', 'male') is drawn as pieces: its skin, and every baked garment, hair, brow,
eye and catch-light layer any look can wear (``garments.Wardrobe``). Each piece holds, per
vertex, the shaped-rest inputs of the GPU pass (``vr.render.crowd_view``): the base position and
normal, four joints and weights, a colour slot of the person's palette with a shade multiplier,
a cover class (which worn layers hide this skin vertex), and delta rows: the position change for
each shape target (``bodies.SHAPE_AXES`` low/high, as in ``BodyAsset.shape_deltas``) and for each
face unit the renderer animates. Layer vertices follow a blend of body vertices as
``garments.Outfit`` does; their delta rows are that blend evaluated with each target applied
(normals included), so they shape and move as the CPU path does, to first order.

Far pieces (the reduced level of detail) come from ``assets/humans/crowd_lod_<body>.npz``
(``scripts/bake_crowd_lod.py``): decimated vertices, their triangles and, per vertex, the near
vertex whose attributes it takes; no face units, no eyeballs of their own (the skin's baked eye
colours), no catch-lights, and no shells: the garments that lie on the skin (tops, jackets,
trousers, shoes, the scalp's hair) are merged into the far skin as its colours (each skin vertex
takes the colour of the outermost worn layer that covers it), so a far human is one skin of about
a thousand triangles plus the pieces that stand off it (skirts, long hair, ponytails, beards).

Frames and units are ``vr.render.bodies``'s: metres, Z up, the body faces -Y, soles at z = 0.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vr.render.bodies import ASSETS_DIR, BodyAsset, SCLERA_RGB, PUPIL_RGB, SKIN_TONES_RGB, IRIS_RGB, vertex_normals
from vr.render.garments import Layer, Look, Wardrobe, look_for_seed, piece_specs

# The colour slots of a person's palette (per-human texture columns), in this order.
SLOTS = ("skin", "sclera", "iris", "pupil", "top", "bottom", "shoes", "jacket", "hair", "brows", "glint")
SLOT = {name: i for i, name in enumerate(SLOTS)}
SHAPE_TARGETS = 10          # len(SHAPE_AXES) low/high targets, as BodyAsset.shape_deltas
FAR_KEEP = ("brows",)       # layers small enough to draw whole at the far level
FAR_DROP = ("eye", "highlight")   # the far body's own baked eyeballs serve as eye colour


@dataclass
class Piece:
    """One drawn mesh of a body kind at one level of detail (see the module docstring)."""

    name: str               # 'body' or a wardrobe key with its layer number ('hair["long"]#1')
    part: str               # colour part: 'skin', 'top', 'bottom', 'shoes', 'jacket', 'hair', 'brows', 'eye', 'glint'
    positions: np.ndarray   # (V, 3) float32, base body rest frame
    normals: np.ndarray     # (V, 3) float32
    joints: np.ndarray      # (V, 4) float32 joint indices (BodyAsset.joint_names order)
    weights: np.ndarray     # (V, 4) float32, rows sum to 1
    slot: np.ndarray        # (V,) int: palette column
    shade: np.ndarray       # (V,) float32 colour multiplier
    cover: np.ndarray       # (V,) int: cover class (0: never hidden; negative: pushed in but never dropped)
    deltas: np.ndarray      # (V, T, 3) float32: shape targets, then face units (near only)
    faces: np.ndarray       # (F, 3) uint32

    @property
    def lit(self) -> bool:
        return self.part != "glint"


def read_skin(asset: BodyAsset) -> tuple[np.ndarray, np.ndarray]:
    """Four joints (V, 4) (indices into ``asset.joint_names``) and weights (V, 4) per vertex, read
    straight from the body's .glb (its one skinned primitive; vertex order as in the .npz)."""
    data = asset.glb_path.read_bytes()
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20:20 + json_len])
    binary = data[20 + json_len + 8:]
    attributes = doc["meshes"][0]["primitives"][0]["attributes"]
    kinds = {5121: np.uint8, 5123: np.uint16, 5126: np.float32}

    def accessor(index: int) -> np.ndarray:
        acc = doc["accessors"][index]
        view = doc["bufferViews"][acc["bufferView"]]
        dtype = np.dtype(kinds[acc["componentType"]])
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        stride = view.get("byteStride", 4 * dtype.itemsize)
        rows = np.frombuffer(binary, np.uint8, acc["count"] * stride, start).reshape(-1, stride)
        return rows[:, :4 * dtype.itemsize].copy().view(dtype).reshape(-1, 4)

    node_names = [doc["nodes"][i]["name"] for i in doc["skins"][0]["joints"]]
    to_asset = np.array([asset.joint_index(n) for n in node_names])
    joints = to_asset[accessor(attributes["JOINTS_0"]).astype(np.int64)]
    weights = accessor(attributes["WEIGHTS_0"]).astype(np.float32)
    if len(joints) != len(asset.vertices):
        raise ValueError(f"{asset.glb_path}: {len(joints)} skinned vertices, the .npz has {len(asset.vertices)}; "
                         "re-bake with scripts/bake_humans.py")
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-8)
    return joints.astype(np.float32), weights


def part_of(key: str) -> str:
    """The colour part of a wardrobe key (as ``garments.piece_specs`` names them)."""
    method = key.split("[", 1)[0]
    if method == "top":
        return "jacket" if key.startswith('top["jacket"') else "top"
    return {"trousers": "bottom", "skirt": "bottom", "beard": "hair", "highlight": "glint"}.get(method, method)


def _layer_positions(layer: Layer, vertices: np.ndarray, normals: np.ndarray) -> np.ndarray:
    w = layer.weight[:, :, None]
    return ((w * vertices[layer.anchor]).sum(axis=1) + (w * normals[layer.anchor]).sum(axis=1) * layer.offset_m[:, None]
            + layer.extra)


def near_pieces(asset: BodyAsset, wardrobe: Wardrobe, face_units: tuple[str, ...]) -> tuple[list[Piece], list[set[int]]]:
    """The body's skin and every wardrobe layer as full-detail pieces with shape and ``face_units``
    deltas, and the cover classes: for class c, the pieces (by number) any of which hides the skin
    vertices of that class (class 0: none)."""
    joints, weights = read_skin(asset)
    units = [asset.face_units.index(u) for u in face_units]
    body_deltas = np.concatenate([asset.shape_deltas, asset.face_deltas[units]]).astype(np.float32)   # (T, V, 3)
    base_n = vertex_normals(asset.vertices, asset.faces)
    moved = [vertex_normals(asset.vertices + d, asset.faces) for d in body_deltas]
    keys = [(key, k, layer) for key, layers in wardrobe.layers.items() for k, layer in enumerate(layers)]
    covers = np.zeros((len(asset.vertices), len(keys)), bool)
    for c, (_, _, layer) in enumerate(keys):
        if layer.covers is not None:
            covers[layer.covers, c] = True
    signature, cover = np.unique(np.packbits(covers, axis=1), axis=0, return_inverse=True)
    empty = np.flatnonzero(~signature.any(axis=1))
    order = np.concatenate([empty, np.setdiff1d(np.arange(len(signature)), empty)])   # class 0: covered by none
    cover = np.argsort(order)[cover.reshape(-1)]
    skin_faces = asset.faces[(asset.regions[asset.faces] == 0).all(axis=1)]
    # Skin triangles of one cover class are not drawn where a worn layer hides that class (the
    # shader drops their vertices); triangles across classes are drawn, on copies of their vertices
    # (cover class stored negative: never dropped), so dropping one class tears nothing open.
    by_class = cover[skin_faces]
    whole = (by_class == by_class[:, :1]).all(axis=1) & (by_class[:, 0] > 0)
    shared = np.zeros(len(asset.vertices), bool)
    shared[skin_faces[whole]] = True
    copies = np.unique(skin_faces[~whole][shared[skin_faces[~whole]]])
    remap = np.arange(len(asset.vertices))
    remap[copies] = len(asset.vertices) + np.arange(len(copies))
    skin_faces = np.where(whole[:, None], skin_faces, remap[skin_faces])
    rows = np.concatenate([np.arange(len(asset.vertices)), copies])
    body_cover = np.concatenate([cover, -cover[copies]])
    pieces = [Piece("body", "skin", asset.vertices[rows], base_n[rows], joints[rows], weights[rows],
                    asset.regions.astype(np.int64)[rows], asset.mouth_shade[rows], body_cover,
                    np.ascontiguousarray(body_deltas.transpose(1, 0, 2)[rows]), skin_faces.astype(np.uint32))]
    every = Layer(*(np.concatenate([getattr(layer, f) for _, _, layer in keys])
                    for f in ("anchor", "weight", "blend", "offset_m", "extra")), faces=None, shade=None)
    all0 = _layer_positions(every, asset.vertices, base_n)
    # Linear in the body's vertices and normals: a target moves a layer vertex by the blend of its
    # anchors' moves plus its offset times the blend of their normals' change.
    change = np.concatenate([body_deltas, np.stack(moved) - base_n], axis=2).transpose(1, 0, 2).reshape(
        len(asset.vertices), -1)
    all_deltas = np.empty((len(all0), len(body_deltas), 3), np.float32)
    for at in range(0, len(all0), 8192):
        rows = slice(at, at + 8192)
        blended = np.einsum("nk,nkc->nc", every.weight[rows], change[every.anchor[rows]]).reshape(-1, len(body_deltas), 6)
        all_deltas[rows] = blended[:, :, :3] + blended[:, :, 3:] * every.offset_m[rows, None, None]
    starts = np.cumsum([0] + [len(layer.anchor) for _, _, layer in keys])
    for (key, k, layer), start, end in zip(keys, starts[:-1], starts[1:]):
        part = part_of(key)
        pos0, deltas = all0[start:end], all_deltas[start:end]
        rng = np.random.default_rng([len(key), k, len(pieces)])
        if part == "eye":     # shade holds the ring's kind: pupil, iris (dark, light, limbal), sclera
            kind = np.round(layer.shade).astype(int)
            slot = np.array([SLOT["pupil"], SLOT["iris"], SLOT["iris"], SLOT["iris"], SLOT["sclera"]])[kind]
            fibre = 1.0 + 0.25 * rng.standard_normal(len(kind)) * np.isin(kind, (1, 2))
            shade = np.array([0.7, 0.8, 1.25, 0.35, 1.0], np.float32)[kind] * fibre
        else:
            slot = np.full(len(pos0), SLOT[part])
            grain = 1.0 + (0.05 if part in ("hair", "brows") else 0.015) * rng.standard_normal(len(pos0))
            shade = layer.shade * grain
        pieces.append(Piece(f"{key}#{k}", part, pos0.astype(np.float32), vertex_normals(pos0, layer.faces),
                            joints[layer.blend], weights[layer.blend], slot, shade.astype(np.float32),
                            np.zeros(len(pos0), np.int64), deltas, layer.faces.astype(np.uint32)))
    classes = [set((np.flatnonzero(np.unpackbits(signature[i])[:len(keys)]) + 1).tolist()) for i in order]
    return pieces, classes


def lod_path(body: str, assets_dir: Path = ASSETS_DIR) -> Path:
    return assets_dir / f"crowd_lod_{body}.npz"


def shells(classes: list[set[int]]) -> set[int]:
    """The pieces (by number) that hide skin: merged into the far skin's colours."""
    return set().union(*classes)


def far_pieces(near: list[Piece], classes: list[set[int]], body: str, assets_dir: Path = ASSETS_DIR) -> list[Piece]:
    """The reduced pieces (see the module docstring), their attributes taken from ``near``."""
    path = lod_path(body, assets_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the crowd's far meshes are missing; make them with "
                                "scripts/bake_crowd_lod.py")
    out = []
    with np.load(path, allow_pickle=False) as d:
        merged = shells(classes)
        for k, p in enumerate(near):
            if p.name.split("[", 1)[0] in FAR_DROP or k in merged:
                continue
            if p.name.split("[", 1)[0] in FAR_KEEP:
                points, faces, src = p.positions, p.faces, np.arange(len(p.positions))
            else:
                if f"{p.name}.src" not in d.files or d[f"{p.name}.src"].max(initial=0) >= len(p.positions):
                    raise ValueError(f"{path}: no far mesh for {p.name} of {len(p.positions)} vertices; "
                                     "re-bake with scripts/bake_crowd_lod.py")
                points, faces, src = d[f"{p.name}.points"], d[f"{p.name}.faces"], d[f"{p.name}.src"].astype(np.int64)
            out.append(Piece(p.name, p.part, points.astype(np.float32), vertex_normals(points, faces.astype(np.int64)),
                             p.joints[src], p.weights[src], p.slot[src], p.shade[src], np.abs(p.cover[src]),
                             np.ascontiguousarray(p.deltas[src, :SHAPE_TARGETS]), faces.astype(np.uint32)))
    return out


@dataclass(frozen=True)
class Dress:
    """What one person of the crowd looks like: the pieces worn (names, innermost first) and the
    palette (len(SLOTS), 3) sRGB."""

    look: Look
    order: tuple[str, ...]
    palette: np.ndarray

    @property
    def pieces(self) -> frozenset[str]:
        return frozenset(self.order)


def dress_for(seed: int, body: str, wardrobe: Wardrobe, scene: str, age: float) -> Dress:
    """The look, pieces and colours a seed wears (``garments.look_for_seed`` and ``BodyView``'s
    seeded skin tone and iris, so a seed looks as it does dressed on the CPU)."""
    look = look_for_seed(seed, body, scene, age)
    names = [f"{key}#{k}" for _, key, _, _ in piece_specs(look, wardrobe.asset) for k in range(len(wardrobe.layers[key]))]
    rng = np.random.default_rng([int(seed), 0x5C1A])
    skin, iris = SKIN_TONES_RGB[rng.integers(len(SKIN_TONES_RGB))], IRIS_RGB[rng.integers(len(IRIS_RGB))]
    c = look.colours
    palette = np.array([skin, SCLERA_RGB, iris, PUPIL_RGB, c["top"], c["bottom"], c["shoes"], c["jacket"], c["hair"],
                        np.asarray(c["hair"]) * 0.8, (1.0, 1.0, 1.0)], np.float32)
    return Dress(look, tuple(names), palette)


def far_reduction(piece: Piece) -> float:
    """The share of triangles the bake removes from a piece: the body to about 1,000 triangles,
    the layers to about 140 (hair, skirts, shoes, beards). (On a software renderer a far human's cost is
    mostly its triangle count.)"""
    n = len(piece.faces)
    if piece.name == "body":
        return 1.0 - 1000.0 / n
    return 1.0 - 140.0 / n if n > 350 else 0.0
