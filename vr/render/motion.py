"""Motion generators for the skinned humans: gait, sitting, idle life, gestures and the face, as numpy over N.

Every function here is pure and vectorised: it takes (N,) arrays (one entry a human) and returns
arrays; ``vr.render.posing`` composes them into joint rotations and runs the kinematics.

Conventions (the body frame of ``vr.render.bodies``): metres, Z up, the body faces -Y, its left is +X.
Joint angles are heading/pitch/roll in degrees as if the body faced +Y like Panda3D's nodes:
heading turns counter-clockwise seen from above (to the body's left), positive pitch lifts the
front (a head looks up, a thigh or an arm swings forward, toes rise; a knee bends with negative
pitch) and positive roll tilts the top to the body's right (``posing.hpr_matrices``).
"""

from __future__ import annotations

import numpy as np

from vr.config import MOOD_NAMES
from vr.sim.gaze import EYE_PITCH_LIMIT_DEG, EYE_YAW_LIMIT_DEG
from vr.sim.social import GESTURES

F32 = np.float32
TAU = 2.0 * np.pi
STANCE = 0.6                 # share of a gait cycle a foot is on the ground
HEEL_ROCK = 0.12             # share of stance rolling from the heel onto the flat foot ...
BALL_ROCK = 0.62             # ... and where the heel starts to rise (the foot rolls over the ball)
HEEL_STRIKE_DEG = 14.0       # toes up at heel strike
TOE_OFF_DEG = 32.0           # heel up at toe-off
SIT_S = 1.1                  # standing down onto a seat, or up from it
GESTURE_EASE_S = 0.35        # gestures blend in and out over this
G = {name: i for i, name in enumerate(GESTURES)}
M = {name: i for i, name in enumerate(MOOD_NAMES)}
# Face by mood (rows MOOD_NAMES order): smile (negative frowns), brows raised (inner), brows down, lids.
SMILE = np.zeros(len(MOOD_NAMES), F32)
BROW_UP = np.zeros(len(MOOD_NAMES), F32)
BROW_DOWN = np.zeros(len(MOOD_NAMES), F32)
LIDS = np.zeros(len(MOOD_NAMES), F32)
for _mood, _smile, _up, _down, _lids in (("friendly", 0.55, 0.25, 0.0, 0.0), ("attentive", 0.18, 0.35, 0.0, 0.0),
                                          ("hostile", -0.45, 0.0, 0.65, 0.1), ("bored", -0.2, 0.0, 0.15, 0.3),
                                          ("neutral", 0.0, 0.0, 0.0, 0.0)):
    SMILE[M[_mood]], BROW_UP[M[_mood]], BROW_DOWN[M[_mood]], LIDS[M[_mood]] = _smile, _up, _down, _lids


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, the cubic ease between (zero slope at both ends)."""
    x = clamp(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def hash01(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """A repeatable pseudo-random number in [0, 1) per pair of integers (e.g. seed, syllable)."""
    x = (np.asarray(a, np.int64) * 0x9E3779B1 + np.asarray(b, np.int64) * 0x85EBCA77) & 0xFFFFFFFF
    x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    x = ((x ^ (x >> 12)) * 0x297A2D39) & 0xFFFFFFFF
    return ((x ^ (x >> 15)) & 0xFFFFFF).astype(F32) / F32(0x1000000)


def cadence_hz(speed_b: np.ndarray, hip_b: np.ndarray) -> np.ndarray:
    """Gait cycles (two steps) a second at a body-frame speed for a hip height (metres): faster
    walkers and shorter legs step more often. Stride = speed / cadence, so a slow walk takes short
    steps and the stance foot keeps pace with the ground at any speed."""
    return F32(0.5) + F32(0.5) * np.minimum(speed_b * (F32(0.87) / hip_b), 2.2)


def gait(phase: np.ndarray, stride_b: np.ndarray, lift_b: np.ndarray, heel_b: np.ndarray,
         ball_b: np.ndarray, ankle_z_b: np.ndarray, ball_z_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each ankle goes in a gait cycle, relative to its rest position (body frame, metres).

    ``phase`` (N,) in cycles: 0 is the left heel strike, the right foot runs half a cycle behind.
    During stance the foot is fixed to the ground while the body passes over it at ``stride_b`` a
    cycle (so it moves back at exactly the walking speed in the body frame), first rocking down
    from the heel (``heel_b`` behind the ankle) then flat, then rising onto the ball (``ball_b``
    in front, ``ball_z_b`` up: the toe joints, which stay put); in swing it lifts by ``lift_b``
    and reaches forward. Returns the ankle offsets
    (N, 2, 3) [left, right], foot pitch (N, 2) degrees (toes up positive) and toe pitch relative
    to the ground (N, 2) degrees (the toes stay flat while the heel rises)."""
    p = np.stack([phase, phase + F32(0.5)], axis=1) % F32(1.0)
    stride, heel, ball, az, bz = (a[:, None] for a in (stride_b, heel_b, ball_b, ankle_z_b, ball_z_b))
    ab = az - bz                                            # the ankle above the ball's pivot
    travel = F32(STANCE) * stride
    front, back = F32(0.42) * travel, F32(0.58) * travel   # a stance is centred a little behind the hip
    on = p < STANCE
    u = np.where(on, p / F32(STANCE), (p - F32(STANCE)) / F32(1.0 - STANCE))
    # Stance: the flat foot's ankle moves back linearly; the rockers pitch the foot about the heel or the ball.
    flat_fwd = front - u * travel
    hs = np.radians(HEEL_STRIKE_DEG) * (1.0 - smoothstep(u / F32(HEEL_ROCK)))
    to = np.radians(TOE_OFF_DEG) * smoothstep((u - F32(BALL_ROCK)) / F32(1.0 - BALL_ROCK))
    pitch = np.where(on, hs - to, 0.0)
    # Rotating the foot by +pitch about the heel (x = -heel, z = -az from the ankle) or by -to about the ball.
    sh, ch = np.sin(hs), np.cos(hs)
    st, ct = np.sin(to), np.cos(to)
    heel_dy = -heel + heel * ch - az * sh        # ankle forward offset after the heel rocker
    heel_dz = -az + heel * sh + az * ch          # ... its height change
    ball_dy = ball - ball * ct + ab * st
    ball_dz = -ab + ball * st + ab * ct
    st_fwd = flat_fwd + heel_dy + ball_dy        # (each rocker's term is 0 while its angle is)
    st_up = heel_dz + ball_dz
    # Swing: from the toe-off pose to the heel-strike pose, lifted in between.
    to0, hs0 = np.radians(TOE_OFF_DEG), np.radians(HEEL_STRIKE_DEG)
    off_fwd = -back + ball - ball * np.cos(to0) + ab * np.sin(to0)
    off_up = -ab + ball * np.sin(to0) + ab * np.cos(to0)
    on_fwd = front - heel + heel * np.cos(hs0) - az * np.sin(hs0)
    on_up = -az + heel * np.sin(hs0) + az * np.cos(hs0)
    e = smoothstep(u)
    # A cubic whose ends keep the stance's pace (the ground's, in the body frame): in the world the
    # foot leaves the ground and lands with no jolt.
    pace = -stride * F32(1.0 - STANCE)
    sw_fwd = off_fwd + (on_fwd - off_fwd) * e + pace * (u * u * u * 2.0 - 3.0 * u * u + u)
    sw_up = off_up + (on_up - off_up) * e + lift_b[:, None] * np.sin(np.pi * u ** F32(0.8)) ** 2
    sw_pitch = -to0 * (1.0 - e) + hs0 * e
    fwd = np.where(on, st_fwd, sw_fwd)
    up = np.where(on, st_up, sw_up)
    pitch = np.where(on, pitch, sw_pitch)
    # With no stride (standing, or stepping on the spot) the rockers shrink away.
    k = np.minimum(stride / F32(0.25), 1.0)
    offsets = np.stack([np.zeros_like(fwd), -fwd * k, up * k + np.where(on, 0.0, lift_b[:, None] * (1 - k)
                                                                          * np.sin(np.pi * u) ** 2)], axis=-1)
    toe = np.where(on, np.maximum(pitch, 0.0), pitch * e)     # flat as the heel rises, back in line by landing
    return offsets.astype(F32), np.degrees(pitch * k).astype(F32), np.degrees(toe * k).astype(F32)


