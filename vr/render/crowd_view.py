"""The crowd on the GPU: every skinned, dressed human drawn instanced, skinned and shaped in the vertex shader.

Per body kind and level of detail, every piece (``vr.render.crowd_mesh``: the skin, each garment,
hair, brow and eye layer) is one GeomNode drawn instanced over the humans that wear it. The vertex
shader maps ``gl_InstanceID`` to a human through an index table (a texture row per draw, rewritten
each frame, so only visible humans at that level draw), adds that human's shape deltas (weights
from the per-human texture) and face-unit deltas (near only) to the rest vertex, pushes skin that
a worn layer hides a little inwards, skins it with four joints read from one texture of all joint
matrices (``CrowdPose.skin``: per human and joint the top three rows, column-vector convention,
applied to the shaped rest vertex, world coordinates) and lights it with the toolkit's lights
(``vr.render.shading.LIGHTS_GLSL``). The frame path is numpy and a fixed number of texture copies:
no Python per human or per joint.

Levels: near (closer than ``NEAR_M``, with hysteresis) the full pieces with face units; far the
decimated ones, without face units, eyes as the skin's colour, no catch-lights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from panda3d.core import (Geom, GeomEnums, GeomNode, GeomTriangles, GeomVertexArrayFormat, GeomVertexData,
                          GeomVertexFormat, InternalName, LVecBase4f, LVecBase4i, NodePath, OmniBoundingVolume,
                          SamplerState, Shader, ShaderAttrib, Texture)

from vr.render import bodies, crowd_mesh, garments
from vr.render.shading import FRAG_FLAT, LIGHTS_GLSL

NEAR_M = 4.0            # closer than this a human is drawn in full (face units, eyeballs, catch-lights)
LOD_MARGIN_M = 0.3      # hysteresis, so a human at the boundary does not flicker between levels
PUSH_M = (0.008, 0.015)  # hidden skin moves this far inwards (near, far), under the thinnest layer
DELTA_WIDTH = 4096      # texels per row of the delta texture
PALETTE, SHAPE_AT, FACE_AT = 0, len(crowd_mesh.SLOTS), len(crowd_mesh.SLOTS) + 3   # per-human texture columns
HUMAN_TEXELS = FACE_AT + 4
MAX_FACE_UNITS = 16

_VERT = """
#version 140
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform mat4 p3d_ModelViewMatrix;
uniform mat3 p3d_NormalMatrix;
uniform sampler2D u_joints;   // (N, J * 3) texels: a joint matrix's rows, stored BGRA
uniform sampler2D u_humans;   // (N, %(texels)d): palette, shape weights, face weights
uniform sampler2D u_index;    // (draws, N): instance -> human
uniform sampler2D u_deltas;   // per vertex and target a delta, DELTA_WIDTH texels a row
uniform sampler2D u_cover;    // (N, classes): 1 + the palette slot of the outermost worn layer hiding that skin, or 0
uniform ivec4 u_draw;         // index row, first delta texel, targets per vertex, face units
uniform vec4 u_look;          // unlit (0/1), inward push of hidden skin (m), hidden skin takes its layer's colour (0/1)
%(lights)s
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 joints;
in vec4 weights;
in vec3 attr;                 // palette slot, shade, cover class
out vec4 v_color;
vec3 delta(int t) {
    int i = u_draw.y + gl_VertexID * u_draw.z + t;
    return texelFetch(u_deltas, ivec2(i %% %(width)d, i / %(width)d), 0).bgr;
}
void main() {
    int human = int(texelFetch(u_index, ivec2(gl_InstanceID, u_draw.x), 0).r);
    vec3 pos = p3d_Vertex.xyz;
    vec3 normal = p3d_Normal;
    for (int k = 0; k < 3; ++k) {
        vec4 w = texelFetch(u_humans, ivec2(%(shape_at)d + k, human), 0).bgra;
        for (int c = 0; c < 4; ++c) {
            int t = 4 * k + c;
            if (t < 10 && w[c] != 0.0) pos += w[c] * delta(t);
        }
    }
    for (int k = 0; k < (u_draw.w + 3) / 4; ++k) {
        vec4 w = texelFetch(u_humans, ivec2(%(face_at)d + k, human), 0).bgra;
        for (int c = 0; c < 4; ++c) {
            int t = 4 * k + c;
            if (t < u_draw.w && w[c] != 0.0) pos += w[c] * delta(10 + t);
        }
    }
    int slot = int(attr.x);
    float shade = attr.y;
    float layer = texelFetch(u_cover, ivec2(int(abs(attr.z)), human), 0).r;
    if (layer > 0.5 && attr.z > 0.0 && u_look.z < 0.5) {   // hidden skin, near: not drawn
        gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
        v_color = vec4(0.0);
        return;
    }
    if (layer > 0.5) {
        pos -= normal * u_look.y;
        if (u_look.z > 0.5) {
            slot = int(layer) - 1;
            shade = 1.0;
        }
    }
    vec4 r0 = vec4(0.0), r1 = vec4(0.0), r2 = vec4(0.0);
    for (int k = 0; k < 4; ++k) {
        if (weights[k] > 0.0) {
            int x = int(joints[k]) * 3;
            r0 += weights[k] * texelFetch(u_joints, ivec2(x, human), 0).bgra;
            r1 += weights[k] * texelFetch(u_joints, ivec2(x + 1, human), 0).bgra;
            r2 += weights[k] * texelFetch(u_joints, ivec2(x + 2, human), 0).bgra;
        }
    }
    vec4 rest = vec4(pos, 1.0);
    vec4 world = vec4(dot(r0, rest), dot(r1, rest), dot(r2, rest), 1.0);
    vec3 turned = vec3(dot(r0.xyz, normal), dot(r1.xyz, normal), dot(r2.xyz, normal));
    gl_Position = p3d_ModelViewProjectionMatrix * world;
    vec3 c = texelFetch(u_humans, ivec2(slot, human), 0).bgr * shade;
    if (u_look.x > 0.5) {
        v_color = vec4(c, 1.0);
    } else {
        vec3 light = toolkit_light((p3d_ModelViewMatrix * world).xyz, normalize(p3d_NormalMatrix * turned));
        v_color = vec4(sqrt(clamp(c * c * light, 0.0, 1.0)), 1.0);
    }
}
"""


def crowd_shader(lights: int) -> Shader:
    """The crowd's vertex shader for ``lights`` non-ambient lights, with the toolkit's flat fragment shader."""
    vert = _VERT % {"lights": LIGHTS_GLSL % {"n": max(1, int(lights))}, "texels": HUMAN_TEXELS, "width": DELTA_WIDTH,
                    "shape_at": SHAPE_AT, "face_at": FACE_AT}
    return Shader.make(Shader.SL_GLSL, vert, FRAG_FLAT)


def data_texture(name: str, width: int, height: int, channels: int, half: bool = False) -> Texture:
    """A float texture read with texelFetch (nearest, no mipmaps). Panda3D's RAM images are BGRA:
    arrays are written in their own order (x, y, z, w) and the shader reads them back with ``.bgra``."""
    tex = Texture(name)
    fmt = {1: Texture.F_r32, 4: Texture.F_rgba16 if half else Texture.F_rgba32}[channels]
    tex.setup2dTexture(max(width, 1), max(height, 1), Texture.T_half_float if half else Texture.T_float, fmt)
    tex.setMinfilter(SamplerState.FT_nearest)
    tex.setMagfilter(SamplerState.FT_nearest)
    tex.setKeepRamImage(True)
    return tex


def ram(tex: Texture, dtype=np.float32) -> np.ndarray:
    """The texture's RAM image as a writable flat array (writing it re-uploads the texture)."""
    return np.frombuffer(memoryview(tex.modifyRamImage()), dtype)


