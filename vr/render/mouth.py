"""The inside of the mouth: which skin vertices of a baked body line the mouth, so they are drawn dark.

The baked body is one skin: its lips curl into a mouth cavity of the same colour, so a speaking
human's open mouth showed a pale hollow. A vertex lines the mouth when, at rest (lips closed), the
face hides it from every direction in front of the face: rays cast forward from it, straight and
tilted, all hit the head's own triangles within a hand's breadth. Found from the mesh alone
(numpy), so it serves any body baked with the same kind of head. It takes a few seconds a body,
so ``python -m vr.render.mouth`` bakes it into ``assets/humans/mouth_shade.npz`` (identical bytes
each run) and ``bodies.load_body`` reads it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

INSIDE_SHADE = 0.22      # the cavity's colour as a share of the skin's (a dim, warm hollow)
REACH_M = 0.045          # the search box about the front of the lips
RAY_M = 0.15             # a ray hitting nothing within this has left the face
TILT_DEG = 35.0


def _hit_any(origins: np.ndarray, direction: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Per origin (R, 3): does the ray along ``direction`` hit any of ``tri`` (T, 3, 3) within RAY_M (Moller-Trumbore)."""
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(direction, e2)                                  # (T, 3)
    det = (e1 * p).sum(axis=1)
    ok = np.abs(det) > 1e-12
    e1, e2, p, det, v0 = e1[ok], e2[ok], p[ok], det[ok], tri[ok, 0]
    s = origins[:, None, :] - v0[None]                           # (R, T, 3)
    u = (s * p[None]).sum(axis=2) / det
    q = np.cross(s, e1[None])
    v = (q * direction).sum(axis=2) / det
    t = (q * e2[None]).sum(axis=2) / det
    return ((u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-4) & (t < RAY_M)).any(axis=1)


@lru_cache(maxsize=8)
def _inside(vertices_bytes: bytes, faces_bytes: bytes, n: int, lips_bytes: bytes) -> bytes:
    vertices = np.frombuffer(vertices_bytes, np.float32).reshape(n, 3).astype(np.float64)
    faces = np.frombuffer(faces_bytes, np.int64).reshape(-1, 3)
    lips = np.frombuffer(lips_bytes, np.float64)
    near = np.all(np.abs(vertices - lips) < (REACH_M, 2 * REACH_M, REACH_M), axis=1) & (vertices[:, 1] > lips[1] - 0.005)
    cand = np.flatnonzero(near)
    lo, hi = vertices[cand].min(axis=0) - 0.01, vertices[cand].max(axis=0) + 0.01
    lo[1] -= 0.01                                                # the lips' front, and what stands before them
    centres = vertices[faces].mean(axis=1)
    tri = vertices[faces[np.all((centres > lo) & (centres < hi), axis=1)]].astype(np.float32)
    hidden = np.ones(len(cand), bool)
    tilt = np.radians(TILT_DEG)
    # The body faces -Y: forward, and forward tilted up, down, left and right.
    for d in ((0, -1, 0), (np.sin(tilt), -np.cos(tilt), 0), (-np.sin(tilt), -np.cos(tilt), 0),
              (0, -np.cos(tilt), np.sin(tilt)), (0, -np.cos(tilt), -np.sin(tilt))):
        d = np.asarray(d, np.float64)
        todo = np.flatnonzero(hidden)
        for at in range(0, len(todo), 64):
            rows = todo[at:at + 64]
            hidden[rows] = _hit_any((vertices[cand[rows]] + d * 2e-4).astype(np.float32), d.astype(np.float32), tri)
    out = np.zeros(n, bool)
    out[cand[hidden]] = True
    return out.tobytes()


def inside(vertices: np.ndarray, faces: np.ndarray, lips_m: np.ndarray) -> np.ndarray:
    """(V,) bool: the vertices hidden inside the mouth of a body at rest; ``lips_m`` the front of the lips."""
    v = np.ascontiguousarray(vertices, np.float32)
    return np.frombuffer(_inside(v.tobytes(), np.ascontiguousarray(faces, np.int64).tobytes(), len(v),
                                 np.asarray(lips_m, np.float64).tobytes()), bool).copy()


def shade(vertices: np.ndarray, faces: np.ndarray, lips_m: np.ndarray) -> np.ndarray:
    """(V,) float32 colour multipliers: 1 on the face, INSIDE_SHADE deep in the mouth, graded over
    two rings of neighbours at the lips' inner edge so the lips do not end in a hard line."""
    mask = inside(vertices, faces, lips_m).astype(np.float64)
    value = mask.copy()
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    degree = np.bincount(edges[:, 0], minlength=len(mask)).astype(np.float64)
    for _ in range(2):
        value = 0.5 * value + 0.5 * np.bincount(edges[:, 0], value[edges[:, 1]], len(mask)) / np.maximum(degree, 1)
        value = np.maximum(value, mask * 0.85)
    return (1.0 - (1.0 - INSIDE_SHADE) * np.clip(value, 0.0, 1.0)).astype(np.float32)


def lips_front(vertices: np.ndarray, regions: np.ndarray, jaw_open: np.ndarray) -> np.ndarray:
    """The front of the lips: the frontmost skin vertex near the mid-line that opening the jaw moves."""
    lip = np.flatnonzero((np.abs(vertices[:, 0]) < 0.01) & (np.linalg.norm(jaw_open, axis=1) > 0.002) & (regions == 0))
    return vertices[lip[np.argmin(vertices[lip, 1])]].astype(np.float64)


def bake(out_path, names=("female", "male")) -> None:
    """Write every body's mouth shade (uint8, 255 = the skin's colour) to ``out_path``."""
    from vr.render import bodies

    arrays = {}
    for name in names:
        a = bodies.load_body(name, mouth=False)
        front = lips_front(a.vertices, a.regions, a.face_deltas[a.face_units.index("jawOpen")])
        arrays[name] = np.round(shade(a.vertices, a.faces, front) * 255).astype(np.uint8)
    import io
    import zipfile

    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as z:   # fixed dates: identical bytes each run
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.save(buf, value)
            z.writestr(zipfile.ZipInfo(f"{name}.npy", (1980, 1, 1, 0, 0, 0)), buf.getvalue())


if __name__ == "__main__":
    from vr.render.bodies import ASSETS_DIR

    bake(ASSETS_DIR / "mouth_shade.npz")
    print(f"wrote {ASSETS_DIR / 'mouth_shade.npz'}")