def gait_body(phase: np.ndarray, amp: np.ndarray, fast: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """The upper body's part of the gait at ``amp`` (0 still .. 1 a full walk): pelvis bob, sway and
    turn, the thorax's counter-turn, arm swing opposite the legs (degrees, metres; (N,) each, arms (N, 2)).
    ``fast`` (0..1) lowers the pelvis further for long, quick strides."""
    w = TAU * phase
    return {"bob_m": -amp * (F32(0.03) + F32(0.02) * fast + F32(0.012) * np.cos(2.0 * w)),   # lowest at double support
            "sway_m": amp * F32(0.018) * np.sin(w),                      # over the stance foot
            "pelvis_yaw_deg": -amp * F32(5.0) * np.cos(w),              # the leading hip forward
            "pelvis_roll_deg": amp * F32(2.5) * np.sin(w),
            "thorax_yaw_deg": amp * F32(8.0) * np.cos(w),
            "arm_deg": amp[:, None] * F32(17.0) * np.stack([-np.cos(w), np.cos(w)], axis=1),
            "elbow_deg": amp[:, None] * F32(8.0) * (1.0 + np.stack([-np.cos(w), np.cos(w)], axis=1))}


def sit_step(progress: np.ndarray, seated: np.ndarray, dt_s: float) -> np.ndarray:
    """Advance each human's sit progress (0 standing .. 1 seated) toward its posture at 1 / SIT_S a second."""
    step = F32(dt_s / SIT_S)
    return clamp(progress + clamp(seated.astype(F32) - progress, -step, step), 0.0, 1.0)


def sit_shape(progress: np.ndarray) -> dict[str, np.ndarray]:
    """The path of standing down onto a seat (or up, run backwards) at ``progress`` (N,) 0..1:
    how far the pelvis has gone down and back (0..1, eased), the trunk's forward lean (degrees,
    largest half-way, as people shift their weight over the feet) and the feet's small step forward."""
    down = smoothstep(progress)
    mid = np.sin(np.pi * clamp(progress, 0.0, 1.0))
    return {"down": down.astype(F32), "lean_deg": (-22.0 * mid).astype(F32),
            "foot_lift_m": (0.04 * np.sin(np.pi * smoothstep(progress * 1.6))).astype(F32),
            "feet": smoothstep(progress * 1.6).astype(F32)}


def idle(t_s: float, phases: np.ndarray) -> dict[str, np.ndarray]:
    """Life at rest from the session clock and seeded phases (N, 8) in cycles: breathing (a chest
    pitch, degrees, and its 0..1 depth), slow weight shifts (metres, degrees) and small head motion."""
    t = F32(t_s)
    ph = TAU * phases
    rate = F32(1.0) / (F32(3.6) + phases[:, 7])                    # breaths a second, per person
    breath = np.sin(TAU * t * rate + ph[:, 0])
    shift = np.sin(TAU * t / (F32(7.0) + F32(4.0) * phases[:, 6]) + ph[:, 1])
    return {"breath": breath.astype(F32),
            "chest_deg": (F32(1.2) * breath).astype(F32),
            "shift_m": (F32(0.022) * shift).astype(F32),
            "shift_roll_deg": (F32(1.5) * shift).astype(F32),
            "head_yaw_deg": (F32(2.5) * np.sin(TAU * t * F32(0.11) + ph[:, 2])
                             + F32(1.0) * np.sin(TAU * t * F32(0.37) + ph[:, 3])).astype(F32),
            "head_pitch_deg": (F32(1.5) * np.sin(TAU * t * F32(0.13) + ph[:, 4])
                               + F32(0.6) * np.sin(TAU * t * F32(0.41) + ph[:, 5])).astype(F32),
            "head_roll_deg": (F32(1.2) * np.sin(TAU * t * F32(0.09) + ph[:, 5])).astype(F32)}


def ease_gestures(weights: np.ndarray, gesture: np.ndarray, dt_s: float) -> np.ndarray:
    """Blend weights (N, len(GESTURES)) toward the current gesture, over GESTURE_EASE_S either way."""
    want = (np.arange(len(GESTURES))[None, :] == gesture[:, None]).astype(F32)
    step = F32(dt_s / GESTURE_EASE_S)
    return clamp(weights + clamp(want - weights, -step, step), 0.0, 1.0)


def gesture_motion(weights: np.ndarray, t_s: float, phases: np.ndarray) -> dict[str, np.ndarray]:
    """What the eased gestures do (N,) each, degrees: head nods and shakes, trunk lean, and the
    arms' poses (shoulder pitch/heading/roll and elbow pitch per side, (N, 2) each); ``cross`` and
    ``phone`` are the weights of those arm poses, ``yawn`` the mouth's."""
    w = {name: smoothstep(weights[:, i]) for name, i in G.items()}
    t = F32(t_s)
    nod = -F32(9.0) * np.maximum(0.0, np.sin(TAU * F32(1.6) * t + TAU * phases[:, 2]))
    shake = F32(12.0) * np.sin(TAU * F32(2.2) * t + TAU * phases[:, 3])
    return {"head_pitch_deg": w["nod"] * nod - F32(9.0) * w["slump"] + F32(14.0) * w["yawn"]
            - F32(6.0) * w["look_at_phone"],
            "head_yaw_deg": w["shake_head"] * shake,
            "lean_deg": -F32(12.0) * w["lean_in"] + F32(6.0) * w["slump"] + F32(3.0) * w["yawn"],
            "slump_deg": -F32(10.0) * w["slump"],
            "cross": w["cross_arms"], "phone": w["look_at_phone"], "yawn": w["yawn"], "smile": w["smile"]}


def arms(walk: dict, gest: dict, life: dict, down: np.ndarray, arm_down_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arms' angles: hanging at the sides (turned down by ``arm_down_deg`` from the baked
    A-pose), swinging in the walk, on the thighs when seated (``down``), crossed, or the right
    hand holding a phone. Returns shoulder heading/pitch/roll (N, 2, 3), elbow pitch (N, 2), the
    right wrist's pitch (N,) and the clavicles' roll (N, 2) (shoulders rise with each breath)."""
    side = np.array([1.0, -1.0], F32)
    n = len(down)
    hang = -side[None, :] * arm_down_deg[:, None]            # the roll that turns each arm down
    d = down[:, None]
    sh = np.zeros((n, 2, 3), F32)
    sh[..., 1] = walk["arm_deg"] + 16.0 * d
    sh[..., 2] = hang + side * 4.0 * d
    el = -35.0 + walk["elbow_deg"] + 50.0 * d
    # Crossed: upper arms a little forward, forearms turned in across the chest (left over right alike).
    cross_sh = np.stack([np.broadcast_to(-side * 72.0, (n, 2)), np.full((n, 2), 22.0), hang + side * 4.0], axis=-1)
    phone_sh = np.stack([np.full(n, 12.0), np.full(n, 22.0), hang[:, 1] - 6.0], axis=-1)
    wc, wp = gest["cross"][:, None], gest["phone"]
    sh = sh * (1.0 - wc[..., None]) + cross_sh * wc[..., None]
    el = el * (1.0 - wc) + 38.0 * wc
    sh[:, 1] = sh[:, 1] * (1.0 - wp[:, None]) + phone_sh * wp[:, None]
    el[:, 1] = el[:, 1] * (1.0 - wp) + 40.0 * wp
    clav = side * (0.8 * (life["breath"][:, None] + 1.0) + 5.0 * gest["yawn"][:, None])
    return sh.astype(F32), el.astype(F32), (-8.0 * wp).astype(F32), clav.astype(F32)


def face(mood: np.ndarray, smile_gesture: np.ndarray, yawn: np.ndarray, blinking: np.ndarray,
         eye_pitch_deg: np.ndarray, jaw: np.ndarray, shapes: np.ndarray) -> dict[str, np.ndarray]:
    """Face unit weights 0..1 by name, (N,) each: mood's smile or frown and brows, the gesture's
    smile, the lids (closed while blinking, following the eyes down a little), the mouth's opening
    ``jaw`` and viseme-like ``shapes`` (N, 3): funnel, pucker, close."""
    smile = SMILE[mood] + smile_gesture * F32(0.8)
    lids = np.where(blinking, F32(1.0), clamp(LIDS[mood] + np.maximum(-eye_pitch_deg, 0.0) / F32(90.0), 0.0, 0.6))
    jaw_open = clamp(np.maximum(jaw, yawn * F32(0.95)), 0.0, 1.0)
    out = {"eyeBlinkLeft": lids, "eyeBlinkRight": lids,
           "mouthSmileLeft": clamp(smile, 0.0, 1.0), "mouthSmileRight": clamp(smile, 0.0, 1.0),
           "mouthFrownLeft": clamp(-smile, 0.0, 1.0), "mouthFrownRight": clamp(-smile, 0.0, 1.0),
           "browInnerUp": clamp(BROW_UP[mood] + yawn * F32(0.4), 0.0, 1.0),
           "browDownLeft": BROW_DOWN[mood], "browDownRight": BROW_DOWN[mood], "jawOpen": jaw_open,
           "mouthFunnel": shapes[:, 0], "mouthPucker": shapes[:, 1], "mouthClose": shapes[:, 2]}
    return {k: np.asarray(v, F32) for k, v in out.items()}


def speech(syllable: np.ndarray, seeds: np.ndarray, speaking: np.ndarray, loudness: np.ndarray,
           envelope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mouth while speaking: opening (N,) 0..1 and shapes (N, 3) funnel/pucker/close.

    ``syllable`` (N,) counts syllables (its fraction is the phase within one); ``loudness`` the
    line's smoothed loudness 0..1, NaN where the audio is unknown: then syllables are mimed.
    Each syllable gets its own seeded vowel (open, rounded, pursed, spread) so the mouth does not
    flap; ``envelope`` is the smoothed loudness (lips close between loud parts)."""
    k = np.floor(syllable).astype(np.int64)
    f = syllable - k
    r = hash01(seeds, k)
    mimed = np.abs(np.sin(np.pi * f)) * (F32(0.55) + F32(0.45) * hash01(seeds + 7, k))
    known = ~np.isnan(loudness)
    loud = np.where(known, clamp(np.nan_to_num(loudness), 0.0, 1.0), mimed)
    # The loudness drives the opening; the syllable's vowel scales it (a rounded vowel opens less).
    vowel_open = np.where(r < 0.45, F32(1.0), np.where(r < 0.7, F32(0.55), np.where(r < 0.85, F32(0.35), F32(0.8))))
    shape_env = np.where(known, np.abs(np.sin(np.pi * f)) * F32(0.5) + F32(0.5), F32(1.0))
    opening = np.where(speaking, F32(0.05) + F32(0.8) * loud ** F32(0.8) * vowel_open * shape_env, 0.0)
    funnel = np.where((r >= 0.45) & (r < 0.7), F32(0.6), F32(0.0)) * loud
    pucker = np.where((r >= 0.7) & (r < 0.85), F32(0.7), F32(0.0)) * loud
    close = clamp(F32(0.5) - envelope * F32(3.0), 0.0, 0.5) * np.where(r > 0.6, F32(1.0), F32(0.4))
    shapes = np.stack([funnel, pucker, close], axis=1) * speaking[:, None]
    return opening.astype(F32), shapes.astype(F32)


# -- rotations and the leg solver -------------------------------------------------------------------

def clamp(x: np.ndarray, lo: float | np.ndarray, hi: float | np.ndarray) -> np.ndarray:
    """``np.clip`` without its dispatch overhead (which dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def matvec(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """r (..., 3, 3) times v (..., 3), broadcast: faster than einsum or matmul for many small products."""
    return r[..., 0] * v[..., 0:1] + r[..., 1] * v[..., 1:2] + r[..., 2] * v[..., 2:3]


def tmatvec(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """r transposed times v (..., 3)."""
    return np.sum(r * v[..., :, None], axis=-2)


def hpr_matrices(h_deg: np.ndarray, p_deg: np.ndarray, r_deg: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) for heading/pitch/roll in the body frame (facing -Y):
    R = Rz(h) Rx(-p) Ry(-r), i.e. Panda3D's HPR for a node facing +Y seen from the body's side
    (heading to the body's left, pitch lifting the front, roll tilting the top to its right)."""
    h, q, w = np.radians(h_deg), -np.radians(p_deg), -np.radians(r_deg)
    ch, sh, cq, sq, cw, sw = np.cos(h), np.sin(h), np.cos(q), np.sin(q), np.cos(w), np.sin(w)
    out = np.empty(np.shape(h) + (3, 3), F32)
    out[..., 0, 0] = ch * cw - sh * sq * sw
    out[..., 0, 1] = -sh * cq
    out[..., 0, 2] = ch * sw + sh * sq * cw
    out[..., 1, 0] = sh * cw + ch * sq * sw
    out[..., 1, 1] = ch * cq
    out[..., 1, 2] = sh * sw - ch * sq * cw
    out[..., 2, 0] = -cq * sw
    out[..., 2, 1] = sq
    out[..., 2, 2] = cq * cw
    return out


def rot_z(angle_rad: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) about +Z (counter-clockwise seen from above)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    out = np.zeros(np.shape(angle_rad) + (3, 3), F32)
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, -s, s, c, 1.0
    return out


def align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotations (..., 3, 3) turning directions ``a`` onto ``b`` (..., 3)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    k = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None, None]
    kx = np.zeros(a.shape + (3,), F32)
    kx[..., 0, 1], kx[..., 0, 2], kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    kx[..., 1, 0], kx[..., 2, 0], kx[..., 2, 1] = k[..., 2], -k[..., 1], k[..., 0]
    return (np.eye(3, dtype=F32) * c + kx + k[..., :, None] * k[..., None, :] / np.maximum(1.0 + c, 1e-6)).astype(F32)