def _format() -> GeomVertexFormat:
    array = GeomVertexArrayFormat()
    array.addColumn(InternalName.getVertex(), 3, GeomEnums.NT_float32, GeomEnums.C_point)
    array.addColumn(InternalName.getNormal(), 3, GeomEnums.NT_float32, GeomEnums.C_normal)
    array.addColumn(InternalName.make("joints"), 4, GeomEnums.NT_float32, GeomEnums.C_other)
    array.addColumn(InternalName.make("weights"), 4, GeomEnums.NT_float32, GeomEnums.C_other)
    array.addColumn(InternalName.make("attr"), 3, GeomEnums.NT_float32, GeomEnums.C_other)
    return GeomVertexFormat.registerFormat(GeomVertexFormat(array))


def piece_geom(piece: crowd_mesh.Piece) -> Geom:
    """One piece as a static Geom: its vertex rows in order (gl_VertexID finds their delta rows)."""
    columns = [piece.positions, piece.normals, piece.joints, piece.weights,
               np.stack([piece.slot, piece.shade, piece.cover], axis=1)]
    rows = np.ascontiguousarray(np.concatenate([np.asarray(c, np.float32) for c in columns], axis=1))
    data = GeomVertexData(piece.name, _format(), Geom.UH_static)
    data.uncleanSetNumRows(len(rows))
    np.frombuffer(memoryview(data.modifyArray(0)), np.uint8)[:] = rows.view(np.uint8).reshape(-1)
    prim = GeomTriangles(Geom.UH_static)
    prim.setIndexType(Geom.NT_uint32)
    prim.modifyVertices().uncleanSetNumRows(piece.faces.size)
    np.frombuffer(memoryview(prim.modifyVertices()), np.uint32)[:] = piece.faces.reshape(-1)
    geom = Geom(data)
    geom.addPrimitive(prim)
    return geom


