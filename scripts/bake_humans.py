#!/usr/bin/env python3
"""Bake the virtual humans' bodies from the anny body model into ``assets/humans/``.

A baking tool, not a run-time module: it needs ``anny`` (Apache-2.0 code, CC0 MakeHuman/MPFB2
assets), torch and warp-lang, which the toolkit itself never imports. Run it in its own venv:

    python3.11 -m venv /work/bakevenv
    /work/bakevenv/bin/pip install torch==2.13.0 anny==0.6.2 --extra-index-url https://download.pytorch.org/whl/cpu
    /work/bakevenv/bin/python scripts/bake_humans.py            # writes assets/humans/

What it writes (see assets/humans/README.md):
- ``<body>.glb``: a skinned glTF 2.0 body (mesh, vertex colours, normals, the anny rig's 104
  joints with translation-only bind frames, four skin weights a vertex).
- ``<body>.npz``: the same body's arrays for numpy at run time: rest vertices, faces, joints,
  and the shape-target deltas (vertices and joint heads) for seeded crowd variety.
- ``face_units.npz``: anny's facial action units (ARKit-style names) as sparse vertex deltas,
  shared by every body (the same topology).

Frames: anny's own, which is Panda3D's (metres, Z up, the body faces -Y); the soles sit at z=0.
The .glb is written Y-up (+Z forward) as glTF requires; panda3d-gltf turns it back.
Deterministic: single-threaded float64 maths, values rounded to a grid, zip entries with fixed
dates, so baking twice gives identical bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "assets" / "humans"

# Base bodies: anny phenotypes in [0, 1]. gender 0 = male, 1 = female; age anchors run
# newborn -1/3, baby 0, child 1/3, young (25 y) 2/3, old (90 y) 1, so 0.72 is about 35 years.
# An adult's stature runs about 1.09 m per unit of 'height' (1.22 m at 0 for a woman, 1.36 m for
# a man), so 0.39 gives 1.65 m and 1.78 m.
BODIES = {
    "female": {"gender": 1.0, "age": 0.72, "muscle": 0.5, "weight": 0.5, "height": 0.39, "proportions": 0.5},
    "male": {"gender": 0.0, "age": 0.72, "muscle": 0.5, "weight": 0.5, "height": 0.39, "proportions": 0.5},
}
# Crowd variety: for each phenotype, the value a coefficient of -1 and of +1 reaches.
SHAPE_RANGES = {
    "age": (0.64, 0.95),          # about 22 to 80 years
    "weight": (0.15, 0.9),
    "muscle": (0.2, 0.85),
    "height": (0.27, 0.51),       # women 1.52-1.78 m, men 1.65-1.91 m
    "proportions": (0.2, 0.8),
}
POS_GRID_M = 1e-5                  # positions rounded to 10 micrometres: identical bytes run to run
SPARSE_EPS_M = 2e-5                # a face unit moves a vertex by more than this, or it is left out
MAX_INFLUENCES = 4                 # glTF's JOINTS_0/WEIGHTS_0; Panda3D skins four a vertex
REGIONS = ("skin", "sclera", "iris", "pupil")
REGION_RGB = np.array([[0.80, 0.62, 0.52], [0.93, 0.92, 0.90], [0.30, 0.20, 0.12], [0.03, 0.03, 0.03]])
IRIS_HALF_ANGLE_DEG = 27.0
PUPIL_HALF_ANGLE_DEG = 10.0


# -- anny ---------------------------------------------------------------------------------------

def build_model():
    """anny's default full body: the 'anny' topology (13,718 vertices) and rig (104 joints)."""
    import torch
    import anny

    torch.set_num_threads(1)
    model = anny.Anny(rig="anny", topology="anny", facial_actions="all").to(dtype=torch.float64)
    return model


def rest_state(model, phenotype: dict[str, float], face: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Rest vertices (V,3), joint heads (J,3) and joint rest rotations (J,3,3) for one phenotype."""
    import torch

    labels = model.phenotype_labels
    ph = torch.tensor([[phenotype[k] for k in labels]], dtype=torch.float64)
    fa = torch.zeros((1, len(model.facial_action_labels)), dtype=torch.float64)
    if face is not None:
        fa[0] = torch.from_numpy(face)
    lc = torch.zeros((1, len(model.local_change_labels)), dtype=torch.float64)
    with torch.no_grad():
        coeffs = model._get_phenotype_blendshape_coefficients(ph, lc, fa)
        out = model.get_rest_model(coeffs)
    return {"vertices": out["rest_vertices"][0].numpy().astype(np.float64),
            "heads": out["rest_bone_heads"][0].numpy().astype(np.float64),
            "rotations": out["rest_bone_poses"][0, :, :3, :3].numpy().astype(np.float64)}


def grounded(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same state moved so that its lowest vertex (the soles) sits at z = 0."""
    shift = np.array([0.0, 0.0, state["vertices"][:, 2].min()])
    return {**state, "vertices": state["vertices"] - shift, "heads": state["heads"] - shift}


def on_grid(a: np.ndarray) -> np.ndarray:
    return (np.round(a / POS_GRID_M) * POS_GRID_M).astype(np.float32)


# -- geometry -----------------------------------------------------------------------------------

def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V,3) of a triangle mesh (the run time does the same)."""
    v = vertices.astype(np.float64)
    tri = v[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.zeros_like(v)
    for k in range(3):
        n += np.stack([np.bincount(faces[:, k], fn[:, c], len(v)) for c in range(3)], axis=1)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def top_influences(weights: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four strongest (joint, weight) pairs a vertex, weights renormalised to sum 1."""
    order = np.argsort(-weights, axis=1, kind="stable")[:, :MAX_INFLUENCES]
    w = np.take_along_axis(weights, order, axis=1)
    j = np.take_along_axis(indices, order, axis=1)
    w = np.where(w > 1e-6, w, 0.0)
    j = np.where(w > 0, j, 0)
    w = w / w.sum(axis=1, keepdims=True)
    w = np.round(w, 6)
    w[:, 0] += 1.0 - w.sum(axis=1)         # exact sum after rounding
    return j.astype(np.uint8), w.astype(np.float32)


