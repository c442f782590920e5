"""Baked human bodies: skinned anny bodies from ``assets/humans/``, shaped by seed, posed by joint name.

The bodies were baked offline by ``scripts/bake_humans.py`` from the anny body model (CC0
MakeHuman/MPFB2 mesh, rig and targets; see ``assets/humans/NOTICE``). At run time only numpy,
Panda3D and panda3d-gltf are needed: never torch, warp or anny.

Frames: metres, Z up, a body faces -Y with its soles at z = 0 in its own root (Panda3D's
convention). Joints are anny's 104-joint game rig (``joint_names``); their rest frames are
translations only (axes parallel to the body's root), so a joint's heading turns it about the
body's up axis.

Shape: five phenotype axes (``SHAPE_AXES``), each a coefficient in [-1, 1] that reaches the
baked low or high phenotype (0 is the base body); the shaped mesh is one tensor contraction of
the coefficients with the baked deltas. Face units (anny's ARKit-style facial actions, e.g.
``mouthSmileLeft``, ``eyeBlinkRight``, ``jawOpen``) add in the same way. The rig has no jaw
joint: the mouth opens with the ``jawOpen`` unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from panda3d.core import LMatrix4f, LVecBase3f, NodePath, TransformState

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets" / "humans"
BODY_NAMES = ("female", "male")
SHAPE_AXES = ("age", "weight", "muscle", "height", "proportions")
# The joints a behaviour poses, by rig name, grouped by what they move.
JOINT_GROUPS: dict[str, tuple[str, ...]] = {
    "head": ("head",),
    "neck": ("neck01", "neck02", "neck03"),
    "eyes": ("eye.L", "eye.R"),
    "jaw": (),  # no jaw joint in anny's game rig: the face unit 'jawOpen' opens the mouth
    "spine": ("spine05", "spine04", "spine03", "spine02", "spine01"),
    "arms": tuple(f"{j}.{s}" for s in "LR" for j in ("clavicle", "shoulder01", "upperarm01", "upperarm02",
                                                      "lowerarm01", "lowerarm02", "wrist")),
    "legs": tuple(f"{j}.{s}" for s in "LR" for j in ("pelvis", "upperleg01", "upperleg02", "lowerleg01",
                                                      "lowerleg02", "foot")),
}
# Skin tones (sRGB) a seed picks from, light to dark, and iris colours.
SKIN_TONES_RGB = np.array([[0.95, 0.80, 0.70], [0.89, 0.70, 0.58], [0.80, 0.60, 0.47], [0.66, 0.47, 0.34],
                           [0.52, 0.36, 0.25], [0.38, 0.26, 0.18]], np.float32)
IRIS_RGB = np.array([[0.30, 0.20, 0.12], [0.20, 0.13, 0.08], [0.28, 0.40, 0.55], [0.33, 0.40, 0.25]], np.float32)
SCLERA_RGB = (0.93, 0.92, 0.90)
PUPIL_RGB = (0.03, 0.03, 0.03)
SHAPE_SPREAD = 0.45  # standard deviation of a seeded shape coefficient (clipped to [-1, 1])


@dataclass(frozen=True)
class BodyAsset:
    """One baked body's arrays (numpy only; shared by every view of that body)."""

    name: str
    glb_path: Path
    vertices: np.ndarray              # (V, 3) float32 rest positions, metres
    faces: np.ndarray                 # (F, 3) int64 triangles
    regions: np.ndarray               # (V,) uint8: 0 skin, 1 sclera, 2 iris, 3 pupil
    joint_names: tuple[str, ...]
    joint_parents: np.ndarray         # (J,) int, -1 for the root
    joint_heads: np.ndarray           # (J, 3) float32 rest joint positions, metres
    shape_deltas: np.ndarray          # (2K, V, 3) float32: axis k's low (2k) and high (2k+1) target
    shape_joint_deltas: np.ndarray    # (2K, J, 3) float32: the same targets for the joint heads
    height_m: float                   # the base body's stature (soles to crown)
    face_units: tuple[str, ...]
    face_deltas: np.ndarray           # (U, V, 3) float32
    mouth_shade: np.ndarray           # (V,) float32 colour multiplier: 1, less inside the mouth (vr.render.mouth)

    def joint_index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"body {self.name!r} has no joint {name!r}; its joints: "
                           f"{', '.join(self.joint_names)}") from None


