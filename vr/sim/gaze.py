"""Where each virtual human looks: mutual gaze, aversion, saccades, head following, blinks.

Looking at the patient alternates with looking away as a renewal process: looks at the patient
last ``mutual_dwell_s`` on average and looks away last ``dwell * (1 - share) / share``, so the
long-run share of time spent looking is the profile's ``at_patient_share``. Bout lengths are
log-normal (coefficient of variation 0.5), all drawn from the session's seeded generator. While
looking away the eyes jump between nearby targets at ``saccade_interval_s``. The eyes move first;
the head follows once the eyes are more than ``head_follow_deg`` off the head's direction.
"""

from __future__ import annotations

import numpy as np

from vr.sim.mathutil import approach_deg, direction, wrap_deg, yaw_pitch_to

BOUT_CV = 0.5
EYE_YAW_LIMIT_DEG = 35.0      # eyes in the head
EYE_PITCH_LIMIT_DEG = 30.0
HEAD_YAW_LIMIT_DEG = 80.0     # head on the body
HEAD_SPEED_DPS = 160.0
ON_PATIENT_DEG = 6.0          # within this of the patient's eyes counts as looking at them
BLINK_MEAN_INTERVAL_S = 3.5   # about 17 blinks a minute in conversation
BLINK_S = 0.15

# Per mood (order of vr.config.MOOD_NAMES: attentive, bored, hostile, friendly, neutral).
SHARE_FACTOR = np.array([1.0, 0.4, 1.15, 1.0, 0.7])
DWELL_FACTOR = np.array([1.0, 0.6, 1.5, 1.0, 0.8])