def regions(vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, heads: np.ndarray,
            labels: list[str]) -> np.ndarray:
    """Per vertex: 0 skin, 1 sclera, 2 iris, 3 pupil (eyeballs are the vertices bound to eye.L/R)."""
    out = np.zeros(len(vertices), np.uint8)
    forward = np.array([0.0, -1.0, 0.0])
    for side in ("eye.L", "eye.R"):
        j = labels.index(side)
        on_eye = (joints[:, 0] == j) & (weights[:, 0] > 0.5)
        d = vertices[on_eye] - heads[j]
        cos = d @ forward / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        r = np.where(angle < PUPIL_HALF_ANGLE_DEG, 3, np.where(angle < IRIS_HALF_ANGLE_DEG, 2, 1))
        out[np.flatnonzero(on_eye)] = r
    return out


# -- glTF ---------------------------------------------------------------------------------------

def _to_gltf(a: np.ndarray) -> np.ndarray:
    """Panda3D/anny frame (Z up, -Y front) to glTF (Y up, +Z front): (x, y, z) -> (x, z, -y)."""
    return np.stack([a[..., 0], a[..., 2], -a[..., 1]], axis=-1)


def write_glb(path: Path, name: str, vertices: np.ndarray, normals: np.ndarray, colors: np.ndarray,
              faces: np.ndarray, joints: np.ndarray, weights: np.ndarray, labels: list[str],
              parents: list[int], heads: np.ndarray) -> None:
    """A skinned glTF 2.0 binary: joints with translation-only bind frames at the rest heads."""
    blobs: list[bytes] = []
    views, accessors = [], []

    def add(data: np.ndarray, gl_type: str, component: int, target: int | None = None,
            normalized: bool = False, minmax: bool = False) -> int:
        raw = np.ascontiguousarray(data).tobytes()
        offset = sum(len(b) for b in blobs)
        blobs.append(raw + b"\0" * (-len(raw) % 4))
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        views.append(view)
        acc = {"bufferView": len(views) - 1, "componentType": component, "count": int(data.shape[0]),
               "type": gl_type}
        if normalized:
            acc["normalized"] = True
        if minmax:
            acc["min"] = [float(x) for x in data.min(axis=0)]
            acc["max"] = [float(x) for x in data.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    F32, U8, U16 = 5126, 5121, 5123
    pos = add(_to_gltf(vertices).astype(np.float32), "VEC3", F32, 34962, minmax=True)
    nrm = add(_to_gltf(normals).astype(np.float32), "VEC3", F32, 34962)
    col = add(np.round(colors * 255).astype(np.uint8), "VEC4", U8, 34962, normalized=True)
    jnt = add(joints.astype(np.uint8), "VEC4", U8, 34962)
    wgt = add(weights.astype(np.float32), "VEC4", F32, 34962)
    idx = add(faces.reshape(-1).astype(np.uint16), "SCALAR", U16, 34963)
    g_heads = _to_gltf(heads)
    ibm = np.tile(np.eye(4, dtype=np.float32), (len(labels), 1, 1))
    ibm[:, 3, :3] = -g_heads                    # column-major: the translation sits in the last column
    ibm_acc = add(ibm.reshape(len(labels), 16), "MAT4", F32)

    nodes = []
    for j, label in enumerate(labels):
        p = parents[j]
        local = g_heads[j] - (g_heads[p] if p >= 0 else 0.0)
        node: dict = {"name": label, "translation": [round(float(x), 6) for x in local]}
        children = [c for c in range(len(labels)) if parents[c] == j]
        if children:
            node["children"] = children
        nodes.append(node)
    mesh_node = len(nodes)
    nodes.append({"name": name, "mesh": 0, "skin": 0})
    scene_root = len(nodes)
    nodes.append({"name": f"{name}_root", "children": [0, mesh_node]})
    gltf = {
        "asset": {"version": "2.0", "generator": "vr scripts/bake_humans.py (anny, CC0 MakeHuman/MPFB2)"},
        "scene": 0,
        "scenes": [{"nodes": [scene_root]}],
        "nodes": nodes,
        "skins": [{"joints": list(range(len(labels))), "inverseBindMatrices": ibm_acc, "skeleton": 0}],
        "meshes": [{"name": name, "primitives": [{
            "attributes": {"POSITION": pos, "NORMAL": nrm, "COLOR_0": col, "JOINTS_0": jnt, "WEIGHTS_0": wgt},
            "indices": idx, "material": 0, "mode": 4}]}],
        "materials": [{"name": "skin", "pbrMetallicRoughness": {
            "baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0, "roughnessFactor": 0.8}}],
        "buffers": [{"byteLength": sum(len(b) for b in blobs)}],
        "bufferViews": views,
        "accessors": accessors,
    }
    text = json.dumps(gltf, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 4)
    binary = b"".join(blobs)
    total = 12 + 8 + len(text) + 8 + len(binary)
    with open(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(text), b"JSON") + text)
        f.write(struct.pack("<I4s", len(binary), b"BIN\0") + binary)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz numpy reads with ``np.load``, with fixed zip dates and order (identical bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


# -- baking -------------------------------------------------------------------------------------

def bake_body(model, name: str, phenotype: dict[str, float], out_dir: Path) -> dict:
    labels = list(model.bone_labels)
    parents = [int(p) for p in model.bone_parents]
    faces = model.faces.numpy().astype(np.int64)
    base = grounded(rest_state(model, phenotype))
    vertices, heads = on_grid(base["vertices"]), on_grid(base["heads"])

    shape_labels, v_deltas, j_deltas = [], [], []
    for axis, (lo, hi) in SHAPE_RANGES.items():
        for sign, value in (("-", lo), ("+", hi)):
            varied = grounded(rest_state(model, {**phenotype, axis: value}))
            shape_labels.append(f"{axis}{sign}")
            v_deltas.append(varied["vertices"] - base["vertices"])
            j_deltas.append(varied["heads"] - base["heads"])

    wi = model.vertex_bone_weights.numpy().astype(np.float64)
    ji = model.vertex_bone_indices.numpy().astype(np.int64)
    joints, weights = top_influences(wi, ji)
    region = regions(vertices, joints, weights, heads, labels)
    normals = vertex_normals(vertices, faces)
    write_glb(out_dir / f"{name}.glb", name, vertices, normals,
              np.concatenate([REGION_RGB[region], np.ones((len(region), 1))], axis=1),
              faces, joints, weights, labels, parents, heads)
    height_m = float(vertices[:, 2].max() - vertices[:, 2].min())
    write_npz(out_dir / f"{name}.npz", {
        "vertices": vertices,
        "faces": faces.astype(np.uint16),
        "regions": region,
        "joint_names": np.array(labels),
        "joint_parents": np.array(parents, np.int16),
        "joint_heads": heads,
        "joint_rest_rotations": np.round(base["rotations"], 6).astype(np.float32),
        "shape_labels": np.array(shape_labels),
        "shape_deltas": np.stack(v_deltas).astype(np.float16),
        "shape_joint_deltas": on_grid(np.stack(j_deltas)),
        "shape_ranges": np.array([[lo, phenotype[a], hi] for a, (lo, hi) in SHAPE_RANGES.items()], np.float32),
        "phenotype_labels": np.array(list(phenotype)),
        "phenotype": np.array(list(phenotype.values()), np.float32),
        "height_m": np.float32(round(height_m, 4)),
    })
    return {"vertices": len(vertices), "faces": len(faces), "joints": len(labels), "height_m": round(height_m, 3)}


def bake_face_units(model, out_dir: Path) -> dict:
    """Every facial action as a sparse delta: the vertices it moves and by how much (float16)."""
    labels = list(model.facial_action_labels)
    rows = [list(model.blendshape_labels).index(f"facial_action:{u}") for u in labels]
    bs = model.blendshapes.numpy()
    indices, deltas, offsets = [], [], [0]
    for r in rows:
        d = bs[r].astype(np.float64)
        moved = np.flatnonzero(np.abs(d).max(axis=1) > SPARSE_EPS_M)
        indices.append(moved.astype(np.uint16))
        deltas.append(d[moved].astype(np.float16))
        offsets.append(offsets[-1] + len(moved))
    write_npz(out_dir / "face_units.npz", {
        "labels": np.array(labels),
        "offsets": np.array(offsets, np.int32),
        "indices": np.concatenate(indices),
        "deltas": np.concatenate(deltas),
    })
    return {"units": len(labels), "moved_vertices": offsets[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default assets/humans)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model = build_model()
    for name, phenotype in BODIES.items():
        print(name, bake_body(model, name, phenotype, args.out), flush=True)
    print("face units", bake_face_units(model, args.out), flush=True)
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.suffix in (".glb", ".npz"))
    print(f"total {total / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
