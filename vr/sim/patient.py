"""A synthetic patient: anxiety that rises with exposure and habituates, ratings, a wandering head.

A deliberately simple, documented model for dry runs and tests (not a claim about any person):

- *stimulus* S (0 to about 1.2) from what the patient faces now: the step's intensity, how many
  humans are present, how near the nearest ones are (inside 4 m), the share looking at the
  patient, hostile moods and whether someone speaks;
- *habituation* h: the stimulus level the patient has got used to. It climbs toward S while S is
  above it, ``dh/dt = habituation_per_min / 60 * (S - h)``, and sinks slowly when S is lower
  (``recovery_per_min``), so each new, stronger step is frightening again and then habituates;
- *anxiety* A (SUDS points) relaxes toward
  ``baseline + (100 - baseline) * min(sensitivity * gain * max(S - 0.8 h, 0), 1)`` with time
  constant ``rise_s`` (habituation never removes all fear: 0.8), plus an Ornstein-Uhlenbeck
  fluctuation of ``fluctuation_suds``;
- answers a rating prompt after ``answer_delay_s`` with ``round(A + noise)``; presses panic
  when A reaches ``panic_at_suds`` (never by default);
- looks at the humans less as anxiety rises (``avoidance``), otherwise around the scene;
- starts the session with ``start_habituation`` already learnt (0: a first session), so a
  course of sessions can carry what the patient got used to from one to the next;
- when the session watches the body (a profile with a ``physiology:`` block, or
  ``physiology=True``), wears sensors: heart rate relaxes toward
  ``hr_rest_bpm + hr_per_suds_bpm * (A - baseline)`` with time constant ``hr_lag_s`` and skin
  conductance toward ``eda_rest_us + eda_per_suds_us * (A - baseline)`` with ``eda_lag_s``, each
  with its own slow fluctuation (``hr_noise_bpm``, ``eda_noise_us``) and a little reading noise,
  sent as ``PhysioSample``s (source ``synthetic``): heart rate once a second, EDA four times.
  Its draws come from a generator of its own, so the rest of the patient is unchanged by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from vr.config.profile import MOOD_NAMES
from vr.sim.mathutil import approach_deg, yaw_pitch_to
from vr.sim.types import Command, FrameInputs, HeadPose, PhysioSample, Rating, WorldState

HOSTILE = MOOD_NAMES.index("hostile")


@dataclass(frozen=True)
class PatientParams:
    """Parameters of the synthetic patient (see the module docstring for the model)."""

    baseline_suds: float = 15.0
    sensitivity: float = 1.0
    gain: float = 1.6
    habituation_per_min: float = 0.35
    recovery_per_min: float = 0.05
    rise_s: float = 20.0
    fluctuation_suds: float = 4.0
    report_noise_suds: float = 3.0
    answer_delay_s: float = 4.0
    avoidance: float = 0.7
    panic_at_suds: float = 101.0
    pain_baseline: float = 0.0
    start_habituation: float = 0.0
    hr_rest_bpm: float = 72.0
    hr_per_suds_bpm: float = 0.5
    hr_lag_s: float = 8.0
    hr_noise_bpm: float = 2.0
    eda_rest_us: float = 2.0
    eda_per_suds_us: float = 0.06
    eda_lag_s: float = 25.0
    eda_noise_us: float = 0.05

    @classmethod
    def parse(cls, text: str) -> PatientParams:
        """From ``key=value,key=value`` (the ``--patient`` option); raises ``ValueError`` naming the key."""
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, raw = part.partition("=")
            key = key.strip()
            if not sep or key not in known:
                raise ValueError(f"unknown patient parameter {key!r}; use key=value with keys: "
                                 f"{', '.join(sorted(known))}")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"patient parameter {key}: {raw!r} is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"patient parameter {key}: must be a finite number >= 0")
            values[key] = value
        return cls(**values)


def stimulus(world: WorldState) -> float:
    """How confronting the current world is for the patient (0 none, about 1 the strongest)."""
    h = world.humans
    if world.mode not in ("running", "paused") or not h.present.any():
        return 0.15 * world.intensity if world.mode in ("running", "paused") else 0.0
    idx = np.nonzero(h.present)[0]
    n = len(idx)
    near = np.clip((4.0 - h.distance_m[idx]) / 3.5, 0.0, 1.0)
    nearness = float(np.sort(near)[-3:].mean())
    looking = float(h.gaze_at_patient[idx].mean())
    hostile = float((h.mood[idx] == HOSTILE).mean())
    crowd = 1.0 - math.exp(-n / 12.0)
    speaking = 1.0 if h.speaking[idx].any() else 0.0
    return (0.30 * world.intensity + 0.25 * crowd + 0.25 * nearness + 0.20 * looking
            + 0.15 * hostile + 0.10 * speaking)


class SyntheticPatient:
    """Produces each frame's inputs from the last world state, as a patient in a headset would."""

    def __init__(self, params: PatientParams, seed: int, start: HeadPose, physiology: bool | None = None) -> None:
        """``physiology``: send heart rate and EDA (None: whenever the session watches the body)."""
        self.p = params
        self.rng = np.random.default_rng([int(seed), 0x5EED])
        self.anxiety = params.baseline_suds
        self.habituation = params.start_habituation
        self.body = SyntheticBody(params, seed)
        self.physiology = physiology
        self.head = start
        self.front_yaw = start.yaw_deg
        self._look_yaw = start.yaw_deg
        self._look_pitch = 0.0
        self._look_left = 0.0
        self._noise = 0.0
        self._answer_in: dict[str, float] = {}
        self._panicked = False

    def act(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        """Inputs for the next step, given the world the patient sees now."""
        if world is None:
            return FrameInputs(self.head)
        p = self.p
        s = stimulus(world)
        exposed = world.mode in ("running", "paused")
        rate = p.habituation_per_min if s > self.habituation else p.recovery_per_min
        self.habituation += rate / 60.0 * (s - self.habituation) * min(dt_s, 1.0)
        drive = max(s - 0.8 * self.habituation, 0.0) * p.sensitivity * p.gain
        target = p.baseline_suds + (100.0 - p.baseline_suds) * min(drive, 1.0)
        self.anxiety += (target - self.anxiety) * min(dt_s / p.rise_s, 1.0)
        theta = 1.0 / 30.0
        self._noise += -theta * self._noise * dt_s + p.fluctuation_suds * math.sqrt(2 * theta * dt_s) * self.rng.normal()
        felt = float(np.clip(self.anxiety + self._noise, 0.0, 100.0))
        ratings: list[Rating] = []
        commands: list[Command] = []
        if world.rating_prompt and world.rating_prompt not in self._answer_in:
            self._answer_in[world.rating_prompt] = p.answer_delay_s
        for scale in list(self._answer_in):
            self._answer_in[scale] -= dt_s
            if self._answer_in[scale] <= 0.0:
                del self._answer_in[scale]
                if scale == "suds":
                    value = float(np.clip(round(felt + self.rng.normal(0.0, p.report_noise_suds)), 0, 100))
                elif scale == "pain":
                    value = float(np.clip(round(p.pain_baseline + self.rng.normal(0.0, 0.7)), 0, 10))
                else:
                    value = float(np.clip(round(felt / 40.0), 0, 3))
                ratings.append(Rating(scale, value))
        if felt >= p.panic_at_suds and exposed and not self._panicked:
            self._panicked = True
            commands.append(Command("panic", source="patient"))
        if not exposed:
            self._panicked = False
        self._move_head(world, felt, dt_s)
        wears = self.physiology if self.physiology is not None else (world.physio is not None and world.physio.watching)
        physio = self.body.step(self.anxiety, world.t_s, dt_s) if wears else ()
        return FrameInputs(self.head, tuple(commands), tuple(ratings), physio=physio)

    def _move_head(self, world: WorldState, felt: float, dt_s: float) -> None:
        self._look_left -= dt_s
        if self._look_left <= 0.0:
            self._look_left = float(self.rng.uniform(0.8, 4.0))
            h = world.humans
            idx = np.nonzero(h.present)[0]
            engage = 1.0 - self.p.avoidance * felt / 100.0
            if len(idx) and self.rng.random() < engage:
                who = int(idx[self.rng.integers(len(idx))])
                eye = np.array([*h.position_m[who], 1.5]) - np.asarray(self.head.position_m)
                self._look_yaw, self._look_pitch = (float(v) for v in yaw_pitch_to(eye))
            elif len(idx):
                # Avoidant: eyes down or off to the side.
                self._look_yaw = self.front_yaw + float(self.rng.uniform(-70.0, 70.0))
                self._look_pitch = float(self.rng.uniform(-40.0, -15.0))
            else:
                self._look_yaw = self.front_yaw + float(self.rng.uniform(-40.0, 40.0))
                self._look_pitch = float(self.rng.uniform(-15.0, 10.0))
        yaw = float(approach_deg(self.head.yaw_deg, self._look_yaw, 90.0 * dt_s))
        pitch = self.head.pitch_deg + float(np.clip(self._look_pitch - self.head.pitch_deg, -60 * dt_s, 60 * dt_s))
        x, y, z = self.head.position_m
        self.head = HeadPose((x, y, z), yaw, pitch, 0.0)


HR_EVERY_S, EDA_EVERY_S = 1.0, 0.25


class SyntheticBody:
    """Heart rate and skin conductance that follow the synthetic patient's anxiety with a lag and noise."""

    def __init__(self, params: PatientParams, seed: int) -> None:
        self.p = params
        self.rng = np.random.default_rng([int(seed), 0xB0D7])
        self.hr_bpm = params.hr_rest_bpm
        self.eda_us = params.eda_rest_us
        self._hr_noise = self._eda_noise = 0.0
        self._next = {"hr": 0.0, "eda": 0.0}

    def step(self, anxiety_suds: float, t_s: float, dt_s: float) -> tuple[PhysioSample, ...]:
        """Advance by ``dt_s``; the samples due at session time ``t_s``."""
        p = self.p
        excess = max(anxiety_suds - p.baseline_suds, 0.0)
        hr_to, eda_to = p.hr_rest_bpm + p.hr_per_suds_bpm * excess, p.eda_rest_us + p.eda_per_suds_us * excess
        self.hr_bpm += (hr_to - self.hr_bpm) * min(dt_s / max(p.hr_lag_s, 1e-3), 1.0)
        self.eda_us += (eda_to - self.eda_us) * min(dt_s / max(p.eda_lag_s, 1e-3), 1.0)
        theta = 1.0 / 20.0
        shake = math.sqrt(2 * theta * dt_s)
        self._hr_noise += -theta * self._hr_noise * dt_s + p.hr_noise_bpm * shake * self.rng.normal()
        self._eda_noise += -theta * self._eda_noise * dt_s + p.eda_noise_us * shake * self.rng.normal()
        out = []
        if t_s >= self._next["hr"]:
            self._next["hr"] += HR_EVERY_S
            hr = self.hr_bpm + self._hr_noise + self.rng.normal(0.0, 0.5)
            out.append(PhysioSample("hr", round(float(max(hr, 30.0)), 1), round(t_s, 4), "synthetic"))
        if t_s >= self._next["eda"]:
            self._next["eda"] += EDA_EVERY_S
            eda = self.eda_us + self._eda_noise + self.rng.normal(0.0, 0.005)
            out.append(PhysioSample("eda", round(float(max(eda, 0.05)), 4), round(t_s, 4), "synthetic"))
        return tuple(out)
