"""Pose the humans from the world state each frame: walking, sitting, breathing, gaze, face, gestures.

The simulation decides where each human is, where it looks, its mood, gesture and whether it
speaks; this module only turns that into joint angles. Small idle motions (breathing, weight
shift, the walk cycle's phase, syllables while speaking) are derived from the session clock and
each human's seed, so a replay of the same record looks the same.
"""

from __future__ import annotations

import math


from vr.config import MOOD_NAMES
from vr.render.human import HumanRig
from vr.sim.crowd import POSTURE_SEATED
from vr.sim.session import eye_height_m
from vr.sim.social import GESTURES

STRIDE_M = 1.4                 # one full walk cycle (two steps)
FACE_DETAIL_M = 7.0            # beyond this the face is not animated (too small to see)
G = {name: i for i, name in enumerate(GESTURES)}
SMILE = {MOOD_NAMES.index("friendly"): 1.0, MOOD_NAMES.index("attentive"): 0.35,
         MOOD_NAMES.index("hostile"): -0.8, MOOD_NAMES.index("bored"): -0.4, MOOD_NAMES.index("neutral"): 0.0}
BROW_TILT = {MOOD_NAMES.index("hostile"): 14.0, MOOD_NAMES.index("bored"): -4.0}
BROW_RAISE = {MOOD_NAMES.index("attentive"): 0.003, MOOD_NAMES.index("friendly"): 0.004,
              MOOD_NAMES.index("bored"): -0.002, MOOD_NAMES.index("hostile"): -0.003}


