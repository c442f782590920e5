"""The posing pass of the skinned humans: one numpy pass over every human turns ``HumansState`` into
skinning matrices, local joint rotations, face weights and eye positions.

``build_rig`` makes the static ``CrowdRig`` once per crowd (bodies, shapes, rest joints, seeded
phases); a ``CrowdPoser`` holds what moves between frames (walk phase, sit progress, gesture
blends, the mouth's envelope) and ``pose`` runs each frame with no loop over humans or joints:
the motion generators of ``vr.render.motion`` give joint angles as (N, ...) arrays, legs are
solved by two-bone inverse kinematics (so stance feet stay planted), the eyes aim at the gaze
target, and forward kinematics runs by depth level over the animated joints only (a joint with
no motion of its own shares its nearest animated ancestor's skinning matrix).

Frames: the body frame is the baked body's (metres, Z up, facing -Y, soles at z = 0); the world
is Panda3D's. A human at ``position_m`` with ``body_yaw_deg`` 0 faces +Y, as the old humans of
``vr.render.animate`` and the simulation's ``forward_xy`` do: the world transform is
T(position) Rz(body_yaw + 180 deg) S(scale) T(shift). ``shift`` moves the body in its own
frame so that its rest eyes sit exactly where ``vr.sim.session.eye_position_m`` says.

Heights: the seed's shape keeps its other axes; its ``height`` coefficient is fitted so the
shaped stature nears the slot's ``height_m`` and a uniform scale makes up the rest exactly.
Bodies (when not given): male with probability 1 / (1 + exp(-(height - 1.70) / 0.04)), decided by
a uniform number from the seed, so taller slots are mostly men and the same seed and height give
the same body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vr.render import bodies as bodies_mod
from vr.render import motion
from vr.sim.crowd import POSTURE_SEATED
from vr.sim.session import EYE_FORWARD_M, eye_height_m
from vr.sim.types import HumansState

F32 = np.float32
FACE_UNITS: tuple[str, ...] = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "mouthSmileRight",
                               "mouthFrownLeft", "mouthFrownRight", "browInnerUp", "browDownLeft", "browDownRight",
                               "mouthFunnel", "mouthPucker", "mouthClose")
SIDES = ("L", "R")
TOES = tuple(f"toe{k}-1" for k in range(1, 6))
# The joints that move on their own, parents before children; every other joint keeps its rest
# rotation relative to its parent (so it shares its nearest animated ancestor's skinning matrix).
ANIMATED = (("root", "spine05", "spine03", "spine01", "neck01", "head", "eye.L", "eye.R")
            + tuple(f"{j}.{s}" for j in ("clavicle", "upperarm01", "lowerarm01", "wrist", "upperleg01",
                                          "lowerleg01", "foot") + TOES for s in SIDES))
# ... of which these are posed by heading/pitch/roll (the legs by inverse kinematics, the eyes by aim).
EULER = ("root", "spine05", "spine03", "spine01", "neck01", "head") + tuple(
    f"{j}.{s}" for j in ("clavicle", "upperarm01", "lowerarm01", "wrist") for s in SIDES)
ARM_CLEARANCE_DEG = 7.0      # the arms hang this far out from the sides
SYLLABLES_HZ = 4.2
GAIT_EASE_S = 0.15           # walking speed follows the simulation's with this time constant


@dataclass(frozen=True)
class CrowdRig:
    """A crowd's static rig: one entry a human (N), joints (J) in the assets' order, body frame."""

    bodies: tuple[str, ...]           # 'female' | 'male'
    shape_weights: np.ndarray         # (N, 2K) float32 target weights of the shaped rest mesh
    joint_heads_m: np.ndarray         # (N, J, 3) float32 shaped rest joints (body frame, before the scale)
    joint_names: tuple[str, ...]
    joint_parents: np.ndarray         # (J,) int64, -1 for the root
    seeds: np.ndarray                 # (N,) int64
    heights_m: np.ndarray             # (N,) float32: the stature each human is scaled to
    scale: np.ndarray                 # (N,) float32 uniform scale, body frame to world
    phases: np.ndarray                # (N, 8) float32 seeded phases in cycles (idle, gestures, speech)
    shift_m: np.ndarray               # (N, 3) float32 body-frame offset putting the rest eyes at the sim's eye point
    animated: np.ndarray              # (A,) joint indices that move, in level order
    anchor: np.ndarray                # (J,) position in ``animated`` of each joint's nearest animated self-or-ancestor
    levels: tuple[tuple[int, int, np.ndarray], ...]   # (start, stop, parent positions) over ``animated``
    offsets_m: np.ndarray             # (N, A, 3) each animated joint's rest offset from its animated parent
    rest_m: np.ndarray                # (N, A, 3) rest positions of the animated joints
    arm_down_deg: np.ndarray          # (N,) how far the arms turn down from the baked A-pose
    eye_above_root_m: np.ndarray      # (N,) rest eye height above the root joint
    heel_m: np.ndarray                # (N,) heel behind the ankle, ball of the foot in front of it
    ball_m: np.ndarray

    @property
    def count(self) -> int:
        return len(self.bodies)

    def joint_index(self, name: str) -> int:
        return self.joint_names.index(name)


def _choose_bodies(seeds: np.ndarray, heights_m: np.ndarray) -> tuple[str, ...]:
    u = np.array([np.random.default_rng([int(s), 0xB0D7]).random() for s in seeds])
    p_male = 1.0 / (1.0 + np.exp(-(heights_m - 1.70) / 0.04))
    return tuple("male" if uu < p else "female" for uu, p in zip(u, p_male))


def build_rig(seeds: Sequence[int] | np.ndarray, heights_m: Sequence[float] | np.ndarray,
              bodies: Sequence[str] | None = None, *, shapes: Sequence[Mapping[str, float]] | None = None,
              assets: Mapping[str, bodies_mod.BodyAsset] | None = None) -> CrowdRig:
    """The rig of N humans from their seeds and statures (metres). ``bodies``: 'female'/'male'
    per human (None: chosen from seed and height, see the module's notes); ``shapes``: shape
    coefficients per human (None: ``bodies.shape_for_seed``); either way the ``height`` axis is
    refitted to the stature. ``assets``: loaded ``BodyAsset`` by name (None: loaded here)."""
    seeds = np.asarray(seeds, np.int64).reshape(-1)
    heights = np.asarray(heights_m, np.float64).reshape(-1)
    if len(seeds) != len(heights):
        raise ValueError(f"build_rig: {len(seeds)} seeds but {len(heights)} heights; give one of each per human")
    names = tuple(bodies) if bodies is not None else _choose_bodies(seeds, heights)
    if len(names) != len(seeds):
        raise ValueError(f"build_rig: {len(names)} bodies for {len(seeds)} humans")
    unknown = set(names) - set(bodies_mod.BODY_NAMES)
    if unknown:
        raise ValueError(f"build_rig: unknown bodies {sorted(unknown)}; bodies are {', '.join(bodies_mod.BODY_NAMES)}")
    assets = dict(assets or {})
    for name in sorted(set(names) | ({"female"} if not names else set())):
        if name not in assets:
            assets[name] = bodies_mod.load_body(name)
    ref = assets[names[0] if names else "female"]
    for a in assets.values():
        if a.joint_names != ref.joint_names or not np.array_equal(a.joint_parents, ref.joint_parents):
            raise ValueError(f"bodies {ref.name!r} and {a.name!r} have different rigs (joint names or parents); "
                             "re-bake both with scripts/bake_humans.py")
    n, jn = len(seeds), len(ref.joint_names)
    shapes = list(shapes) if shapes is not None else [bodies_mod.shape_for_seed(int(s)) for s in seeds]
    weights = np.stack([bodies_mod.target_weights(sh) for sh in shapes]) if n else np.zeros((0, 10), F32)
    heads = np.zeros((n, jn, 3), F32)
    stature = np.ones(n)
    heel, ball = np.zeros(n, F32), np.zeros(n, F32)
    idx = {name: i for i, name in enumerate(ref.joint_names)}
    for name, asset in assets.items():
        sel = np.array([b == name for b in names], bool)
        if not sel.any():
            continue
        top = np.argsort(asset.vertices[:, 2])[-64:]              # the crown is among these
        k = bodies_mod.SHAPE_AXES.index("height")
        weights[sel], stature[sel] = motion.fit_height(asset.vertices[top, 2], asset.shape_deltas[:, top, 2], k,
                                                       weights[sel], heights[sel])
        heads[sel] = asset.joint_heads[None] + np.einsum("nk,kjc->njc", weights[sel], asset.shape_joint_deltas)
        ankle = asset.joint_heads[idx["foot.L"]]
        near = (asset.vertices[:, 2] < 0.03) & (np.abs(asset.vertices[:, 0] - ankle[0]) < 0.05)
        heel[sel] = asset.vertices[near, 1].max() - ankle[1]
    scale = (heights / stature).astype(F32)
    toe = heads[:, [idx[f"{t}.L"] for t in TOES]].mean(axis=1)
    ball[:] = heads[:, idx["foot.L"], 1] - toe[:, 1]
    # Animated joints by depth (each one's parent: its nearest animated ancestor).
    parents = ref.joint_parents
    anim_set = {idx[j] for j in ANIMATED}
    nearest = np.zeros(jn, np.int64)          # nearest animated self-or-ancestor, -1 above the root
    anim_parent: dict[int, int] = {}
    depth: dict[int, int] = {}
    for j in range(jn):                       # the assets list parents before children
        p = int(parents[j])
        up = -1 if p < 0 else int(nearest[p])
        nearest[j] = j if j in anim_set else up
        if j in anim_set:
            anim_parent[j] = up
            depth[j] = 0 if up < 0 else depth[up] + 1
    order = sorted(anim_set, key=lambda j: (depth[j], j))
    pos = {j: k for k, j in enumerate(order)}
    levels = []
    for d in range(max(depth.values()) + 1):
        ks = [pos[j] for j in order if depth[j] == d]
        levels.append((ks[0], ks[-1] + 1, np.array([pos.get(anim_parent[order[k]], -1) for k in ks], np.int64)))
    animated = np.array(order, np.int64)
    parent_joint = np.array([anim_parent[j] for j in order], np.int64)
    rest = heads[:, animated]
    offsets = rest - np.where(parent_joint[None, :, None] >= 0, heads[:, np.maximum(parent_joint, 0)], 0.0)
    eyes = 0.5 * (heads[:, idx["eye.L"]] + heads[:, idx["eye.R"]])
    shift = np.zeros((n, 3), F32)
    shift[:, 0] = -eyes[:, 0]
    shift[:, 1] = -EYE_FORWARD_M / scale - eyes[:, 1]
    arm = heads[:, idx["lowerarm01.L"]] - heads[:, idx["upperarm01.L"]]
    arm_down = np.degrees(np.arctan2(np.abs(arm[:, 0]), -arm[:, 2])) - ARM_CLEARANCE_DEG
    phases = np.stack([np.random.default_rng([int(s), 0x1D1E]).random(8) for s in seeds]) if n else np.zeros((0, 8))
    return CrowdRig(bodies=names, shape_weights=weights.astype(F32), joint_heads_m=heads, joint_names=ref.joint_names,
                    joint_parents=parents.copy(), seeds=seeds, heights_m=heights.astype(F32), scale=scale,
                    phases=phases.astype(F32), shift_m=shift, animated=animated,
                    anchor=np.array([pos[int(nearest[j])] for j in range(jn)], np.int64), levels=tuple(levels),
                    offsets_m=offsets.astype(F32), rest_m=rest.astype(F32), arm_down_deg=arm_down.astype(F32),
                    eye_above_root_m=(eyes[:, 2] - heads[:, idx["root"], 2]).astype(F32), heel_m=heel, ball_m=ball)


@dataclass
class CrowdPose:
    """One frame's pose of a crowd (N humans, J joints, world frame: Panda3D's, Z up, metres)."""

    skin: np.ndarray          # (N, J, 3, 4) float32 top rows of M_j = G_j T(-p'_j): x_world = M_j [x_rest_shaped, 1]
    local_rot: np.ndarray     # (N, J, 3, 3) float32 rotations relative to rest, in the parent's rest-parallel frame
    face: np.ndarray          # (N, len(FACE_UNITS)) float32 weights 0..1
    visible: np.ndarray       # (N,) bool: present
    eye_m: np.ndarray         # (N, 3) float32 world midpoint between the eyeball centres


def forward_kinematics(rig: CrowdRig, local: np.ndarray, root_t: np.ndarray, world_rot: np.ndarray,
                       world_pos: np.ndarray, hook_level: int = -1,
                       hook: Callable[[np.ndarray, np.ndarray], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations (N, A, 3, 3) and positions (N, A, 3) of the animated joints from their local
    rotations ``local`` (N, A, 3, 3, ``rig.animated`` order) and the root's body-frame position
    ``root_t`` (N, 3), placed by ``world_rot`` (N, 3, 3, rotation times scale) and ``world_pos``
    (N, 3). One batched product per depth level; ``hook(g_rot, g_t)`` runs before level
    ``hook_level`` (the eyes aim once the head is known) and may change ``local`` there."""
    n, a = local.shape[:2]
    g_rot = np.empty((n, a, 3, 3), F32)
    g_t = np.empty((n, a, 3), F32)
    g_rot[:, 0] = world_rot @ local[:, 0]
    g_t[:, 0] = world_pos + motion.matvec(world_rot, root_t)
    off = rig.offsets_m
    for li, (a0, a1, par) in enumerate(rig.levels[1:], 1):
        if li == hook_level and hook is not None:
            hook(g_rot, g_t)
        rp = g_rot[:, par]
        g_rot[:, a0:a1] = rp @ local[:, a0:a1]
        g_t[:, a0:a1] = g_t[:, par] + motion.matvec(rp, off[:, a0:a1])
    return g_rot, g_t


