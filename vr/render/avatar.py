"""A user's own avatar: a rigged glTF 2.0 or VRM humanoid drawn in a human's place and posed like our rig.

``AvatarView(path, parent, height_m)`` loads the file through panda3d-gltf (every skin becomes a
Character; VRM files are binary glTF), turns it to face the way our bodies face, scales its rest
stature to ``height_m`` and stands its soles on the floor. ``apply(local_rot, position_m, yaw_deg)``
takes one human's (J, 3, 3) local joint rotations of our 104-joint rig (``CrowdPose.local_rot[i]``
of ``vr.render.posing``: column vectors, relative to rest, in the parent's rest-parallel frame) and
poses the avatar's humanoid bones from them.

Retargeting: our rest frames are translations only (axes parallel to the body's root), so a joint's
world rotation from rest is the product ``D_j`` of the local rotations down its chain. Each mapped
avatar bone ``b`` (``RETARGET``: humanoid bone -> our joint) is given the same world rotation from
its own rest, ``R_b = D_j A_b`` (``A_b`` its rest world orientation, taken from the skin's bind
pose as panda3d-gltf binds it), and its joint's local matrix becomes ``R_parent^T R_b`` with the
rest translation kept. Bones that are not mapped keep their rest local rotation, so they follow
their nearest mapped ancestor. Limbs are first turned from the avatar's bind pose onto our rig's
A-pose (``LIMB_CHILD``: upper and lower arms and legs, each bone's direction to the next), so an
avatar bound in a T-pose hangs its arms as ours do; the bones below a limb inherit its turn.
``root_shift_m`` turns the posing pass's root joint into the move ``apply`` takes (sitting down).
One control node per mapped bone (``PartBundle.controlJoint``) is set per frame: a few dozen
matrices per avatar, fine for the few avatars a scene has; Panda3D skins the mesh on the CPU.

Frames: the body frame is our rig's (metres, Z up, facing -Y, soles at z = 0); the world places
it at T(position) Rz(yaw + 180 deg), so ``yaw_deg`` 0 faces +Y as ``HumansState.body_yaw_deg`` does.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from panda3d.core import LMatrix4f, LPoint3f, ModelNode, NodePath

from vr.config.avatar import AvatarError, AvatarInfo, inspect_avatar
from vr.render.bodies import ASSETS_DIR

# Humanoid bone -> our rig's joint whose world rotation from rest it takes.
RETARGET: dict[str, str] = {
    "hips": "root", "spine": "spine05", "chest": "spine03", "upperChest": "spine01", "neck": "neck01",
    "head": "head", "jaw": "head", "leftEye": "eye.L", "rightEye": "eye.R",
}
for _side, _s in (("left", "L"), ("right", "R")):
    RETARGET.update({f"{_side}Shoulder": f"clavicle.{_s}", f"{_side}UpperArm": f"upperarm01.{_s}",
                     f"{_side}LowerArm": f"lowerarm01.{_s}", f"{_side}Hand": f"wrist.{_s}",
                     f"{_side}UpperLeg": f"upperleg01.{_s}", f"{_side}LowerLeg": f"lowerleg01.{_s}",
                     f"{_side}Foot": f"foot.{_s}", f"{_side}Toes": f"toe3-1.{_s}",
                     f"{_side}ThumbMetacarpal": f"finger1-1.{_s}", f"{_side}ThumbProximal": f"finger1-2.{_s}",
                     f"{_side}ThumbDistal": f"finger1-3.{_s}"})
    for _finger, _k in (("Index", 2), ("Middle", 3), ("Ring", 4), ("Little", 5)):
        RETARGET.update({f"{_side}{_finger}{part}": f"finger{_k}-{n}.{_s}"
                         for n, part in enumerate(("Proximal", "Intermediate", "Distal"), 1)})
# Limb bones whose rest direction (towards the next bone) is turned onto our rig's rest direction,
# so an avatar bound in a T-pose (as VRM is) or with straight legs takes our A-pose at rest; the
# bones below them inherit the turn.
LIMB_CHILD = {f"{side}{a}": f"{side}{b}" for side in ("left", "right") for a, b in (
    ("UpperArm", "LowerArm"), ("LowerArm", "Hand"), ("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"))}
EYE_HEIGHT_SHARE = 0.936    # eye height over stature (adults), where an avatar has no eye bones
EYE_FORWARD_SHARE = 0.055   # eyes in front of the head bone, over stature


def rig_joints(assets_dir: Path = ASSETS_DIR) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Our rig's joint names, parent indices (-1 for the root) and rest joint positions (J, 3) in
    the body frame, read from the baked female body."""
    with np.load(assets_dir / "female.npz", allow_pickle=False) as d:
        return (tuple(str(s) for s in d["joint_names"]), d["joint_parents"].astype(np.int64),
                d["joint_heads"].astype(np.float64))