class Poser:
    """Per-human animation state (walk phase) and the pose function."""

    def __init__(self, rig: HumanRig, seed: int) -> None:
        self.rig = rig
        self.phase = 0.0
        self.offset = (seed % 1000) / 1000.0 * 2 * math.pi
        self.scale = rig.hip_z / 0.93

    def pose(self, h, i: int, t_s: float, dt_s: float, camera_xy: tuple[float, float],
             mouth: float | None = None) -> None:
        """Pose human ``i`` of ``h`` (a ``HumansState``) at session time ``t_s``; ``mouth`` (0-1) is
        the loudness of the line being spoken, when its audio is known (else syllables are mimed)."""
        r = self.rig
        x, y = float(h.position_m[i, 0]), float(h.position_m[i, 1])
        body_yaw = float(h.body_yaw_deg[i])
        r.root.setPosHpr(x, y, 0.0, body_yaw, 0.0, 0.0)
        posture = int(h.posture[i])
        gesture = int(h.gesture[i])
        mood = int(h.mood[i])
        speed = float(h.speed_mps[i])
        o = self.offset
        breath = math.sin(2 * math.pi * t_s / 4.2 + o)
        lean = 0.0
        head_p = 0.0
        head_h = 0.0
        sh = [[4.0 * math.sin(2 * math.pi * t_s / 5.0 + o), 0.0, 0.0], [0.0, 0.0, 0.0]]  # P, R, H per side
        sh[1][0] = 4.0 * math.sin(2 * math.pi * t_s / 5.0 + o + 1.0)
        el = [8.0, 8.0]
        if posture == POSTURE_SEATED:
            eye = float(eye_height_m(h.height_m[i], posture))  # scalar: no arrays per human per frame
            body_z = eye - (r.eye_z - r.hip_z)
            r.body.setPos(0.0, -0.05 * self.scale, body_z)
            drop = max(body_z - 0.06, 0.05)
            shin = r.thigh_m * 0.98
            tilt = math.degrees(math.acos(min(drop / shin, 1.0)))
            for side in (0, 1):
                r.hips[side].setHpr(0.0, 88.0, 0.0)
                r.knees[side].setHpr(0.0, -88.0 + tilt, 0.0)
            el = [55.0, 55.0]
            sh[0][0] += 20.0
            sh[1][0] += 20.0
        else:
            sway = 0.012 * math.sin(2 * math.pi * t_s / 7.0 + o) if speed < 0.05 else 0.0
            r.body.setPos(sway, 0.0, r.hip_z + 0.004 * breath)
            if speed > 0.03:
                self.phase += 2 * math.pi * speed * dt_s / STRIDE_M
            else:
                self.phase *= 0.9  # settle the legs when stopping
            amp = min(speed / 1.0, 1.0)
            swing = 24.0 * amp * math.sin(self.phase)
            for side, sign in ((0, 1.0), (1, -1.0)):
                r.hips[side].setHpr(0.0, sign * swing, 1.5 * (sway * 40 if side else -sway * 40))
                bend = max(0.0, math.sin(self.phase + (0 if sign > 0 else math.pi) + 1.2))
                r.knees[side].setHpr(0.0, -40.0 * amp * bend, 0.0)
                sh[side][0] += -sign * 18.0 * amp * math.sin(self.phase)
        r.spine.setSz(1.0 + 0.01 * breath)
        # Gestures and postures per mood.
        if gesture == G["nod"]:
            head_p -= 9.0 * max(0.0, math.sin(2 * math.pi * 1.6 * t_s))
        elif gesture == G["shake_head"]:
            head_h += 12.0 * math.sin(2 * math.pi * 2.2 * t_s)
        elif gesture == G["lean_in"]:
            lean = 12.0
        elif gesture == G["slump"]:
            lean = -10.0
            head_p -= 8.0
        elif gesture == G["cross_arms"]:
            # Upper arms a little forward, forearms level and turned in across the chest.
            for side, sign in ((0, 1.0), (1, -1.0)):
                sh[side] = [18.0, 0.0, -sign * 40.0]
                el[side] = 88.0
        elif gesture == G["look_at_phone"]:
            sh[1] = [22.0, 0.0, 12.0]
            el[1] = 78.0
        elif gesture == G["yawn"]:
            head_p += 12.0
        r.phone.setScale(1.0 if gesture == G["look_at_phone"] else 0.001)
        r.spine.setP(lean)
        for side in (0, 1):
            r.shoulders[side].setHpr(sh[side][2], sh[side][0], sh[side][1] + (4 if side else -4))
            r.elbows[side].setHpr(0.0, el[side], 0.0)
        # Gaze: the head's world heading and pitch from the simulation, relative to the leaning spine.
        rel_h = ((float(h.head_yaw_deg[i]) - body_yaw + 180.0) % 360.0) - 180.0
        r.head.setHpr(rel_h + head_h, float(h.head_pitch_deg[i]) - lean + head_p, 0.0)
        dx, dy = camera_xy[0] - x, camera_xy[1] - y
        if dx * dx + dy * dy > FACE_DETAIL_M * FACE_DETAIL_M:
            return
        eye_h, eye_p = float(h.eye_yaw_deg[i]), float(h.eye_pitch_deg[i])
        lid = -80.0 if h.blinking[i] else 24.0 + 0.5 * eye_p  # the upper lid follows the eyes down
        for side in (0, 1):
            r.eyes[side].setHpr(eye_h, eye_p, 0.0)
            r.lids[side].setP(lid)
        s = self.scale
        raise_z = BROW_RAISE.get(mood, 0.0) * s
        tilt = BROW_TILT.get(mood, 0.0)
        for side, sign in ((0, -1.0), (1, 1.0)):
            r.brows[side].setZ(0.038 * s + raise_z)
            r.brows[side].setR(sign * tilt)
        smile = SMILE.get(mood, 0.0) + (1.0 if gesture == G["smile"] else 0.0)
        for side in (0, 1):
            r.corners[side].setZ(-0.049 * s + 0.004 * s * smile)
        opening = 0.0
        if h.speaking[i] and mouth is not None:
            opening = 0.05 + 0.95 * min(max(mouth, 0.0), 1.0)
        elif h.speaking[i]:
            syllables = abs(math.sin(2 * math.pi * 2.3 * t_s + o)) * (0.6 + 0.4 * math.sin(2 * math.pi * 0.7 * t_s))
            opening = 0.25 + 0.75 * syllables
        elif gesture == G["yawn"]:
            opening = 1.6
        r.jaw.setZ(-0.052 * s - 0.011 * s * opening)
        r.jaw.setSz(1.0 + 1.8 * opening)
