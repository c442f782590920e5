"""Procedural meshes: smooth primitives with normals and vertex colours, built with numpy.

Everything the renderer draws is made here from primitives (no downloaded assets). Vertex
colours rather than textures let many parts share one render state, so a human's parts can be
merged into a single batch. ``Mesh`` accumulates primitives, each placed by a 4x4 transform, and
becomes one ``GeomNode``.
"""

from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, GeomVertexFormat

Color = tuple[float, float, float] | tuple[float, float, float, float]
_VERTEX = np.dtype([("pos", np.float32, 3), ("normal", np.float32, 3), ("color", np.uint8, 4)])


def _rgba8(color: Color) -> np.ndarray:
    c = list(color) + [1.0] * (4 - len(color))
    return np.clip(np.round(np.asarray(c) * 255.0), 0, 255).astype(np.uint8)


def translate(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def rot_z(deg: float) -> np.ndarray:
    """Rotation about +Z (a heading), counter-clockwise seen from above."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


def rot_x(deg: float) -> np.ndarray:
    """Rotation about +X (a pitch; positive tips +Y up)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    m = np.eye(4)
    m[1:3, 1:3] = [[c, -s], [s, c]]
    return m


def rot_y(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    m = np.eye(4)
    m[0, 0], m[0, 2], m[2, 0], m[2, 2] = c, s, -s, c
    return m


class Mesh:
    """Triangles with normals and colours, added primitive by primitive."""

    def __init__(self) -> None:
        self._verts: list[np.ndarray] = []
        self._tris: list[np.ndarray] = []
        self._count = 0

    def add(self, pos: np.ndarray, normal: np.ndarray, tris: np.ndarray, color: Color,
            xform: np.ndarray | None = None) -> Mesh:
        """Add raw vertices (n, 3), normals (n, 3) and triangle indices (m, 3), placed by ``xform``."""
        if xform is not None:
            pos = pos @ xform[:3, :3].T + xform[:3, 3]
            inv_t = np.linalg.inv(xform[:3, :3]).T
            normal = normal @ inv_t.T
            normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        v = np.zeros(len(pos), dtype=_VERTEX)
        v["pos"], v["normal"], v["color"] = pos, normal, _rgba8(color)
        self._verts.append(v)
        self._tris.append(np.asarray(tris, dtype=np.int32) + self._count)
        self._count += len(pos)
        return self

    def ellipsoid(self, radii: tuple[float, float, float], color: Color, xform: np.ndarray | None = None,
                  segments: int = 14, rings: int = 9, z_range: tuple[float, float] = (-1.0, 1.0)) -> Mesh:
        """An ellipsoid centred on the origin; ``z_range`` (in -1..1 of the z radius) cuts a cap or a shell."""
        rx, ry, rz = radii
        z0, z1 = np.arccos(np.clip(z_range[1], -1, 1)), np.arccos(np.clip(z_range[0], -1, 1))
        theta = np.linspace(z0, z1, rings + 1)
        phi = np.linspace(0.0, 2 * np.pi, segments + 1)
        t, p = np.meshgrid(theta, phi, indexing="ij")
        unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
        pos = unit * (rx, ry, rz)
        normal = unit / (rx, ry, rz)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        return self.add(pos, normal, _grid_tris(rings, segments), color, xform)

    def tube(self, r_top: float, r_bottom: float, length: float, color: Color, xform: np.ndarray | None = None,
             segments: int = 12, rings: int = 6, depth: float = 1.0, cap: float = 0.6) -> Mesh:
        """A rounded limb hanging down -Z from the origin (a joint), radius tapering top to bottom.

        The ends are closed with half-ellipsoid caps so the limb reads as one smooth part;
        ``depth`` squashes the cross-section front to back (y); ``cap`` is the top cap's height as a
        fraction of ``r_top`` (small for square shoulders)."""
        # Profile from the top pole down: a flattened cap, the taper, a flattened bottom cap.
        cap_h = cap
        angle = np.linspace(0.0, np.pi / 2, rings // 2 + 2)
        zs = np.concatenate([r_top * cap_h * np.cos(angle), -length - r_bottom * 0.6 * np.sin(angle)])
        rs = np.concatenate([r_top * np.sin(angle), r_bottom * np.cos(angle)])
        phi = np.linspace(0.0, 2 * np.pi, segments + 1)
        n_rows = len(zs)
        pos = np.zeros((n_rows, segments + 1, 3))
        pos[..., 0] = rs[:, None] * np.cos(phi)[None, :]
        pos[..., 1] = rs[:, None] * np.sin(phi)[None, :] * depth
        pos[..., 2] = zs[:, None]
        # Normals from the profile slope.
        dz = np.gradient(zs)
        dr = np.gradient(rs)
        nr, nz = dz, -dr
        norm = np.hypot(nr, nz) + 1e-12
        nr, nz = -nr / norm, -nz / norm
        normal = np.zeros_like(pos)
        normal[..., 0] = nr[:, None] * np.cos(phi)[None, :]
        normal[..., 1] = nr[:, None] * np.sin(phi)[None, :] / max(depth, 1e-3)
        normal[..., 2] = nz[:, None]
        normal = normal.reshape(-1, 3)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        return self.add(pos.reshape(-1, 3), normal, _grid_tris(n_rows - 1, segments), color, xform)

    def box(self, size: tuple[float, float, float], color: Color, xform: np.ndarray | None = None,
            base_at_zero: bool = True, cell: float = 0.35) -> Mesh:
        """A box of ``size`` (x, y, z), standing on z=0 when ``base_at_zero``.

        Large faces are split into cells of at most ``cell`` metres, because lighting is computed
        at the vertices: a floor or a wall then still shows the pool of a spot light."""
        half = np.array(size, dtype=np.float64) / 2
        lift = np.array([0.0, 0.0, half[2] if base_at_zero else 0.0])
        for axis in range(3):
            u, v = [a for a in range(3) if a != axis]
            nu = max(1, int(np.ceil(size[u] / cell)))
            nv = max(1, int(np.ceil(size[v] / cell)))
            gu, gv = np.meshgrid(np.linspace(-1.0, 1.0, nu + 1), np.linspace(-1.0, 1.0, nv + 1), indexing="ij")
            for sign in (-1.0, 1.0):
                pos = np.zeros((nu + 1, nv + 1, 3))
                pos[..., axis] = sign
                pos[..., u], pos[..., v] = gu, gv
                pos = pos.reshape(-1, 3) * half + lift
                normal = np.zeros_like(pos)
                normal[:, axis] = sign
                r, c = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
                a = r * (nv + 1) + c
                b = a + nv + 1
                tris = np.concatenate([np.stack([a, b, a + 1], -1).reshape(-1, 3),
                                       np.stack([a + 1, b, b + 1], -1).reshape(-1, 3)])
                # Wind each face counter-clockwise seen from outside.
                p0, p1, p2 = pos[tris[0, 0]], pos[tris[0, 1]], pos[tris[0, 2]]
                if np.dot(np.cross(p1 - p0, p2 - p0), normal[0]) < 0:
                    tris = tris[:, ::-1]
                self.add(pos, normal, tris, color, xform)
        return self

    def disc(self, radius: float, color: Color, xform: np.ndarray | None = None, segments: int = 14,
             ry: float | None = None) -> Mesh:
        """A flat disc in the XZ plane, facing +Y (the way a head faces)."""
        phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
        pos = np.zeros((segments + 1, 3))
        pos[1:, 0] = radius * np.cos(phi)
        pos[1:, 2] = (ry or radius) * np.sin(phi)
        normal = np.tile([0.0, 1.0, 0.0], (segments + 1, 1))
        tris = np.array([(0, 1 + (i + 1) % segments, 1 + i) for i in range(segments)])
        return self.add(pos, normal, tris, color, xform)

    def node(self, name: str) -> GeomNode:
        """One ``GeomNode`` holding every primitive added so far."""
        verts = np.concatenate(self._verts) if self._verts else np.zeros(0, dtype=_VERTEX)
        tris = np.concatenate(self._tris) if self._tris else np.zeros((0, 3), dtype=np.int32)
        vdata = GeomVertexData(name, GeomVertexFormat.getV3n3c4(), Geom.UHStatic)
        vdata.uncleanSetNumRows(len(verts))
        view = memoryview(vdata.modifyArray(0)).cast("B")
        view[:] = verts.tobytes()
        prim = GeomTriangles(Geom.UHStatic)
        prim.setIndexType(Geom.NT_uint32)
        handle = prim.modifyVertices()
        handle.uncleanSetNumRows(tris.size)
        memoryview(handle).cast("B")[:] = tris.astype(np.uint32).tobytes()
        geom = Geom(vdata)
        geom.addPrimitive(prim)
        node = GeomNode(name)
        node.addGeom(geom)
        return node


def _grid_tris(rows: int, segments: int) -> np.ndarray:
    """Triangles of a (rows + 1) x (segments + 1) vertex grid (rows run down from the top), wound
    counter-clockwise seen from outside, so back faces are culled."""
    r, s = np.meshgrid(np.arange(rows), np.arange(segments), indexing="ij")
    a = r * (segments + 1) + s
    b = a + segments + 1
    return np.concatenate([np.stack([a, b, a + 1], -1).reshape(-1, 3),
                           np.stack([a + 1, b, b + 1], -1).reshape(-1, 3)])
