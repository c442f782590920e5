"""Procedural virtual humans: an articulated body and a face built from smooth primitives.

``build_human`` makes the node tree of one person from a seed (height, build, skin tone, hair,
clothes vary); ``HumanRig`` holds the joints that animation moves. Frame: the human's own, +Y
forward, Z up, origin on the floor between the feet. Limbs hang down -Z from their joints, so a
positive pitch (P) swings a limb forward.

Every part uses vertex colours and the same render state, so a ``RigidBodyCombiner`` above a
human merges its ~30 parts into one batch while the joints still move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from panda3d.core import NodePath, RigidBodyCombiner

from vr.render.geom import Mesh, rot_x, translate
from vr.sim.session import EYE_FORWARD_M

SKIN = [(0.98, 0.85, 0.74), (0.94, 0.76, 0.62), (0.87, 0.67, 0.52), (0.78, 0.57, 0.42),
        (0.66, 0.46, 0.33), (0.55, 0.37, 0.26), (0.45, 0.30, 0.21), (0.35, 0.23, 0.17)]
HAIR = [(0.08, 0.06, 0.05), (0.22, 0.14, 0.08), (0.40, 0.26, 0.14), (0.72, 0.58, 0.36),
        (0.52, 0.22, 0.10), (0.62, 0.62, 0.62), (0.85, 0.85, 0.82)]
IRIS = [(0.30, 0.18, 0.08), (0.20, 0.12, 0.06), (0.25, 0.40, 0.55), (0.30, 0.45, 0.30), (0.45, 0.35, 0.20)]
TOPS = [(0.20, 0.28, 0.45), (0.60, 0.15, 0.15), (0.85, 0.85, 0.82), (0.25, 0.45, 0.30), (0.35, 0.35, 0.38),
        (0.75, 0.55, 0.20), (0.45, 0.25, 0.45), (0.10, 0.10, 0.12), (0.55, 0.70, 0.85), (0.80, 0.45, 0.50)]
BOTTOMS = [(0.12, 0.14, 0.22), (0.20, 0.20, 0.22), (0.35, 0.30, 0.25), (0.15, 0.25, 0.45), (0.45, 0.42, 0.35)]
SHOES = [(0.08, 0.07, 0.07), (0.35, 0.22, 0.12), (0.85, 0.85, 0.85)]
LIPS = (0.62, 0.30, 0.28)
MOUTH_INSIDE = (0.22, 0.06, 0.06)


@dataclass(frozen=True)
class Appearance:
    """How one person looks; drawn from a seed so the same human always looks the same."""

    height_m: float
    build: float           # girth multiplier, 0.85 slim to 1.25 broad
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str        # short, long, bun, bald, curly
    iris: tuple[float, float, float]
    top: tuple[float, float, float]
    bottom: tuple[float, float, float]
    shoes: tuple[float, float, float]
    long_sleeves: bool
    skirt: bool

    @classmethod
    def from_seed(cls, seed: int, height_m: float) -> Appearance:
        rng = np.random.default_rng(int(seed))
        skin = SKIN[rng.integers(len(SKIN))]
        tint = rng.uniform(0.94, 1.04)
        return cls(
            height_m=float(height_m),
            build=float(np.clip(rng.normal(1.0, 0.11), 0.85, 1.25)),
            skin=tuple(float(np.clip(c * tint, 0, 1)) for c in skin),
            hair=HAIR[rng.integers(len(HAIR))],
            hair_style=str(rng.choice(["short", "short", "long", "bun", "bald", "curly"])),
            iris=IRIS[rng.integers(len(IRIS))],
            top=TOPS[rng.integers(len(TOPS))],
            bottom=BOTTOMS[rng.integers(len(BOTTOMS))],
            shoes=SHOES[rng.integers(len(SHOES))],
            long_sleeves=bool(rng.random() < 0.6),
            skirt=bool(rng.random() < 0.2),
        )


@dataclass
class HumanRig:
    """The joints animation moves (all NodePaths), plus the sizes animation needs."""

    root: NodePath
    body: NodePath
    spine: NodePath
    neck: NodePath
    head: NodePath
    hips: tuple[NodePath, NodePath]
    knees: tuple[NodePath, NodePath]
    shoulders: tuple[NodePath, NodePath]
    elbows: tuple[NodePath, NodePath]
    eyes: tuple[NodePath, NodePath]
    lids: tuple[NodePath, NodePath]
    brows: tuple[NodePath, NodePath]
    jaw: NodePath
    corners: tuple[NodePath, NodePath]
    phone: NodePath
    combiner: RigidBodyCombiner | None
    hip_z: float           # pelvis height when standing
    eye_z: float           # eye height when standing, in the model
    thigh_m: float


def _part(parent: NodePath, name: str, mesh: Mesh) -> NodePath:
    return parent.attachNewNode(mesh.node(name))


def build_human(appearance: Appearance, *, batched: bool = True, detail: int = 1) -> HumanRig:
    """The node tree of one human. ``detail`` 0 draws fewer segments (for far away)."""
    a = appearance
    s = a.height_m / 1.70
    b = a.build
    seg = 9 if detail else 5
    rings = 5 if detail else 3
    fine = (9, 5) if detail else (5, 3)   # small face parts
    combiner = RigidBodyCombiner("human") if batched else None
    root = NodePath(combiner) if combiner else NodePath("human")

    hip_z = 0.93 * s
    thigh, shin = 0.43 * s, 0.42 * s
    torso_h = 0.47 * s
    eye_z = 0.935 * a.height_m
    head_rz = 0.118 * s
    # Neck length chosen so the eyes land exactly at the height the simulation assumes.
    head_center_z = eye_z - 0.012 * s
    neck_top = head_center_z - hip_z - torso_h - head_rz * 0.55

    body = root.attachNewNode("body")
    body.setZ(hip_z)
    _part(body, "pelvis", Mesh().ellipsoid((0.155 * b * s, 0.1 * b * s, 0.11 * s), a.bottom,
                                           translate(0, 0, 0.02 * s), seg, rings))
    if a.skirt:
        _part(body, "skirt", Mesh().tube(0.17 * b * s, 0.26 * b * s, 0.42 * s, a.bottom, translate(0, 0, 0.02 * s),
                                         seg, rings, depth=0.75))
    hips, knees = [], []
    for side in (-1, 1):
        hip = body.attachNewNode(f"hip{side}")
        hip.setPos(side * 0.09 * b * s, 0, 0)
        _part(hip, "thigh", Mesh().tube(0.085 * b * s, 0.06 * b * s, thigh - 0.05 * s,
                                        a.skin if a.skirt else a.bottom, None, seg, rings))
        knee = hip.attachNewNode("knee")
        knee.setZ(-thigh)
        _part(knee, "shin", Mesh().tube(0.058 * b * s, 0.042 * s, shin - 0.07 * s,
                                        a.skin if a.skirt else a.bottom, None, seg, rings))
        _part(knee, "foot", Mesh().ellipsoid((0.05 * s, 0.13 * s, 0.045 * s), a.shoes,
                                             translate(0, 0.05 * s, -shin + 0.03 * s), seg, rings))
        hips.append(hip)
        knees.append(knee)

    spine = body.attachNewNode("spine")
    spine.setZ(0.05 * s)
    _part(spine, "torso", Mesh().tube(0.185 * b * s, 0.155 * b * s, torso_h - 0.1 * s, a.top,
                                      translate(0, 0, torso_h - 0.05 * s), seg + 2, rings + 2, depth=0.6, cap=0.3))
    shoulders, elbows = [], []
    for side in (-1, 1):
        shoulder = spine.attachNewNode(f"shoulder{side}")
        shoulder.setPos(side * 0.195 * b * s, 0, torso_h - 0.08 * s)
        shoulder.setR(side * 4)
        upper = 0.28 * s
        _part(shoulder, "upper_arm", Mesh().tube(0.055 * b * s, 0.045 * b * s, upper - 0.03 * s, a.top, None,
                                                 seg, rings))
        elbow = shoulder.attachNewNode("elbow")
        elbow.setZ(-upper)
        fore = 0.25 * s
        _part(elbow, "forearm", Mesh().tube(0.043 * b * s, 0.034 * s, fore - 0.03 * s,
                                            a.top if a.long_sleeves else a.skin, None, seg, rings))
        _part(elbow, "hand", Mesh().ellipsoid((0.028 * s, 0.045 * s, 0.08 * s), a.skin,
                                              translate(0, 0.005, -fore - 0.05 * s), seg, rings))
        shoulders.append(shoulder)
        elbows.append(elbow)
    phone = elbows[1].attachNewNode(Mesh().box((0.07, 0.012, 0.14), (0.05, 0.05, 0.06),
                                               translate(0, 0.04, -0.25 * s - 0.09)).node("phone"))
    phone.setScale(0.001)

    neck = spine.attachNewNode("neck")
    neck.setZ(torso_h)
    _part(neck, "neck", Mesh().tube(0.052 * s, 0.058 * s, max(neck_top, 0.02), a.skin,
                                    translate(0, 0.0, max(neck_top, 0.02)), seg, rings))
    head = neck.attachNewNode("head")
    head.setZ(head_center_z - hip_z - 0.05 * s - torso_h)
    _build_face(head, a, s, seg, rings, fine)
    eyes, lids, brows, corners = [], [], [], []
    eye_r = 0.0125 * s
    for side in (-1, 1):
        eye = head.attachNewNode(f"eye{side}")
        eye.setPos(side * 0.032 * s, EYE_FORWARD_M - eye_r, 0.012 * s)
        em = Mesh().ellipsoid((eye_r, eye_r, eye_r), (0.93, 0.91, 0.88), None, *fine)
        em.disc(eye_r * 0.55, a.iris, translate(0, eye_r * 0.9, 0), fine[0] + 2)
        em.disc(eye_r * 0.25, (0.02, 0.02, 0.02), translate(0, eye_r * 0.93, 0), fine[0])
        _part(eye, "eyeball", em)
        eyes.append(eye)
        lid = head.attachNewNode(f"lid{side}")
        lid.setPos(eye.getPos())
        _part(lid, "lid", Mesh().ellipsoid((eye_r * 1.12,) * 3, a.skin, None, *fine, z_range=(0.25, 1.0)))
        lids.append(lid)
        _part(head, "lower_lid", Mesh().ellipsoid((eye_r * 1.1,) * 3, a.skin, translate(*eye.getPos()) @ rot_x(-25),
                                                   *fine, z_range=(-1.0, -0.7)))
        brow = head.attachNewNode(f"brow{side}")
        brow.setPos(side * 0.033 * s, EYE_FORWARD_M - 0.004, 0.036 * s)
        _part(brow, "brow", Mesh().ellipsoid((0.019 * s, 0.006 * s, 0.0045 * s), a.hair, None, *fine))
        brows.append(brow)
    jaw = head.attachNewNode("jaw")
    jaw.setPos(0, 0.095 * s, -0.052 * s)
    _part(jaw, "inside", Mesh().ellipsoid((0.019 * s, 0.006 * s, 0.008 * s), MOUTH_INSIDE, None, *fine))
    _part(jaw, "lower_lip", Mesh().ellipsoid((0.019 * s, 0.007 * s, 0.0045 * s), LIPS,
                                             translate(0, 0.002, -0.004 * s), *fine))
    upper_lip = head.attachNewNode(Mesh().ellipsoid((0.02 * s, 0.007 * s, 0.004 * s), LIPS,
                                                    translate(0, 0.097 * s, -0.046 * s), *fine).node("upper_lip"))
    for side in (-1, 1):
        corner = upper_lip.attachNewNode(f"corner{side}")
        corner.setPos(side * 0.02 * s, 0.094 * s, -0.049 * s)
        _part(corner, "corner", Mesh().ellipsoid((0.006 * s, 0.004 * s, 0.003 * s), LIPS, None, 6, 3))
        corners.append(corner)

    if combiner is not None:
        combiner.collect()
    return HumanRig(root, body, spine, neck, head, tuple(hips), tuple(knees), tuple(shoulders), tuple(elbows),
                    tuple(eyes), tuple(lids), tuple(brows), jaw, tuple(corners), phone, combiner,
                    hip_z, eye_z, thigh)


def _build_face(head: NodePath, a: Appearance, s: float, seg: int, rings: int, fine: tuple[int, int]) -> None:
    """Skull, nose, ears and hair: the parts of the head that never move on their own."""
    m = Mesh()
    m.ellipsoid((0.078 * s, 0.094 * s, 0.118 * s), a.skin, None, seg + 5, rings + 4)
    m.ellipsoid((0.009 * s, 0.016 * s, 0.02 * s), a.skin, translate(0, 0.094 * s, -0.018 * s) @ rot_x(-20), *fine)
    for side in (-1, 1):
        m.ellipsoid((0.012 * s, 0.018 * s, 0.028 * s), a.skin, translate(side * 0.077 * s, -0.005, 0.0), *fine)
    style = a.hair_style
    if style != "bald":
        grow = 1.12 if style == "curly" else 1.05
        # Hair: a cap over the crown (forehead left clear) and a shell over the back of the head.
        r = (0.081 * s * grow, 0.098 * s * grow, 0.121 * s * grow)
        m.ellipsoid(r, a.hair, translate(0, -0.004 * s, 0.004 * s), seg + 7, rings + 3, z_range=(0.45, 1.0))
        m.ellipsoid((r[0], r[2], r[1]), a.hair, translate(0, -0.004 * s, 0.004 * s) @ rot_x(90), seg + 7,
                    rings + 3, z_range=(0.0, 1.0))
    if style == "long":
        m.tube(0.075 * s, 0.065 * s, 0.19 * s, a.hair, translate(0, -0.05 * s, 0.0), seg, rings, depth=0.6)
    elif style == "bun":
        m.ellipsoid((0.042 * s,) * 3, a.hair, translate(0, -0.105 * s, 0.045 * s), seg, rings)
    _part(head, "skull", m)