def load_body(name: str, assets_dir: Path = ASSETS_DIR, mouth: bool = True) -> BodyAsset:
    """Read a baked body ('female' or 'male') and the shared face units from ``assets_dir``
    (``mouth``: with its baked mouth shade; False leaves it all 1, as the mouth's own bake does)."""
    npz, glb, face = assets_dir / f"{name}.npz", assets_dir / f"{name}.glb", assets_dir / "face_units.npz"
    for path in (npz, glb, face):
        if not path.exists():
            raise FileNotFoundError(f"{path}: baked body file missing; bodies are {', '.join(BODY_NAMES)}; "
                                    "re-bake with scripts/bake_humans.py (see assets/humans/README.md)")
    with np.load(npz, allow_pickle=False) as d:
        labels = [str(s) for s in d["shape_labels"]]
        expected = [f"{a}{s}" for a in SHAPE_AXES for s in "-+"]
        if labels != expected:
            raise ValueError(f"{npz}: shape targets {labels}, expected {expected}; re-bake the bodies")
        arrays = {k: d[k] for k in d.files}
    with np.load(face, allow_pickle=False) as f:
        units = tuple(str(s) for s in f["labels"])
        offsets, idx, deltas = f["offsets"], f["indices"].astype(np.int64), f["deltas"].astype(np.float32)
    vertex_count = len(arrays["vertices"])
    face_deltas = np.zeros((len(units), vertex_count, 3), np.float32)
    unit_of_row = np.repeat(np.arange(len(units)), np.diff(offsets))
    face_deltas[unit_of_row, idx] = deltas
    mouth_shade = np.ones(vertex_count, np.float32)
    if mouth:
        path = assets_dir / "mouth_shade.npz"
        with np.load(path, allow_pickle=False) if path.exists() else _missing(path) as m:
            if name not in m.files or len(m[name]) != vertex_count:
                raise ValueError(f"{path}: no mouth shade for {name} of {vertex_count} vertices; "
                                 "re-bake with python -m vr.render.mouth")
            mouth_shade = m[name].astype(np.float32) / 255.0
    return BodyAsset(
        name=name, glb_path=glb, vertices=arrays["vertices"].astype(np.float32),
        faces=arrays["faces"].astype(np.int64), regions=arrays["regions"],
        joint_names=tuple(str(s) for s in arrays["joint_names"]),
        joint_parents=arrays["joint_parents"].astype(np.int64), joint_heads=arrays["joint_heads"].astype(np.float32),
        shape_deltas=arrays["shape_deltas"].astype(np.float32),
        shape_joint_deltas=arrays["shape_joint_deltas"].astype(np.float32),
        height_m=float(arrays["height_m"]), face_units=units, face_deltas=face_deltas, mouth_shade=mouth_shade)


def _missing(path: Path):
    raise FileNotFoundError(f"{path}: the mouth's shading is missing; make it with python -m vr.render.mouth")


def shape_for_seed(seed: int) -> dict[str, float]:
    """Seeded shape coefficients in [-1, 1] for each of ``SHAPE_AXES`` (the same seed, the same body)."""
    rng = np.random.default_rng([int(seed), 0x0B0D1E5])
    c = np.clip(rng.normal(0.0, SHAPE_SPREAD, len(SHAPE_AXES)), -1.0, 1.0)
    return {axis: round(float(v), 4) for axis, v in zip(SHAPE_AXES, c)}


