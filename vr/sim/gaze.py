"""Where each virtual human looks: mutual gaze, aversion, saccades, head following, blinks.

Looking at the patient alternates with looking away as a renewal process: looks at the patient
last ``mutual_dwell_s`` on average and looks away last ``dwell * (1 - share) / share``, so the
long-run share of time spent looking is the profile's ``at_patient_share``. Bout lengths are
log-normal (coefficient of variation 0.5), all drawn from the session's seeded generator. While
looking away the eyes rest on one region chosen per look and jump within it (a few degrees) at
``saccade_interval_s``. The eyes move first;
the head follows once the eyes are more than ``head_follow_deg`` off the head's direction.
"""

from __future__ import annotations

import numpy as np

from vr.sim.mathutil import direction

BOUT_CV = 0.5
EYE_YAW_LIMIT_DEG = 35.0      # eyes in the head
EYE_PITCH_LIMIT_DEG = 30.0
HEAD_YAW_LIMIT_DEG = 80.0     # head on the body
HEAD_SPEED_DPS = 300.0        # peak head velocity in large gaze shifts is a few hundred deg/s
ON_PATIENT_DEG = 6.0          # within this of the patient's eyes counts as looking at them
BLINK_MEAN_INTERVAL_S = 3.5   # about 17 blinks a minute in conversation
BLINK_S = 0.15

# Per mood (order of vr.config.MOOD_NAMES: attentive, bored, hostile, friendly, neutral).
SHARE_FACTOR = np.array([1.0, 0.4, 1.15, 1.0, 0.7])
DWELL_FACTOR = np.array([1.0, 0.6, 1.5, 1.0, 0.8])


def _wrap(angle_deg: np.ndarray) -> np.ndarray:
    return (angle_deg + 180.0) % 360.0 - 180.0


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
        self.away_base_yaw = np.zeros(n)   # where a look away goes: offset from the patient's direction
        self.away_base_pitch = np.zeros(n)
        self.away_yaw = np.zeros(n)        # ... plus the small jumps made while looking there
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
        ``force_down``: a phone or a slump holds the eyes down.

        Works on whole slot arrays (absent slots are computed and ignored): cheaper than indexing
        subsets at every step, and the random draws happen only for the few slots whose bout ends.
        """
        if not present.any():
            self.on_patient[:] = False
            return
        if active:
            self.bout_left -= dt_s
            ended = np.flatnonzero(present & (self.bout_left <= 0.0))
            if len(ended):
                pe = np.minimum(share * SHARE_FACTOR[mood[ended]], 1.0)
                de = np.maximum(dwell_s * DWELL_FACTOR[mood[ended]], 0.2)
                now_at = np.where(pe >= 0.98, True, np.where(pe <= 0.02, False, ~self.at_patient[ended]))
                self.at_patient[ended] = now_at
                away_mean = np.maximum(de * (1.0 - pe) / np.maximum(pe, 0.02), 0.3)
                self.bout_left[ended] = _lognormal(rng, np.where(now_at, de, away_mean))
                away = ended[~now_at]
                if len(away):
                    side = np.where(rng.random(len(away)) < 0.5, -1.0, 1.0)
                    self.away_base_yaw[away] = side * rng.uniform(15.0, 65.0, len(away))
                    self.away_base_pitch[away] = rng.uniform(-25.0, 8.0, len(away))
                    self.saccade_left[away] = 0.0
            self.saccade_left -= dt_s
            jump = np.flatnonzero(present & (self.saccade_left <= 0.0) & ~self.at_patient)
            if len(jump):
                self.away_yaw[jump] = self.away_base_yaw[jump] + rng.uniform(-8.0, 8.0, len(jump))
                self.away_pitch[jump] = self.away_base_pitch[jump] + rng.uniform(-5.0, 5.0, len(jump))
                self.saccade_left[jump] = np.maximum(rng.exponential(saccade_s, len(jump)), 0.08)
        at = (self.at_patient | force_at) & ~force_down
        d = patient_eye[None, :] - eye_pos
        flat = np.hypot(d[:, 0], d[:, 1])
        py = np.degrees(np.arctan2(-d[:, 0], d[:, 1]))
        pp = np.degrees(np.arctan2(d[:, 2], flat))
        want_yaw = np.where(at, py, np.where(force_down, body_yaw, py + self.away_yaw))
        want_pitch = np.where(at, pp, np.where(force_down, -45.0, self.away_pitch))
        shift = np.abs(_wrap(want_yaw - self.eye_yaw))
        self.eye_yaw, self.eye_pitch = _wrap(want_yaw), want_pitch
        # Head: follows once the eyes are far off, then turns until they are nearly centred.
        off = _wrap(self.eye_yaw - self.head_yaw)
        keep = 0.3 * follow_deg
        tracking = self.head_tracking | (np.abs(off) > follow_deg)
        head_goal = np.where(tracking, self.eye_yaw - np.minimum(np.maximum(off, -keep), keep), self.head_yaw)
        rel = np.minimum(np.maximum(_wrap(head_goal - body_yaw), -HEAD_YAW_LIMIT_DEG), HEAD_YAW_LIMIT_DEG)
        turn = HEAD_SPEED_DPS * dt_s
        self.head_yaw = _wrap(self.head_yaw + np.minimum(np.maximum(_wrap(body_yaw + rel - self.head_yaw), -turn), turn))
        self.head_tracking = tracking & (np.abs(_wrap(self.eye_yaw - self.head_yaw)) > keep + 0.5)
        pitch_goal = np.minimum(np.maximum(0.6 * self.eye_pitch, -40.0), 30.0)
        self.head_pitch = self.head_pitch + np.minimum(np.maximum(pitch_goal - self.head_pitch, -turn), turn)
        self.eye_rel_yaw = np.minimum(np.maximum(_wrap(self.eye_yaw - self.head_yaw), -EYE_YAW_LIMIT_DEG),
                                      EYE_YAW_LIMIT_DEG)
        self.eye_rel_pitch = np.minimum(np.maximum(self.eye_pitch - self.head_pitch, -EYE_PITCH_LIMIT_DEG),
                                        EYE_PITCH_LIMIT_DEG)
        seen_yaw = self.head_yaw + self.eye_rel_yaw
        seen_pitch = self.head_pitch + self.eye_rel_pitch
        err = np.hypot(_wrap(seen_yaw - py), seen_pitch - pp)
        self.on_patient = present & at & (err < ON_PATIENT_DEG)
        dist = np.sqrt(flat * flat + d[:, 2] * d[:, 2])
        look = direction(seen_yaw, seen_pitch)
        self.target = np.where(self.on_patient[:, None], patient_eye[None, :],
                               eye_pos + look * np.minimum(dist, 3.0)[:, None])
        # Blinks: spontaneous, and with large gaze shifts as people do.
        self.blink_left -= dt_s
        start = np.flatnonzero(present & ((self.blink_left <= 0.0) | (shift > 30.0)))
        if len(start):
            self.blink_until[start] = t_s + BLINK_S
            self.blink_left[start] = np.maximum(rng.exponential(BLINK_MEAN_INTERVAL_S, len(start)), 0.4)

    def blinking(self, t_s: float) -> np.ndarray:
        return self.blink_until > t_s
