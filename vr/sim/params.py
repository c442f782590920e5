"""How a step's ``intensity`` knob becomes concrete behaviour parameters (the one place that decides).

Each aspect a step sets explicitly is kept; each it leaves unset follows the knob through the
linear maps below. Everything is then held inside the safety caps, so no path through the
core (profile, clinician override) can exceed them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vr.config import SafetyConfig, StepConfig

# intensity 0 -> first value, 1 -> second value (linear in between)
DISTANCE_M = (5.0, 1.2)          # public zone edge -> personal zone edge (Hall 1966)
APPROACH_SPEED_MPS = (0.3, 0.8)
AT_PATIENT_SHARE = (0.15, 0.9)
MUTUAL_DWELL_S = (1.5, 5.1)      # 0.5 -> 3.3 s, the preferred mutual-gaze length (Binetti et al. 2016)
LINES_PER_MIN = (0.5, 4.0)


def _lerp(pair: tuple[float, float], t: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * t


@dataclass(frozen=True)
class StepParams:
    """A step's behaviour after the knob and the caps have been applied."""

    humans: int
    mood_shares: tuple[tuple[str, float], ...]
    intensity: float
    distance_m: float
    approach_speed_mps: float
    max_accel_mps2: float
    at_patient_share: float
    mutual_dwell_s: float
    saccade_interval_s: float
    head_follow_deg: float
    dialogue_intensity: float
    lines_per_min: float


def resolve(step: StepConfig, safety: SafetyConfig, intensity_override: float | None = None) -> StepParams:
    """Concrete parameters for ``step``; ``intensity_override`` is the clinician's live knob."""
    raw = step.intensity if intensity_override is None else intensity_override
    i = min(max(float(raw), 0.0), safety.max_intensity)
    prox, gaze, dia = step.proximity, step.gaze, step.dialogue
    distance = prox.distance_m if prox.distance_m is not None else _lerp(DISTANCE_M, i)
    dialogue_i = dia.intensity if dia.intensity is not None else i
    return StepParams(
        humans=step.humans,
        mood_shares=step.mood.shares,
        intensity=i,
        distance_m=max(distance, safety.min_distance_m),
        approach_speed_mps=prox.approach_speed_mps if prox.approach_speed_mps is not None
        else _lerp(APPROACH_SPEED_MPS, i),
        max_accel_mps2=prox.max_accel_mps2,
        at_patient_share=gaze.at_patient_share if gaze.at_patient_share is not None
        else _lerp(AT_PATIENT_SHARE, i),
        mutual_dwell_s=gaze.mutual_dwell_s if gaze.mutual_dwell_s is not None else _lerp(MUTUAL_DWELL_S, i),
        saccade_interval_s=gaze.saccade_interval_s,
        head_follow_deg=gaze.head_follow_deg,
        dialogue_intensity=min(dialogue_i, safety.max_intensity),
        lines_per_min=dia.lines_per_min if dia.lines_per_min is not None else _lerp(LINES_PER_MIN, i),
    )