def _lognormal(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    sigma2 = np.log1p(BOUT_CV**2)
    return rng.lognormal(np.log(mean) - sigma2 / 2.0, np.sqrt(sigma2))


class Gaze:
    """Gaze state of N human slots (world headings and pitches in degrees)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.at_patient = np.zeros(n, dtype=bool)
        self.bout_left = np.zeros(n)
        self.saccade_left = np.zeros(n)
        self.away_yaw = np.zeros(n)      # offset from the direction of the patient
        self.away_pitch = np.zeros(n)
        self.eye_yaw = np.zeros(n)       # world direction of the eyes
        self.eye_pitch = np.zeros(n)
        self.head_yaw = np.zeros(n)
        self.head_pitch = np.zeros(n)
        self.head_tracking = np.zeros(n, dtype=bool)
        self.blink_left = np.full(n, 1.0)
        self.blink_until = np.zeros(n)
        self.target = np.zeros((n, 3))
        self.on_patient = np.zeros(n, dtype=bool)
        self.eye_rel_yaw = np.zeros(n)
        self.eye_rel_pitch = np.zeros(n)

    def reset(self, slots: np.ndarray, body_yaw: np.ndarray, rng: np.random.Generator) -> None:
        """Fresh gaze for humans that just arrived: looking ahead, first bout drawn."""
        if len(slots) == 0:
            return
        self.at_patient[slots] = False
        self.bout_left[slots] = rng.uniform(0.2, 1.5, len(slots))
        self.saccade_left[slots] = 0.0
        self.eye_yaw[slots] = self.head_yaw[slots] = body_yaw[slots]
        self.eye_pitch[slots] = self.head_pitch[slots] = 0.0
        self.blink_left[slots] = rng.exponential(BLINK_MEAN_INTERVAL_S, len(slots))

    def update(self, dt_s: float, t_s: float, present: np.ndarray, eye_pos: np.ndarray, patient_eye: np.ndarray,
               body_yaw: np.ndarray, mood: np.ndarray, share: float, dwell_s: float, saccade_s: float,
               follow_deg: float, force_at: np.ndarray, force_down: np.ndarray, active: bool,
               rng: np.random.Generator) -> None:
        """Advance every present human's gaze by ``dt_s``. ``force_at``: speakers look at the patient;
        ``force_down``: a phone or a slump holds the eyes down."""
        idx = np.nonzero(present)[0]
        if len(idx) == 0:
            self.on_patient[:] = False
            return
        p = np.clip(share * SHARE_FACTOR[mood[idx]], 0.0, 1.0)
        dwell = np.maximum(dwell_s * DWELL_FACTOR[mood[idx]], 0.2)
        if active:
            self.bout_left[idx] -= dt_s
            ended = self.bout_left[idx] <= 0.0
            if ended.any():
                e = idx[ended]
                pe, de = p[ended], dwell[ended]
                now_at = ~self.at_patient[e]
                now_at = np.where(pe >= 0.98, True, np.where(pe <= 0.02, False, now_at))
                self.at_patient[e] = now_at
                away_mean = de * (1.0 - pe) / np.maximum(pe, 0.02)
                mean = np.where(now_at, de, np.maximum(away_mean, 0.3))
                self.bout_left[e] = _lognormal(rng, mean)
                self.saccade_left[e[~now_at]] = 0.0
            self.saccade_left[idx] -= dt_s
            jump = idx[(self.saccade_left[idx] <= 0.0) & ~self.at_patient[idx]]
            if len(jump):
                side = np.where(rng.random(len(jump)) < 0.5, -1.0, 1.0)
                self.away_yaw[jump] = side * rng.uniform(15.0, 65.0, len(jump))
                self.away_pitch[jump] = rng.uniform(-25.0, 8.0, len(jump))
                self.saccade_left[jump] = np.maximum(rng.exponential(saccade_s, len(jump)), 0.08)
        at = (self.at_patient[idx] | force_at[idx]) & ~force_down[idx]
        to_patient = patient_eye[None, :] - eye_pos[idx]
        py, pp = yaw_pitch_to(to_patient)
        want_yaw = np.where(at, py, np.where(force_down[idx], body_yaw[idx], py + self.away_yaw[idx]))
        want_pitch = np.where(at, pp, np.where(force_down[idx], -45.0, self.away_pitch[idx]))
        shift = np.abs(wrap_deg(want_yaw - self.eye_yaw[idx]))
        self.eye_yaw[idx], self.eye_pitch[idx] = wrap_deg(want_yaw), want_pitch
        # Head: follows once the eyes are far off, then turns until they are nearly centred.
        off = wrap_deg(self.eye_yaw[idx] - self.head_yaw[idx])
        tracking = self.head_tracking[idx] | (np.abs(off) > follow_deg)
        head_goal = np.where(tracking, self.eye_yaw[idx] - np.clip(off, -0.3 * follow_deg, 0.3 * follow_deg),
                             self.head_yaw[idx])
        rel = np.clip(wrap_deg(head_goal - body_yaw[idx]), -HEAD_YAW_LIMIT_DEG, HEAD_YAW_LIMIT_DEG)
        self.head_yaw[idx] = approach_deg(self.head_yaw[idx], body_yaw[idx] + rel, HEAD_SPEED_DPS * dt_s)
        self.head_tracking[idx] = tracking & (np.abs(wrap_deg(self.eye_yaw[idx] - self.head_yaw[idx]))
                                              > 0.3 * follow_deg + 0.5)
        pitch_goal = np.clip(0.6 * self.eye_pitch[idx], -40.0, 30.0)
        self.head_pitch[idx] += np.clip(pitch_goal - self.head_pitch[idx], -HEAD_SPEED_DPS * dt_s,
                                        HEAD_SPEED_DPS * dt_s)
        self.eye_rel_yaw[idx] = np.clip(wrap_deg(self.eye_yaw[idx] - self.head_yaw[idx]),
                                        -EYE_YAW_LIMIT_DEG, EYE_YAW_LIMIT_DEG)
        self.eye_rel_pitch[idx] = np.clip(self.eye_pitch[idx] - self.head_pitch[idx],
                                          -EYE_PITCH_LIMIT_DEG, EYE_PITCH_LIMIT_DEG)
        seen_yaw = self.head_yaw[idx] + self.eye_rel_yaw[idx]
        seen_pitch = self.head_pitch[idx] + self.eye_rel_pitch[idx]
        err = np.hypot(wrap_deg(seen_yaw - py), seen_pitch - pp)
        self.on_patient[:] = False
        self.on_patient[idx] = at & (err < ON_PATIENT_DEG)
        dist = np.linalg.norm(to_patient, axis=1)
        look = direction(seen_yaw, seen_pitch)
        self.target[idx] = np.where(self.on_patient[idx, None], patient_eye[None, :],
                                    eye_pos[idx] + look * np.minimum(dist, 3.0)[:, None])
        # Blinks: spontaneous, and with large gaze shifts as people do.
        self.blink_left[idx] -= dt_s
        start = idx[(self.blink_left[idx] <= 0.0) | (shift > 30.0)]
        if len(start):
            self.blink_until[start] = t_s + BLINK_S
            self.blink_left[start] = np.maximum(rng.exponential(BLINK_MEAN_INTERVAL_S, len(start)), 0.4)

    def blinking(self, t_s: float) -> np.ndarray:
        return self.blink_until > t_s