def _turn_onto(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) taking direction ``v`` onto direction ``u``."""
    v, u = v / np.linalg.norm(v), u / np.linalg.norm(u)
    axis, c = np.cross(v, u), float(np.dot(v, u))
    if np.linalg.norm(axis) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([-1.0, -1.0, 1.0])
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def _col(mat: LMatrix4f) -> np.ndarray:
    """A Panda3D (row-vector) matrix as a numpy column-vector 4x4."""
    return np.array([[mat.getCell(r, c) for c in range(4)] for r in range(4)], np.float64).T


def _row(m: np.ndarray) -> LMatrix4f:
    t = np.asarray(m, np.float64).T
    return LMatrix4f(*[float(v) for v in t.reshape(-1)])


def _orthonormal(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m[:3, :3])
    return u @ vt


def root_shift_m(skin_root: np.ndarray, root_head_m: np.ndarray, scale: float, shift_m: np.ndarray,
                 position_m, yaw_deg: float) -> np.ndarray:
    """The rig root's move from rest in the (turned, unscaled) body frame, metres, from the posing
    pass: ``skin_root`` one human's (3, 4) skinning matrix of the root joint (``CrowdPose.skin[i, 0]``),
    ``root_head_m`` its shaped rest root (``CrowdRig.joint_heads_m[i, 0]``), ``scale`` and ``shift_m``
    the rig's (``CrowdRig.scale[i]``, ``CrowdRig.shift_m[i]``): a seated human's hips go down."""
    a = math.radians(float(yaw_deg) + 180.0)
    turn = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1.0]])
    world = np.asarray(skin_root, np.float64)[:, :3] @ root_head_m + np.asarray(skin_root, np.float64)[:, 3]
    floor = np.zeros(3)
    floor[: min(len(position_m), 3)] = np.asarray(position_m, np.float64)[:3]
    return turn.T @ (world - floor) - scale * (np.asarray(root_head_m, np.float64) + shift_m)


class _Skin:
    """One Character of the avatar: its joints' rest pose and the control nodes of its mapped bones."""

    def __init__(self, char: NodePath, model: NodePath, info: AvatarInfo) -> None:
        self.np = char
        bundle = char.node().getBundle(0)
        self.names: list[str] = []
        self.parent: list[int] = []
        self.rest_local: list[np.ndarray] = []

        def walk(group, parent: int) -> None:
            for k in range(group.getNumChildren()):
                child = group.getChild(k)
                index = parent
                if hasattr(child, "getDefaultValue"):
                    index = len(self.names)
                    self.names.append(child.getName())
                    self.parent.append(parent)
                    self.rest_local.append(_col(child.getDefaultValue()))
                walk(child, index)

        walk(bundle, -1)
        self.rest_global: list[np.ndarray] = []
        for i, local in enumerate(self.rest_local):
            p = self.parent[i]
            self.rest_global.append(local if p < 0 else self.rest_global[p] @ local)
        self.rot = [_orthonormal(g) for g in self.rest_global]      # A_b in the Character's frame
        self.char_to_model = _col(char.getMat(model))
        by_name = {n: i for i, n in enumerate(self.names)}
        self.bone_of = {by_name[n]: b for b, n in info.bones.items() if n in by_name and b in RETARGET}
        self.controls: dict[int, NodePath] = {}
        for i in sorted(self.bone_of):
            node = char.attachNewNode(ModelNode(f"avatar-{self.names[i]}"))
            node.setMat(_row(self.rest_local[i]))
            bundle.controlJoint(self.names[i], node.node())
            self.controls[i] = node
        # A mapped bone's own rest local rotation and scale: the posed local is L_b @ (Rrest^T Q_b).
        self._keep: dict[int, np.ndarray] = {}
        for i in self.controls:
            p = self.parent[i]
            rest_rot = self.rot[i] if p < 0 else self.rot[p].T @ self.rot[i]
            self._keep[i] = rest_rot.T @ self.rest_local[i][:3, :3]
        self.posed_local = [m.copy() for m in self.rest_local]

    def index(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None

    def pose(self, deltas: dict[str, np.ndarray], to_char: np.ndarray, rest_turns: dict[str, np.ndarray]) -> None:
        """Set every mapped bone from our joints' world rotations from rest (body frame) ``deltas``,
        after turning the limbs' rest directions onto ours (``rest_turns``, body frame)."""
        world = []
        turn: list[np.ndarray] = []
        for i in range(len(self.names)):
            p = self.parent[i]
            bone = self.bone_of.get(i)
            own = rest_turns.get(bone) if bone is not None else None
            turn.append(to_char.T @ own @ to_char if own is not None else (turn[p] if p >= 0 else np.eye(3)))
            if bone is not None:
                d = to_char.T @ deltas[bone] @ to_char
                world.append(d @ turn[i] @ self.rot[i])
            else:
                world.append(world[p] @ (self.rot[p].T @ self.rot[i]) if p >= 0 else self.rot[i])
        for i, node in self.controls.items():
            p = self.parent[i]
            local = world[i] if p < 0 else world[p].T @ world[i]
            m = self.rest_local[i].copy()
            m[:3, :3] = local @ self._keep[i]
            self.posed_local[i] = m
            node.setMat(_row(m))

    def posed_global(self, i: int) -> np.ndarray:
        g = self.posed_local[i]
        p = self.parent[i]
        while p >= 0:
            g = self.posed_local[p] @ g
            p = self.parent[p]
        return g


class AvatarView:
    """One avatar in the scene graph. ``root`` is placed by ``apply``; the model hangs under ``body``
    (the body frame: turned, scaled to ``height_m``, soles at z = 0)."""

    def __init__(self, path: str | Path, parent: NodePath, height_m: float,
                 rig: tuple[tuple[str, ...], np.ndarray, np.ndarray] | None = None) -> None:
        import gltf  # panda3d-gltf

        self.path = Path(path)
        try:
            self.info = inspect_avatar(self.path)
        except AvatarError as e:
            raise ValueError(f"{self.path}: {e}") from None
        self.joint_names, self.joint_parents, self.joint_heads = rig if rig is not None else rig_joints()
        missing = sorted({j for j in RETARGET.values() if j not in self.joint_names})
        if missing:
            raise ValueError(f"our rig lacks joints the retargeting names: {', '.join(missing)}")
        self.root = parent.attachNewNode(f"avatar-{self.path.stem}")
        self.body = self.root.attachNewNode("body")
        model = gltf.load_model(str(self.path))
        self.model = self.body.attachNewNode(model) if not isinstance(model, NodePath) else model
        self.model.reparentTo(self.body)
        self.skins = [_Skin(c, self.model, self.info) for c in self.model.findAllMatches("**/+Character")]
        if not any(s.controls for s in self.skins):
            raise ValueError(f"{self.path}: none of its humanoid bones became joints when loaded")
        self.height_m = float(height_m)
        self._fit()
        self._chains = {b: self._chain(RETARGET[b]) for b in self.info.bones if b in RETARGET}
        self.rest_turns = self._rest_turns()
        self.apply(None, (0.0, 0.0), 0.0)

    def set_height(self, height_m: float) -> None:
        """Scale it to another stature (a different human slot comes to its place)."""
        self.height_m = float(height_m)
        self._fit()

    # -- set-up ----------------------------------------------------------------------------------

    def _bone_model(self, bone: str) -> np.ndarray | None:
        """A humanoid bone's rest position in the model's frame."""
        for s in self.skins:
            i = s.index(self.info.bones.get(bone, ""))
            if i is not None:
                return (s.char_to_model @ s.rest_global[i] @ np.array([0, 0, 0, 1.0]))[:3]
        return None

    def _fit(self) -> None:
        """Turn the model so its left is +X (it faces -Y), scale its stature, soles on the floor."""
        left = np.zeros(3)
        for a, b in (("leftUpperLeg", "rightUpperLeg"), ("leftUpperArm", "rightUpperArm")):
            pa, pb = self._bone_model(a), self._bone_model(b)
            left += pa - pb
        self.turn_deg = -math.degrees(math.atan2(left[1], left[0]))
        lo, hi = self.model.getTightBounds(self.model)
        self.rest_stature_m = float(hi.z - lo.z)
        scale = self.height_m / max(self.rest_stature_m, 1e-6)
        hips = self._bone_model("hips")
        c, s = math.cos(math.radians(self.turn_deg)), math.sin(math.radians(self.turn_deg))
        turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
        offset = turn @ np.array([hips[0], hips[1], lo.z]) * scale
        self.body.setScale(scale)
        self.body.setH(self.turn_deg)
        self._body_pos = -offset
        self.body.setPos(*map(float, -offset))
        self.scale = scale
        self._model_to_body = turn          # rotation only
        head = self._bone_model("head")
        # Where the eyes are without eye bones: over the head bone, in front of it (model frame).
        fwd = turn.T @ np.array([0.0, -1.0, 0.0])
        self._eye_guess_model = np.array([head[0], head[1], lo.z + EYE_HEIGHT_SHARE * self.rest_stature_m]) \
            + fwd * EYE_FORWARD_SHARE * self.rest_stature_m

    def _rest_turns(self) -> dict[str, np.ndarray]:
        """Per limb bone, the body-frame rotation turning its rest direction onto our rig's."""
        out = {}
        for bone, child in LIMB_CHILD.items():
            a, b = self._bone_model(bone), self._bone_model(child)
            if a is None or b is None:
                continue
            ours = self.joint_heads[self.joint_names.index(RETARGET[child])] - \
                self.joint_heads[self.joint_names.index(RETARGET[bone])]
            out[bone] = _turn_onto(self._model_to_body @ (b - a), ours)
        return out

    def _chain(self, joint: str) -> list[int]:
        """Our rig's joints from the root down to ``joint``."""
        out = []
        j = self.joint_names.index(joint)
        while j >= 0:
            out.append(j)
            j = int(self.joint_parents[j])
        return out[::-1]

    # -- per frame -------------------------------------------------------------------------------

    def apply(self, local_rot: np.ndarray | None, position_m, yaw_deg: float,
              root_shift_m=(0.0, 0.0, 0.0)) -> None:
        """Pose and place the avatar: ``local_rot`` (J, 3, 3) our rig's local joint rotations (None:
        rest), ``position_m`` the floor point (x, y[, z]), ``yaw_deg`` the scene heading (0 faces +Y),
        ``root_shift_m`` the rig root's move from rest in the body frame (e.g. sitting down), metres."""
        deltas: dict[str, np.ndarray] = {}
        if local_rot is None:
            deltas = {b: np.eye(3) for b in self._chains}
        else:
            rot = np.asarray(local_rot, np.float64)
            memo: dict[int, np.ndarray] = {}
            for bone, chain in self._chains.items():
                d = np.eye(3)
                for j in chain:
                    if j not in memo:
                        memo[j] = d @ rot[j]
                    d = memo[j]
                deltas[bone] = d
        for skin in self.skins:
            to_char = self._model_to_body @ _orthonormal(skin.char_to_model)
            skin.pose(deltas, to_char, self.rest_turns)
        z = float(position_m[2]) if len(position_m) > 2 else 0.0
        self.root.setPos(float(position_m[0]), float(position_m[1]), z)
        self.root.setH(float(yaw_deg) + 180.0)
        # The body frame is the root's (turned, not scaled), so a shift there moves the body node.
        shift = self._body_pos + np.asarray(root_shift_m, np.float64)
        self.body.setPos(float(shift[0]), float(shift[1]), float(shift[2]))

    def eye_position(self, relative_to: NodePath | None = None) -> tuple[float, float, float]:
        """The midpoint of the avatar's eyes now (its eye bones, else a point over its head bone that
        turns with it), in ``relative_to``'s frame (default: the parent's)."""
        other = relative_to if relative_to is not None else self.root.getParent()
        points = []
        for bone in ("leftEye", "rightEye"):
            if self.info.has_eyes:
                for s in self.skins:
                    i = s.index(self.info.bones[bone])
                    if i is not None:
                        points.append((s, s.posed_global(i) @ np.array([0, 0, 0, 1.0])))
                        break
        if not points:
            for s in self.skins:
                i = s.index(self.info.bones["head"])
                if i is not None:
                    to_char = np.linalg.inv(s.char_to_model)
                    guess = to_char @ np.append(self._eye_guess_model, 1.0)
                    moved = s.posed_global(i) @ np.linalg.inv(s.rest_global[i]) @ guess
                    points.append((s, moved))
                    break
        world = [other.getRelativePoint(s.np, LPoint3f(*map(float, p[:3]))) for s, p in points]
        return (float(sum(p.x for p in world) / len(world)), float(sum(p.y for p in world) / len(world)),
                float(sum(p.z for p in world) / len(world)))

    def report(self) -> dict:
        """What was loaded: the file, its kind, where its bones came from and how it was fitted."""
        return {"file": str(self.path), "kind": self.info.kind, "bones_from": self.info.bones_from,
                "bones": dict(self.info.bones), "characters": len(self.skins),
                "rest_stature_m": round(self.rest_stature_m, 3), "height_m": self.height_m,
                "turn_deg": round(self.turn_deg, 1), "eyes": self.info.has_eyes}

    def destroy(self) -> None:
        self.root.removeNode()