def aim_eyes(r_head: np.ndarray, eyes: np.ndarray, target: np.ndarray, yaw_deg: np.ndarray,
             pitch_deg: np.ndarray) -> np.ndarray:
    """Eye rotations (..., 3, 3) in the head's frame (``r_head``, world rotation times scale) that
    look from ``eyes`` at ``target`` (world points, each eye on its own, so near targets
    converge), within the eyes' range; ``yaw_deg``/``pitch_deg`` (relative to the head) where the
    target is not finite."""
    d = tmatvec(r_head, target - eyes)
    e_yaw = np.degrees(np.arctan2(d[..., 0], -d[..., 1]))          # the eyes look along -Y at rest
    e_pitch = np.degrees(np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1])))
    known = np.isfinite(e_yaw) & np.isfinite(e_pitch)
    e_yaw = clamp(np.where(known, e_yaw, yaw_deg), -EYE_YAW_LIMIT_DEG, EYE_YAW_LIMIT_DEG)
    e_pitch = clamp(np.where(known, e_pitch, pitch_deg), -EYE_PITCH_LIMIT_DEG, EYE_PITCH_LIMIT_DEG)
    return hpr_matrices(e_yaw, e_pitch, np.zeros_like(e_yaw))


def leg_ik(thigh: np.ndarray, shin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone inverse kinematics: the hip and knee rotations (..., 3, 3) that put the ankle at
    ``d`` from the hip (in the hip's parent frame), for rest bones ``thigh`` (hip to knee) and
    ``shin`` (knee to ankle), all (..., 3). The knee bends about its rest X axis (the body's
    left-right): |thigh + Rx(k) shin| = |d| has the closed form P + Q cos k + S sin k, taken on
    the branch that is 0 at rest and grows as the ankle nears the hip (no hyperextension past
    straight); then the smallest hip turn puts the bent leg onto ``d``."""
    u, w = thigh, shin
    p_ = u[..., 0] * w[..., 0]
    q_ = u[..., 1] * w[..., 1] + u[..., 2] * w[..., 2]
    s_ = u[..., 2] * w[..., 1] - u[..., 1] * w[..., 2]
    want = 0.5 * (np.sum(d * d, -1) - np.sum(u * u, -1) - np.sum(w * w, -1)) - p_
    knee = np.arctan2(s_, q_) + np.arccos(clamp(want / np.hypot(q_, s_), -1.0, 1.0))
    c, sn = np.cos(knee), np.sin(knee)
    r_knee = np.zeros(knee.shape + (3, 3), F32)
    r_knee[..., 0, 0] = 1.0
    r_knee[..., 1, 1], r_knee[..., 1, 2], r_knee[..., 2, 1], r_knee[..., 2, 2] = c, -sn, sn, c
    return align(u + matvec(r_knee, w), d), r_knee


def fit_height(z0: np.ndarray, dz: np.ndarray, k: int, weights: np.ndarray,
               heights_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape target weights (N, 2K) with shape axis ``k``'s low/high pair refitted so each shaped
    stature nears ``heights_m`` (N,), and those statures. ``z0`` (T,) are the heights of the rest
    vertices the crown may be among, ``dz`` (2K, T) their targets' height deltas."""
    def stature(w: np.ndarray) -> np.ndarray:
        return (z0[None, :] + w @ dz).max(axis=1)

    w = weights.copy()
    w[:, 2 * k: 2 * k + 2] = 0.0
    mid = stature(w)
    lo, hi = w.copy(), w.copy()
    lo[:, 2 * k], hi[:, 2 * k + 1] = 1.0, 1.0
    down, up = mid - stature(lo), stature(hi) - mid
    c = np.where(heights_m >= mid, (heights_m - mid) / np.maximum(up, 1e-6), (heights_m - mid) / np.maximum(down, 1e-6))
    c = clamp(c, -1.0, 1.0)
    w[:, 2 * k], w[:, 2 * k + 1] = np.maximum(-c, 0.0), np.maximum(c, 0.0)
    return w.astype(F32), stature(w)