def skin_matrices(rig: CrowdRig, g_rot: np.ndarray, g_t: np.ndarray) -> np.ndarray:
    """(N, J, 3, 4) top rows of M_j = G_j T(-p'_j) for every joint; a joint that does not move on
    its own has its nearest animated ancestor's matrix (its rest frame is a translation of it)."""
    skin_a = np.concatenate([g_rot, (g_t - motion.matvec(g_rot, rig.rest_m))[..., None]], axis=-1)
    return np.take(skin_a, rig.anchor, axis=1)


class CrowdPoser:
    """What moves between frames for one crowd (walk phases, sit progress, gesture blends, the
    mouth), and ``pose``: the whole crowd's pose from a ``HumansState``, numpy over all humans."""

    def __init__(self, rig: CrowdRig) -> None:
        self.rig, n = rig, rig.count
        self.phase = np.zeros(n, F32)           # gait cycles walked (from distance, not the clock)
        self.sit = np.zeros(n, F32)             # 0 standing .. 1 seated
        self.gestures = np.zeros((n, len(motion.G)), F32)
        self.envelope = np.zeros(n, F32)        # smoothed mouth opening
        self.syllable = rig.phases[:, 5].copy()
        self.speed, self.turning, self.prev_yaw = (np.zeros(n, F32) for _ in range(3))   # eased speed, stepping
        self.prev_present, self._ready = np.zeros(n, bool), False
        k = {int(j): i for i, j in enumerate(rig.animated)}
        self._at = at = {name: k[rig.joint_index(name)] for name in ANIMATED}
        self._euler = np.array([at[name] for name in EULER])
        self._e = e_at = {name: i for i, name in enumerate(EULER)}
        pair = lambda names, name: np.array([names[f"{name}.{s}"] for s in SIDES])   # noqa: E731
        self._hip, self._knee, self._foot = (pair(at, j) for j in ("upperleg01", "lowerleg01", "foot"))
        self._eshoulder, self._eelbow, self._ewrist, self._eclav = (pair(e_at, j) for j in
                                                                   ("upperarm01", "lowerarm01", "wrist", "clavicle"))
        self._arm_bend = np.concatenate([self._eelbow, self._ewrist])
        self._toes = np.array([[at[f"{t}.{s}"] for t in TOES] for s in SIDES])      # (2, 5)
        self._eyes, self._head = np.array([at["eye.L"], at["eye.R"]]), at["head"]
        self._eye_level = next(i for i, (a, b, _) in enumerate(rig.levels) if a <= self._eyes[0] < b)
        rest = rig.rest_m
        self._thigh = rest[:, self._knee] - rest[:, self._hip]          # (N, 2, 3)
        self._shin = rest[:, self._foot] - rest[:, self._knee]
        self._hip_off = rest[:, self._hip] - rest[:, at["root"]][:, None]
        self._hip_z, self._thigh_len = rest[:, self._hip[0], 2], np.linalg.norm(self._thigh, axis=-1)
        self._ball_z = rest[:, self._toes[0], 2].mean(axis=1)
        self._side = np.array([1.0, -1.0], F32)
        # Elbows and wrists bend about the hinge the turned-down arm has: K^T R K, K the arm's turn down.
        zero = np.zeros((n, 2))
        k_arm = motion.hpr_matrices(zero, zero, -self._side[None, :] * rig.arm_down_deg[:, None])
        self._arm_k = np.concatenate([k_arm, k_arm], axis=1)                       # (N, 4, 3, 3)
        self._arm_kt = self._arm_k.transpose(0, 1, 3, 2).copy()
        a = len(rig.animated)
        self._local_index = np.full(len(rig.joint_names), a, np.int64)       # joints at rest read slot A: identity
        self._local_index[rig.animated] = np.arange(a)
        self._identity = np.broadcast_to(np.eye(3, dtype=F32), (n, 1, 3, 3))

    def pose(self, humans: HumansState, t_s: float, dt_s: float, camera_m: tuple[float, float, float],
             mouth: np.ndarray | None = None) -> CrowdPose:
        """Pose every human at session time ``t_s`` after a frame of ``dt_s``; ``mouth`` (N,) is the
        loudness 0..1 of the line each is saying, NaN where unknown (then syllables are mimed).
        ``camera_m`` is the viewer's eye (every human is posed in full whatever its distance)."""
        rig, h, n = self.rig, humans, self.rig.count
        if len(h.present) != n:
            raise ValueError(f"CrowdPoser.pose: the rig has {n} humans but the state {len(h.present)}; "
                             "build the rig from the same slots (build_rig(state.seed, state.height_m))")
        dt = max(float(dt_s), 0.0)
        present = np.asarray(h.present, bool)
        s = rig.scale
        yaw = np.asarray(h.body_yaw_deg, F32)
        seated = np.asarray(h.posture) == POSTURE_SEATED
        new = present & ~self.prev_present if self._ready else np.ones(n, bool)
        self.sit = np.where(new, seated.astype(F32), motion.sit_step(self.sit, seated, dt)).astype(F32)
        turn_rate = np.where(new, 0.0, ((yaw - self.prev_yaw + 180.0) % 360.0 - 180.0) / max(dt, 1e-6))
        self.prev_yaw, self.prev_present, self._ready = yaw, present, True
        sit = motion.sit_shape(self.sit)
        down = sit["down"]
        # Gait: the phase advances by distance over stride (= cadence x time); stepping on the spot when turning.
        # Speed and turning are eased (the simulation may stop a walker within a frame): the gait winds down.
        v = np.where(seated, 0.0, np.asarray(h.speed_mps, F32) / s).astype(F32)
        v = self.speed = np.where(new, v, self.speed + (v - self.speed) * F32(min(1.0, dt / GAIT_EASE_S)))
        cad = motion.cadence_hz(v, self._hip_z)
        moving = motion.clamp(v / 0.05, 0.0, 1.0)       # (no threshold: the stride shrinks to nothing)
        turning = motion.clamp((np.abs(turn_rate) - 15.0) / 45.0, 0.0, 1.0) * motion.clamp(1.0 - v / 0.2, 0.0, 1.0)
        turning = self.turning = np.where(new, 0.0, self.turning + (turning * (1.0 - down) - self.turning)
                                          * F32(min(1.0, dt / (2 * GAIT_EASE_S)))).astype(F32)
        self.phase = ((self.phase + moving * cad * F32(dt) + turning * F32(1.2 * dt)) % 1.0).astype(F32)
        stride = (v / cad * (1.0 - down)).astype(F32)
        amp = (motion.clamp(v / 0.5, 0.0, 1.0) * (1.0 - down)).astype(F32)
        lift = (F32(0.075) * amp + F32(0.04) * turning).astype(F32)
        feet, foot_pitch, toe_pitch = motion.gait(self.phase, stride, lift, rig.heel_m, rig.ball_m,
                                                  rig.rest_m[:, self._foot[0], 2], self._ball_z)
        walk = motion.gait_body(self.phase, amp, motion.clamp(v * 0.87 / self._hip_z - 1.1, 0.0, 1.0))
        life = motion.idle(t_s, rig.phases)
        self.gestures = motion.ease_gestures(self.gestures, np.asarray(h.gesture, np.int64), dt)
        gest = motion.gesture_motion(self.gestures, t_s, rig.phases)
        still = (1.0 - amp) * (1.0 - down)

        e = np.zeros((n, len(EULER), 3), F32)           # heading, pitch, roll of the joints posed by angle
        x = self._e
        e[:, x["root"], 0] = walk["pelvis_yaw_deg"]
        e[:, x["root"], 2] = walk["pelvis_roll_deg"] + life["shift_roll_deg"] * still
        e[:, x["spine05"], 1] = sit["lean_deg"] + gest["lean_deg"]
        e[:, x["spine03"], 0] = walk["thorax_yaw_deg"] - walk["pelvis_yaw_deg"]
        e[:, x["spine03"], 1] = gest["slump_deg"]
        e[:, x["spine01"], 1] = life["chest_deg"] + 0.5 * gest["slump_deg"]
        # The head takes the simulation's world heading and pitch, less what the trunk has turned.
        chain_pitch = e[:, x["spine05"], 1] + e[:, x["spine03"], 1] + e[:, x["spine01"], 1]
        rel_yaw = motion.clamp((np.asarray(h.head_yaw_deg, F32) - yaw + 180.0) % 360.0 - 180.0, -80.0, 80.0)
        head_yaw = rel_yaw - walk["thorax_yaw_deg"] + life["head_yaw_deg"] + gest["head_yaw_deg"]
        head_pitch = np.asarray(h.head_pitch_deg, F32) - chain_pitch + life["head_pitch_deg"] + gest["head_pitch_deg"]
        e[:, x["neck01"], 0], e[:, x["neck01"], 1] = 0.35 * head_yaw, 0.35 * head_pitch
        e[:, x["head"], 0], e[:, x["head"], 1] = 0.65 * head_yaw, 0.65 * head_pitch
        e[:, x["head"], 2] = life["head_roll_deg"]
        sh, el, wrist_r, clav = motion.arms(walk, gest, life, down, self.rig.arm_down_deg)
        e[:, self._eshoulder], e[:, self._eelbow, 1] = sh, el
        e[:, self._ewrist[1], 1], e[:, self._eclav, 2] = wrist_r, clav
        r_e = motion.hpr_matrices(e[..., 0], e[..., 1], e[..., 2])
        r_e[:, self._arm_bend] = self._arm_kt @ r_e[:, self._arm_bend] @ self._arm_k
        local = np.empty((n, len(rig.animated), 3, 3), F32)
        local[:, self._euler] = r_e
        # The pelvis: walking bob and sway, idle weight shifts, down onto the seat at the sim's seated eye height.
        root = rig.rest_m[:, self._at["root"]] + rig.shift_m
        stand_z = root[:, 2] + walk["bob_m"]
        seat_eye = eye_height_m(np.asarray(h.height_m, F32), POSTURE_SEATED)
        seat_z = seat_eye / s - rig.eye_above_root_m + rig.shift_m[:, 2]
        root_t = np.stack([root[:, 0] + walk["sway_m"] + life["shift_m"] * still, root[:, 1],
                           stand_z + (seat_z - stand_z) * down], axis=1).astype(F32)
        self._legs(local, root_t, feet, foot_pitch, toe_pitch, sit)
        rw = motion.rot_z(np.radians(yaw + F32(180.0))) * s[:, None, None]
        p = np.asarray(h.position_m, F32)
        pos = np.zeros((n, 3), F32)
        pos[:, : min(p.shape[1], 3)] = p[:, :3]
        g_rot, g_t = forward_kinematics(rig, local, root_t, rw, pos, self._eye_level, lambda r, t: self._set_eyes(
            local, r, t, h))
        return self._outputs(local, g_rot, g_t, h, present, gest, mouth, dt)

    # -- the parts of ``pose`` ---------------------------------------------------------------------

    def _legs(self, local: np.ndarray, root_t: np.ndarray, feet: np.ndarray, foot_pitch: np.ndarray,
              toe_pitch: np.ndarray, sit: dict) -> None:
        """Both legs by inverse kinematics to their ankle targets (the gait's, or the seated feet
        under the knees), the feet pitched by the gait, the toes flat on the ground as the heel rises."""
        rig = self.rig
        r_root = local[:, self._at["root"]]                                # (N, 3, 3)
        hip = root_t[:, None] + motion.matvec(r_root[:, None], self._hip_off)
        shift = rig.shift_m[:, None]
        ankle = rig.rest_m[:, self._foot] + shift
        stand = ankle + feet
        seat_y = rig.rest_m[:, self._hip, 1] + shift[..., 1] - self._thigh_len - 0.03
        f = sit["feet"][:, None]
        target = stand.copy()
        target[..., 1] += (seat_y - stand[..., 1]) * f
        target[..., 2] += (ankle[..., 2] - stand[..., 2]) * f + sit["foot_lift_m"][:, None]
        d = motion.tmatvec(r_root[:, None], target - hip)                  # in the pelvis frame
        r_hip, r_knee = motion.leg_ik(self._thigh, self._shin, d)
        up = 1.0 - sit["down"][:, None]
        pitch = foot_pitch * up
        zero = np.zeros_like(pitch)
        r_foot = motion.hpr_matrices(zero, pitch, zero)
        chain = r_root[:, None] @ r_hip @ r_knee
        local[:, self._hip] = r_hip
        local[:, self._knee] = r_knee
        local[:, self._foot] = chain.transpose(0, 1, 3, 2) @ r_foot
        r_toe = motion.hpr_matrices(zero, toe_pitch * up - pitch, zero)
        local[:, self._toes] = r_toe[:, :, None]

    def _set_eyes(self, local: np.ndarray, g_rot: np.ndarray, g_t: np.ndarray, h: HumansState) -> None:
        r_head, t_head = g_rot[:, self._head, None], g_t[:, self._head, None]
        eyes = t_head + motion.matvec(r_head, self.rig.offsets_m[:, self._eyes])
        local[:, self._eyes] = motion.aim_eyes(r_head, eyes, np.asarray(h.gaze_target_m, F32)[:, None],
                                               np.asarray(h.eye_yaw_deg, F32)[:, None],
                                               np.asarray(h.eye_pitch_deg, F32)[:, None])

    def _outputs(self, local: np.ndarray, g_rot: np.ndarray, g_t: np.ndarray, h: HumansState,
                 present: np.ndarray, gest: dict, mouth: np.ndarray | None, dt: float) -> CrowdPose:
        rig = self.rig
        n = local.shape[0]
        skin = skin_matrices(rig, g_rot, g_t)
        local_rot = np.take(np.concatenate([local, self._identity], axis=1), self._local_index, axis=1)
        eye_m = g_t[:, self._eyes].mean(axis=1)
        # Face: the mouth from the line's loudness (or mimed syllables), mood, gestures, blinks.
        speaking = np.asarray(h.speaking, bool)
        loud = np.full(n, np.nan, F32) if mouth is None else np.asarray(mouth, F32).reshape(n)
        rate = F32(SYLLABLES_HZ) * (F32(0.85) + F32(0.3) * rig.phases[:, 6])
        self.syllable = (self.syllable + np.where(speaking, rate * F32(dt), 0.0)).astype(F32)
        jaw, shapes = motion.speech(self.syllable, rig.seeds, speaking, loud, self.envelope)
        self.envelope = (self.envelope + (jaw - self.envelope) * F32(min(1.0, dt / 0.1))).astype(F32)
        units = motion.face(np.asarray(h.mood, np.int64), gest["smile"], gest["yawn"], np.asarray(h.blinking, bool),
                            np.asarray(h.eye_pitch_deg, F32), jaw, shapes)
        face = np.stack([units[name] for name in FACE_UNITS], axis=1)
        return CrowdPose(skin=skin, local_rot=local_rot, face=face, visible=present.copy(), eye_m=eye_m)