@dataclass
class Kind:
    """One body kind's assets for the crowd: the pieces at both levels, their geoms and delta texture."""

    asset: bodies.BodyAsset
    wardrobe: garments.Wardrobe
    draws: list[tuple[bool, crowd_mesh.Piece, Geom, int, int]]   # near?, piece, geom, first delta texel, targets
    cover_classes: list[set[int]]
    piece_names: list[str]                                        # near pieces, by number (cover classes)
    deltas: Texture


class CrowdLibrary:
    """Both body kinds ready to draw, made once per session (``load_s`` says how long it took, ``load_cpu_s``
    the processor time it took)."""

    def __init__(self, face_units: tuple[str, ...], assets_dir: Path = bodies.ASSETS_DIR) -> None:
        if len(face_units) > MAX_FACE_UNITS:
            raise ValueError(f"the crowd animates at most {MAX_FACE_UNITS} face units, given {len(face_units)}")
        t0, c0 = time.perf_counter(), time.process_time()
        self.face_units = tuple(face_units)
        self.kinds: dict[str, Kind] = {}
        for name in bodies.BODY_NAMES:
            asset = bodies.load_body(name, assets_dir)
            wardrobe = garments.Wardrobe(asset, assets_dir)
            near, classes = crowd_mesh.near_pieces(asset, wardrobe, self.face_units)
            far = crowd_mesh.far_pieces(near, classes, name, assets_dir)
            pieces = [(True, p) for p in near] + [(False, p) for p in far]
            sizes = [p.deltas.shape[0] * p.deltas.shape[1] for _, p in pieces]
            starts = np.cumsum([0] + sizes)
            height = -(-int(starts[-1]) // DELTA_WIDTH)
            tex = data_texture(f"deltas-{name}", DELTA_WIDTH, height, 4, half=True)
            texels = ram(tex, np.float16).reshape(-1, 4)
            for (_, p), start, size in zip(pieces, starts, sizes):
                texels[start:start + size, :3] = p.deltas.reshape(-1, 3)   # read back .bgr (see data_texture)
            draws = [(is_near, p, piece_geom(p), int(s), int(p.deltas.shape[1])) for (is_near, p), s in zip(pieces, starts)]
            self.kinds[name] = Kind(asset, wardrobe, draws, classes, [p.name for p in near], tex)
        self.load_s = time.perf_counter() - t0
        self.load_cpu_s = time.process_time() - c0     # the same on a machine busy with other work


class CrowdView:
    """The humans of one session: who is which body kind, wears what, in which colours; ``update``
    draws a frame's pose. ``bodies_of``: 'female'/'male' per human; ``shape_weights`` (N, 10) as
    ``bodies.target_weights``; ``scene``: the look's style (one of ``garments.SCENES``)."""

    def __init__(self, parent: NodePath, library: CrowdLibrary, bodies_of, seeds, shape_weights: np.ndarray,
                 scene: str = "office", lights: int = 2) -> None:
        n = len(seeds)
        self.library, self.n = library, n
        self.root = parent.attachNewNode("crowd")
        self.bodies = tuple(bodies_of)
        self.dresses = [crowd_mesh.dress_for(int(s), b, library.kinds[b].wardrobe, scene,
                                             float(w[1] - w[0])) for s, b, w in zip(seeds, self.bodies, shape_weights)]
        joint_count = len(next(iter(library.kinds.values())).asset.joint_names)
        self.joints_tex = data_texture("crowd-joints", joint_count * 3, n, 4)
        self.humans_tex = data_texture("crowd-humans", HUMAN_TEXELS, n, 4)
        self._humans = np.zeros((max(n, 1), HUMAN_TEXELS, 4), np.float32)
        for i, d in enumerate(self.dresses):
            self._humans[i, :len(d.palette), :3] = d.palette
        w = np.zeros((max(n, 1), 12), np.float32)
        w[:n, :10] = shape_weights
        self._humans[:, SHAPE_AT:SHAPE_AT + 3] = w.reshape(-1, 3, 4)
        ram(self.humans_tex)[:] = self._humans.reshape(-1)
        self.draws: list[tuple[NodePath, ShaderAttrib]] = []
        wears, near_rows = [], []
        shader = crowd_shader(lights)
        for kind_name, kind in library.kinds.items():
            cover = data_texture(f"crowd-cover-{kind_name}", len(kind.cover_classes), n, 1)
            flags = np.zeros((max(n, 1), len(kind.cover_classes)), np.float32)
            for i, d in enumerate(self.dresses):
                if self.bodies[i] == kind_name:
                    flags[i] = self._cover_slots(kind, d)
            ram(cover)[:] = flags.reshape(-1)
            for is_near, piece, geom, first, targets in kind.draws:
                wears.append([b == kind_name and (piece.name == "body" or piece.name in d.pieces)
                              for b, d in zip(self.bodies, self.dresses)])
                near_rows.append(is_near)
                node = GeomNode(f"{kind_name}-{'near' if is_near else 'far'}-{piece.name}")
                node.addGeom(geom)
                node.setBounds(OmniBoundingVolume())    # instances go anywhere: never cull on the template's bounds
                node.setFinal(True)
                path = self.root.attachNewNode(node)
                if piece.part != "skin":
                    path.setTwoSided(True)
                attrib = ShaderAttrib.make(shader)
                for name, value in (("u_joints", self.joints_tex), ("u_humans", self.humans_tex), ("u_deltas", kind.deltas),
                                    ("u_cover", cover),
                                    ("u_draw", LVecBase4i(len(self.draws), first, targets,
                                                          len(library.face_units) if is_near else 0)),
                                    ("u_look", LVecBase4f(0.0 if piece.lit else 1.0, PUSH_M[0 if is_near else 1],
                                                          0.0 if is_near else 1.0, 0))):
                    attrib = attrib.setShaderInput(name, value)
                if not piece.lit:
                    path.setLightOff(20)
                path.hide()
                self.draws.append((path, attrib))
        self.wears = np.array(wears, bool).reshape(len(self.draws), n)
        self.draw_is_near = np.array(near_rows, bool)
        self.index_tex = data_texture("crowd-index", n, len(self.draws), 1)
        for path, attrib in self.draws:
            path.node().setAttrib(attrib.setShaderInput("u_index", self.index_tex), 100)
        self.draws = [(path, attrib.setShaderInput("u_index", self.index_tex)) for path, attrib in self.draws]
        self.near_m = NEAR_M                # where the full level begins (the benchmark varies it)
        self.near = np.zeros(n, bool)
        self.drawn = np.zeros(n, bool)      # who the last update drew
        self.counts = np.zeros(len(self.draws), np.int64)

    @staticmethod
    def _cover_slots(kind: Kind, dress: crowd_mesh.Dress) -> list[float]:
        """Per cover class, 1 + the palette slot of the outermost layer of ``dress`` that hides it (0: none)."""
        order = [k for k, name in enumerate(kind.piece_names) if name in dress.pieces]
        rank = {k: r for r, k in enumerate(sorted(order, key=lambda k: dress.order.index(kind.piece_names[k])))}
        out = []
        for covering in kind.cover_classes:
            worn = [k for k in covering if k in rank]
            top = max(worn, key=rank.get) if worn else None
            out.append(0.0 if top is None else 1.0 + crowd_mesh.SLOT[crowd_mesh.part_of(kind.piece_names[top])])
        return out

    def set_lights(self, lights: int) -> None:
        """Light the crowd for ``lights`` non-ambient lights (the scene's), as ``apply_shading`` does the rest."""
        shader = crowd_shader(lights)
        self.draws = [(path, attrib.setShader(shader)) for path, attrib in self.draws]
        self.counts[:] = -1

    def update(self, skin: np.ndarray, face: np.ndarray | None, visible: np.ndarray, position_m: np.ndarray,
               camera_m) -> None:
        """Draw this frame: ``skin`` (N, J, 3, 4) joint matrices, ``face`` (N, U) weights of the
        library's face units (or None), ``visible`` (N,) who draws, ``position_m`` (N, 2+) floor points
        for the level of detail, ``camera_m`` the viewer (x, y, ...)."""
        n = self.n
        if n == 0:
            return
        ram(self.joints_tex)[:] = np.ascontiguousarray(skin, np.float32).reshape(-1)
        if face is not None and len(self.library.face_units):
            f = np.zeros((n, 16), np.float32)
            f[:, :face.shape[1]] = face
            self._humans[:n, FACE_AT:FACE_AT + 4] = f.reshape(n, 4, 4)
            ram(self.humans_tex)[:] = self._humans.reshape(-1)
        p = np.asarray(position_m, np.float64)
        dist = np.hypot(p[:, 0] - camera_m[0], p[:, 1] - camera_m[1])
        visible = np.asarray(visible, bool)
        self.drawn = visible.copy()
        self.near = visible & (dist < self.near_m + np.where(self.near, LOD_MARGIN_M, -LOD_MARGIN_M))
        level = np.where(self.draw_is_near[:, None], self.near[None, :], (visible & ~self.near)[None, :])
        mask = self.wears & level
        ram(self.index_tex)[:] = np.argsort(~mask, axis=1, kind="stable").astype(np.float32).reshape(-1)
        counts = mask.sum(axis=1)
        for d in np.flatnonzero(counts != self.counts):
            path, attrib = self.draws[d]
            if counts[d]:
                path.node().setAttrib(attrib.setInstanceCount(int(counts[d])), 100)
                path.show()
            else:
                path.hide()
        self.counts = counts

    def report(self) -> dict:
        """What draws now: GeomNodes drawn, instances, humans near and far."""
        drawn = self.counts > 0
        return {"draws": int(drawn.sum()), "instances": int(self.counts[drawn].sum()), "geom_nodes": len(self.draws),
                "near": int(self.near.sum()), "load_s": round(self.library.load_s, 3)}

    def destroy(self) -> None:
        self.root.removeNode()