def target_weights(shape: Mapping[str, float]) -> np.ndarray:
    """The (2K,) weights of the low/high targets for shape coefficients (unknown axes are errors)."""
    unknown = set(shape) - set(SHAPE_AXES)
    if unknown:
        raise KeyError(f"unknown shape axes {sorted(unknown)}; axes are {', '.join(SHAPE_AXES)}")
    c = np.clip(np.array([float(shape.get(a, 0.0)) for a in SHAPE_AXES], np.float32), -1.0, 1.0)
    return np.stack([np.maximum(-c, 0.0), np.maximum(c, 0.0)], axis=1).reshape(-1)


def shaped(asset: BodyAsset, shape: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices (V, 3) and joint heads (J, 3) of ``asset`` with shape coefficients applied."""
    w = target_weights(shape)
    return (asset.vertices + np.tensordot(w, asset.shape_deltas, axes=1),
            asset.joint_heads + np.tensordot(w, asset.shape_joint_deltas, axes=1))


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) of a triangle mesh."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).astype(np.float64)
    n = np.zeros((len(vertices), 3))
    for k in range(3):
        n += np.stack([np.bincount(faces[:, k], fn[:, c], len(vertices)) for c in range(3)], axis=1)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def load_template(asset: BodyAsset) -> NodePath:
    """The .glb as a Panda3D model (a Character under a ModelRoot); copy it for each view."""
    import gltf  # panda3d-gltf

    root = gltf.load_model(str(asset.glb_path))
    root = root if isinstance(root, NodePath) else NodePath(root)
    rows = root.find("**/+GeomNode").node().getGeom(0).getVertexData().getNumRows()
    if rows != len(asset.vertices):
        raise ValueError(f"{asset.glb_path}: {rows} vertices but its .npz has {len(asset.vertices)}; re-bake both")
    return root


class BodyView:
    """One baked body in the scene graph: shape, skin, face units and joint turns, applied with numpy.

    ``template`` comes from ``load_template(asset)`` (load it once, make many views). The view's
    vertex data is its own copy; the body's NodePath is ``root`` (a direct.actor Actor)."""

    def __init__(self, asset: BodyAsset, template: NodePath, parent: NodePath, seed: int | None = None,
                 shape: Mapping[str, float] | None = None) -> None:
        from direct.actor.Actor import Actor

        self.asset = asset
        self.root = Actor(template, copy=True)
        self.root.reparentTo(parent)
        self.root.setMaterialOff(1)      # vertex colours carry skin, sclera, iris and pupil
        self.root.setTextureOff(1)
        self.seed = seed
        rng = np.random.default_rng([0 if seed is None else int(seed), 0x5C1A])
        self._palette = np.array([SKIN_TONES_RGB[rng.integers(len(SKIN_TONES_RGB))], SCLERA_RGB,
                                  IRIS_RGB[rng.integers(len(IRIS_RGB))], PUPIL_RGB], np.float32)
        self._controls: dict[str, NodePath] = {}
        self._turns: dict[str, tuple[float, float, float]] = {}
        self._face = np.zeros(len(asset.face_units), np.float32)
        self._listeners: list[Callable[[np.ndarray, np.ndarray], None]] = []
        geom_np = self.root.find("**/+GeomNode")
        self._geom = geom_np.node().modifyGeom(0)
        self.shape = shape_for_seed(seed) if shape is None and seed is not None else dict(shape or {})
        self._rest, self._heads = shaped(asset, self.shape)
        self._write(colors=True)

    # -- vertex data -----------------------------------------------------------------------------

    def _vertex_array(self) -> np.ndarray:
        """A writable structured view of the position/normal/colour array (see the .glb's layout)."""
        array = self._geom.modifyVertexData().modifyArray(0)
        fmt = array.getArrayFormat()
        cols = {c.getName().getName(): c.getStart() for c in fmt.getColumns()}
        dtype = np.dtype({"names": ["v", "n", "c"], "formats": [("<f4", (3,)), ("<f4", (3,)), ("u1", (4,))],
                          "offsets": [cols["vertex"], cols["normal"], cols["color"]], "itemsize": fmt.getStride()})
        return np.frombuffer(memoryview(array).cast("B"), dtype)

    def _write(self, colors: bool = False) -> None:
        vertices = self._rest + np.tensordot(self._face, self.asset.face_deltas, axes=1)
        data = self._vertex_array()
        data["v"] = vertices
        normals = vertex_normals(vertices, self.asset.faces)
        data["n"] = normals
        if colors:
            rgb = np.round(self._palette[self.asset.regions] * self.asset.mouth_shade[:, None] * 255).astype(np.uint8)
            data["c"] = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)
        self._last = (vertices, normals)
        for listener in self._listeners:
            listener(vertices, normals)

    def add_vertex_listener(self, listener: Callable[[np.ndarray, np.ndarray], None]) -> None:
        """Call ``listener(vertices, normals)`` (the shaped, face-posed rest mesh, (V, 3) each, the
        body root's frame) now and after every re-shape or face change: layers such as clothes follow it."""
        self._listeners.append(listener)
        listener(*self._last)

    @property
    def geom_path(self) -> NodePath:
        """The body's GeomNode (under the Character, so geometry added beside it is skinned with it)."""
        return self.root.find("**/+GeomNode")

    @property
    def palette(self) -> np.ndarray:
        """The seeded (4, 3) sRGB colours of skin, sclera, iris and pupil."""
        return self._palette

    def set_visible_faces(self, keep: np.ndarray) -> None:
        """Draw only the body triangles where ``keep`` (F,) is true (e.g. skin under clothes hidden)."""
        from panda3d.core import Geom, GeomTriangles

        faces = np.ascontiguousarray(self.asset.faces[np.asarray(keep, bool)].astype(np.uint32))
        prim = GeomTriangles(Geom.UH_static)
        prim.setIndexType(Geom.NT_uint32)
        prim.modifyVertices().setNumRows(faces.size)
        np.frombuffer(memoryview(prim.modifyVertices()).cast("B"), np.uint32)[:] = faces.reshape(-1)
        self._geom.setPrimitive(0, prim)

    def set_shape(self, shape: Mapping[str, float]) -> None:
        """Re-shape the body (coefficients in [-1, 1] by ``SHAPE_AXES``); joint turns keep their pivots."""
        self.shape = dict(shape)
        self._rest, self._heads = shaped(self.asset, self.shape)
        self._write()
        for name, hpr in list(self._turns.items()):
            self.turn_joint(name, hpr)

    def set_face(self, units: Mapping[str, float]) -> None:
        """Face unit weights in [0, 1] by name (others 0), e.g. {'jawOpen': 0.6, 'eyeBlinkLeft': 1}."""
        w = np.zeros(len(self.asset.face_units), np.float32)
        for name, value in units.items():
            if name not in self.asset.face_units:
                raise KeyError(f"no face unit {name!r}; units: {', '.join(self.asset.face_units)}")
            w[self.asset.face_units.index(name)] = np.clip(value, 0.0, 1.0)
        self._face = w
        self._write()

    # -- joints ----------------------------------------------------------------------------------

    def turn_joint(self, name: str, hpr_deg: tuple[float, float, float]) -> None:
        """Rotate joint ``name`` by heading/pitch/roll in degrees about its rest axes, at its shaped pivot.

        The .glb binds every joint at the base body's head ``p``; a shaped body's joint sits at
        ``p'``. Setting the joint's local matrix to T(p - p') R T(p' - p_parent) (Panda3D's row
        order) turns the shaped mesh about ``p'`` and leaves the rest pose untouched."""
        j = self.asset.joint_index(name)
        parent = int(self.asset.joint_parents[j])
        base, moved = self.asset.joint_heads[j], self._heads[j]
        parent_base = self.asset.joint_heads[parent] if parent >= 0 else np.zeros(3, np.float32)
        rot = TransformState.makeHpr(LVecBase3f(*hpr_deg)).getMat()
        mat = LMatrix4f.translateMat(*(base - moved)) * rot * LMatrix4f.translateMat(*(moved - parent_base))
        if name not in self._controls:
            self._controls[name] = self.root.controlJoint(None, "modelRoot", name)
        self._controls[name].setMat(mat)
        self._turns[name] = tuple(float(x) for x in hpr_deg)

    def joint_position(self, name: str) -> tuple[float, float, float]:
        """Where joint ``name`` is now, in the body root's frame (metres)."""
        j = self.asset.joint_index(name)
        exposed = self.root.exposeJoint(None, "modelRoot", name)
        p = exposed.getMat(self.root).xformPoint(LVecBase3f(*(self._heads[j] - self.asset.joint_heads[j])))
        self.root.stopJoint("modelRoot", name)
        exposed.removeNode()
        return float(p.x), float(p.y), float(p.z)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.asset.joint_names

    @property
    def height_m(self) -> float:
        """This body's stature now (soles to crown), metres."""
        return float(np.ptp(self._rest[:, 2]))

    def report(self) -> dict:
        """What was loaded: the body, its counts, joints, shape and stature."""
        return {"body": self.asset.name, "file": self.asset.glb_path.name, "vertices": int(len(self.asset.vertices)),
                "triangles": int(len(self.asset.faces)), "joints": len(self.asset.joint_names),
                "joint_names": list(self.asset.joint_names), "face_units": len(self.asset.face_units),
                "shape": dict(self.shape), "height_m": round(self.height_m, 3), "seed": self.seed}


