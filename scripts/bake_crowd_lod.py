"""Bake the crowd's far level of detail into assets/humans/crowd_lod_<body>.npz.

Every piece of a body drawn far (its skin and the layers that stand off it: skirts, long hair,
ponytails, beards; not the shells merged into the far skin's colours, the eyes or catch-lights)
is decimated with fast-simplification (MIT; quadric edge collapse, Fast-Quadric-
Mesh-Simplification by Sven Forstmann) at its base rest shape, as ``vr.render.crowd_mesh``
prepares it; each far vertex then takes the attributes (skin weights, shape deltas, colour) of
its nearest full-detail vertex, stored as ``<piece>.src`` beside ``<piece>.points`` and
``<piece>.faces``. The skin keeps its baked eyeballs whole (they are the far eyes' colour).

    .venv/bin/pip install fast-simplification==0.2.0   # only for baking; the toolkit never imports it
    .venv/bin/python scripts/bake_crowd_lod.py

Run it again after re-baking the bodies or garments (vr.render.crowd_mesh refuses stale files).
Identical bytes each run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bake_humans import write_npz  # noqa: E402  (fixed zip dates: identical bytes each run)
from vr.render import bodies, crowd_mesh, garments  # noqa: E402


def nearest(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each of ``points`` the index of the nearest of ``targets`` (brute force, in chunks)."""
    out = np.empty(len(points), np.int64)
    for at in range(0, len(points), 512):
        d = ((points[at:at + 512, None, :] - targets[None, :, :]) ** 2).sum(axis=2)
        out[at:at + 512] = d.argmin(axis=1)
    return out


def bake(body: str) -> Path:
    import fast_simplification

    asset = bodies.load_body(body)
    pieces, classes = crowd_mesh.near_pieces(asset, garments.Wardrobe(asset), ())
    merged = crowd_mesh.shells(classes)
    arrays: dict[str, np.ndarray] = {}
    for k, p in enumerate(pieces):
        kind = p.name.split("[", 1)[0]
        if kind in crowd_mesh.FAR_DROP or kind in crowd_mesh.FAR_KEEP or k in merged:
            continue
        reduction = crowd_mesh.far_reduction(p)
        positions, faces = p.positions, p.faces.astype(np.int64)
        if p.name == "body":    # the connected skin (the near piece splits it along its cover classes)
            positions, faces = asset.vertices, asset.faces[(asset.regions[asset.faces] == 0).all(axis=1)]
        if reduction > 0:
            points, faces = fast_simplification.simplify(positions.astype(np.float64), faces, reduction,
                                                         preserve_border=False)
            used = np.unique(faces)
            points, faces = points[used], np.searchsorted(used, faces)
            src = nearest(points, positions)
        else:
            points, src = p.positions, np.arange(len(p.positions))
        if p.name == "body":    # the baked eyeballs after the decimated skin, decimated on their own
            eye_faces = asset.faces[(asset.regions[asset.faces] != 0).all(axis=1)]
            eye_points, eye_faces = fast_simplification.simplify(asset.vertices.astype(np.float64), eye_faces, 0.75)
            used = np.unique(eye_faces)
            eye_points, eye_faces = eye_points[used], np.searchsorted(used, eye_faces)
            faces = np.concatenate([faces, eye_faces + len(points)])
            src = np.concatenate([src, nearest(eye_points, np.where(asset.regions[:, None] != 0, asset.vertices, 1e3))])
            points = np.concatenate([points, eye_points])
        arrays[f"{p.name}.points"] = points.astype(np.float32)
        arrays[f"{p.name}.faces"] = faces.astype(np.uint16 if len(points) < 65536 else np.uint32)
        arrays[f"{p.name}.src"] = src.astype(np.uint16 if len(p.positions) < 65536 else np.uint32)
        print(f"{body} {p.name}: {len(p.faces)} -> {len(faces)} triangles", file=sys.stderr)
    path = crowd_mesh.lod_path(body)
    write_npz(path, arrays)
    return path


if __name__ == "__main__":
    for name in bodies.BODY_NAMES:
        print(bake(name))