def picture_studio(size: tuple[int, int], title: str, far_m: float):
    """An offscreen ShowBase for the documentation's pictures: a dark backdrop, an ambient, a key
    and a fill light, and the toolkit's shader."""
    from panda3d.core import AmbientLight, DirectionalLight

    from vr.backends.panda import start_showbase
    from vr.render.shading import apply_shading

    base = start_showbase("offscreen", size, title)
    base.setBackgroundColor(0.16, 0.18, 0.21, 1)
    base.camLens.setNearFar(0.05, far_m)
    for name, kind, rgb, hp in (("ambient", AmbientLight, (0.45, 0.45, 0.48), None),
                                ("key", DirectionalLight, (0.85, 0.82, 0.78), (35, -35)),
                                ("fill", DirectionalLight, (0.25, 0.27, 0.32), (-120, -10))):
        node = base.render.attachNewNode(kind(name))
        node.node().setColor((*rgb, 1))
        if hp:
            node.setHpr(hp[0], hp[1], 0)
        base.render.setLight(node)
    apply_shading(base.render, lights=2)
    return base


def render_pictures(out_dir: Path, body: str = "female", seed: int = 1, size: tuple[int, int] = (800, 450)) -> list[Path]:
    """docs/images/body_front.png (the face from 0.8 m) and body_3m.png (the whole body from 3 m),
    both from a 3/4 view at a standing patient's eye height (1.6 m), lit by the toolkit's shader."""
    import math

    base = picture_studio(size, "bodies", far_m=50)
    asset = load_body(body)
    view = BodyView(asset, load_template(asset), base.render, seed=seed)
    view.set_face({"mouthSmileLeft": 0.35, "mouthSmileRight": 0.35})
    view.turn_joint("head", (12, 0, 0))
    eye_z = view.joint_position("eye.L")[2]
    out = []
    for file, distance_m, target_z, fov_deg in (("body_front.png", 0.8, eye_z - 0.03, 50),
                                                ("body_3m.png", 3.0, 0.9, 66)):
        base.camLens.setFov(fov_deg)
        yaw = math.radians(35)   # 3/4 view: the camera stands 35 degrees to the body's left of its front
        base.cam.setPos(distance_m * math.sin(yaw), -distance_m * math.cos(yaw), 1.6)
        base.cam.lookAt(0, 0, target_z)
        base.graphicsEngine.renderFrame()
        base.graphicsEngine.renderFrame()
        out_dir.mkdir(parents=True, exist_ok=True)
        base.win.saveScreenshot(str(out_dir / file))
        out.append(out_dir / file)
    base.destroy()
    return out


if __name__ == "__main__":
    import sys

    for written in render_pictures(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images")):
        print(written)
