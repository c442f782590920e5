"""Exposure profiles: a clinician's graded hierarchy of steps, with safety caps.

The models here are pure data. How an ``intensity`` becomes distances, gaze shares and dialogue
rates is decided in one place, ``vr.sim.params``; the fields below only say what was written.
A field left out (``None`` in an override block) follows the step's ``intensity`` knob.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from vr.config.fields import Model, param
from vr.config.physiology import PhysiologyConfig

MOOD_NAMES = ("attentive", "bored", "hostile", "friendly", "neutral")
MoodName = Literal["attentive", "bored", "hostile", "friendly", "neutral"]

SHARE_TOLERANCE = 0.02
HALL = ("Hall (1966) proxemic zones: intimate < 0.46 m, personal 0.46-1.22 m, "
        "social 1.2-3.6 m, public > 3.6 m")


class SafetyConfig(Model):
    """Hard caps enforced by the session core itself, whatever a UI or a clinician asks."""

    min_distance_m: float = param(
        0.8, "No virtual human ever comes closer than this to the patient's head (floor-plane distance).",
        ge=0.3, le=5.0, evidence=HALL + "; 0.8 m keeps every human outside the intimate zone")
    max_intensity: float = param(
        0.9, "Ceiling on the intensity knob, for steps and for clinician overrides alike.", ge=0.0, le=1.0)
    suds_ceiling: int = param(
        85, "If the patient's SUDS stays above this for ceiling_hold_s, the session steps down one step.",
        ge=10, le=100, evidence="SUDS 0-100 (Wolpe 1969); exposure aims at moderate, not maximal, distress")
    ceiling_hold_s: float = param(
        10.0, "How long SUDS must stay above suds_ceiling before the automatic step-down.", ge=0.0, le=600.0)
    max_session_min: float = param(
        45.0, "The session ends in the safe scene after this many minutes.", ge=1.0, le=180.0,
        evidence="virtual-reality exposure sessions in trials commonly last 20-60 minutes")
    safe_scene: str = param(
        "calm_room", "Scene shown on panic, stop and session end (a file in scenes/).",
        min_length=1, max_length=80, pattern=r"^[a-z0-9_]+$")


class RatingsConfig(Model):
    """When the patient is asked for ratings (the clinician can always ask in between)."""

    suds_every_s: float = param(
        120.0, "Ask for a SUDS rating (0-100) this often; 0 asks only when the clinician does.",
        ge=0.0, le=3600.0, evidence="SUDS is commonly taken every 2-5 minutes during exposure")
    pain_every_s: float = param(
        0.0, "Ask for a pain rating (0-10) this often; 0 asks only when the clinician does.",
        ge=0.0, le=3600.0)


class ProximityConfig(Model):
    """Where the virtual humans stand or sit relative to the patient; unset follows intensity."""

    distance_m: float | None = param(
        None, "Target floor-plane distance from the patient (intensity 0 -> 5.0 m, 1 -> 1.2 m).",
        ge=0.3, le=20.0, evidence=HALL)
    approach_speed_mps: float | None = param(
        None, "Top walking speed while approaching (intensity 0 -> 0.3, 1 -> 0.8 m/s).", ge=0.05, le=1.5,
        evidence="comfortable human walking speed is about 1.3 m/s; slower reads as deliberate")
    max_accel_mps2: float = param(
        0.8, "Largest change of walking speed per second (no sudden starts or stops).", ge=0.1, le=3.0)


class GazeConfig(Model):
    """How the virtual humans look at the patient; unset follows intensity."""

    at_patient_share: float | None = param(
        None, "Share of time each human looks at the patient (intensity 0 -> 0.15, 1 -> 0.9).", ge=0.0, le=1.0)
    mutual_dwell_s: float | None = param(
        None, "Mean length of one look at the patient (intensity 0 -> 1.5 s, 0.5 -> 3.3 s, 1 -> 5.1 s).",
        ge=0.3, le=20.0, evidence="preferred mutual-gaze duration averages about 3.3 s (Binetti et al. 2016)")
    saccade_interval_s: float = param(
        0.45, "Mean time between small eye jumps while looking away.", ge=0.1, le=5.0,
        evidence="people make about 2-4 saccades per second; fixations last 0.2-0.5 s")
    head_follow_deg: float = param(
        15.0, "The head turns with the eyes once they look further than this off the head's direction.",
        ge=5.0, le=60.0, evidence="gaze shifts beyond about 15 degrees recruit the head (Freedman & Sparks 1997)")


class DialogueConfig(Model):
    """How much and how intensely the virtual humans speak; unset follows intensity."""

    intensity: float | None = param(
        None, "Line intensity band: 0 warm and encouraging, 0.5 neutral, 1 curt and critical.", ge=0.0, le=1.0)
    lines_per_min: float | None = param(
        None, "Lines the group starts per minute (intensity 0 -> 0.5, 1 -> 4).", ge=0.0, le=20.0)


class MoodSpec(Model):
    """A single mood for every human, or shares of a mixed audience that add up to 1."""

    shares: tuple[tuple[MoodName, float], ...] = Field(description="(mood, share) pairs adding up to 1")

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, cls) or (isinstance(value, dict) and set(value) == {"shares"}):
            return value
        if isinstance(value, str):
            if value not in MOOD_NAMES:
                raise PydanticCustomError("mood", "unknown mood {value!r}; use one of {names}, or {{mixed: {{...}}}}",
                                          {"value": value, "names": ", ".join(MOOD_NAMES)})
            return {"shares": ((value, 1.0),)}
        if isinstance(value, dict) and set(value) == {"mixed"} and isinstance(value["mixed"], dict):
            mixed = value["mixed"]
            for name, share in mixed.items():
                if name not in MOOD_NAMES:
                    raise PydanticCustomError("mood", "unknown mood {value!r} in mixed; use {names}",
                                              {"value": name, "names": ", ".join(MOOD_NAMES)})
                if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
                    raise PydanticCustomError("mood", "share of {value!r} must be a number from 0 to 1",
                                              {"value": name})
            total = sum(mixed.values())
            if not mixed or abs(total - 1.0) > SHARE_TOLERANCE:
                raise PydanticCustomError("mood", "mixed shares add up to {total:.3f}, not 1 (within 0.02); "
                                          "adjust them so they add up to 1",
                                          {"total": float(total)})
            # Thirds written as 0.33 are fine: shares are scaled to add up to exactly 1.
            return {"shares": tuple((k, float(v) / total) for k, v in mixed.items())}
        raise PydanticCustomError("mood", "mood must be a mood name or {mixed: {mood: share, ...}}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.shares)

    def to_yaml(self) -> Any:
        """The form a clinician would write (used by ``vr schema`` examples and tests)."""
        if len(self.shares) == 1:
            return self.shares[0][0]
        return {"mixed": dict(self.shares)}


class AdvanceConfig(Model):
    """When a step ends and the next begins: after a time, or once SUDS has settled."""

    after_s: float | None = param(None, "Advance after this many seconds in the step.", ge=1.0, le=7200.0)
    suds_at_most: int | None = param(
        None, "Advance once the latest SUDS is at or below this ...", ge=0, le=100,
        evidence="graded exposure moves on when anxiety has habituated (Foa & Kozak 1986)")
    held_s: float = param(60.0, "... and has stayed there this long.", ge=0.0, le=3600.0)
    min_s: float = param(0.0, "Never advance on SUDS before this many seconds in the step.", ge=0.0, le=7200.0)

    @model_validator(mode="before")
    @classmethod
    def _clinician_word(cls, value: Any) -> Any:
        if value == "clinician":
            return {}
        if isinstance(value, str):
            raise PydanticCustomError("advance", "advance_when is 'clinician' or a mapping such as "
                                      "{{suds_at_most: 40, held_s: 60}} or {{after_s: 120}}, not {value!r}",
                                      {"value": value})
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> AdvanceConfig:
        if self.after_s is not None and self.suds_at_most is not None:
            raise PydanticCustomError("advance", "give after_s or suds_at_most, not both")
        return self

    @model_validator(mode="after")
    def _timing_needs_rule(self) -> AdvanceConfig:
        if self.suds_at_most is None and ("held_s" in self.model_fields_set or "min_s" in self.model_fields_set):
            raise PydanticCustomError("advance", "held_s and min_s only apply with suds_at_most; "
                                      "add suds_at_most: N, or write advance_when: clinician")
        return self

    @property
    def clinician_only(self) -> bool:
        return self.after_s is None and self.suds_at_most is None


class RetreatConfig(Model):
    """When the session steps back down on its own (before the safety ceiling is reached)."""

    suds_at_least: int = param(..., "Step down once the latest SUDS is at or above this ...", ge=1, le=100)
    held_s: float = param(20.0, "... and has stayed there this long.", ge=0.0, le=3600.0)


class StepConfig(Model):
    """One rung of the hierarchy."""

    name: str = param(..., "What the clinician sees for this step.", min_length=1, max_length=120)
    note: str = param("", "Instructions or a reminder for the clinician.", max_length=2000)
    humans: int = param(0, "How many virtual humans are present.", ge=0, le=500)
    mood: MoodSpec = param(MoodSpec(shares=(("attentive", 1.0),)),
                           "attentive | bored | hostile | friendly | neutral, or {mixed: {mood: share}}",
                           evidence="an audience's impression follows the share of members showing a mood")
    intensity: float = param(0.3, "The one knob: 0 mild to 1 strongest; sets every unset aspect below.",
                             ge=0.0, le=1.0)
    proximity: ProximityConfig = param(ProximityConfig(), "Distance and approach; unset fields follow intensity.")
    gaze: GazeConfig = param(GazeConfig(), "Looking at the patient; unset fields follow intensity.")
    dialogue: DialogueConfig = param(DialogueConfig(), "Speaking; unset fields follow intensity.")
    duration_s: float | None = param(None, "Length of the step when advance_when is not given.",
                                     ge=1.0, le=7200.0)
    advance_when: AdvanceConfig | None = param(
        None, "'clinician', {after_s: S} or {suds_at_most: N, held_s: S}; none and no duration_s: clinician only.")
    retreat_when: RetreatConfig | None = param(None, "{suds_at_least: N, held_s: S}: step down on its own.")

    @model_validator(mode="after")
    def _duration_or_rule(self) -> StepConfig:
        if self.duration_s is not None and self.advance_when is not None:
            raise PydanticCustomError("step", "give duration_s or advance_when, not both "
                                      "(duration_s is short for advance_when: {{after_s: ...}})")
        return self

    @property
    def advance(self) -> AdvanceConfig:
        """The effective advance rule (``duration_s`` folded in)."""
        if self.advance_when is not None:
            return self.advance_when
        if self.duration_s is not None:
            return AdvanceConfig(after_s=self.duration_s)
        return AdvanceConfig()


class ProfileConfig(Model):
    """An exposure profile as a clinician writes it (see docs/profiles.md)."""

    schema_version: Literal[1] = param(..., "Always 1 for this version of the toolkit.")
    kind: Literal["exposure"] = param("exposure", "Profile kind.")
    name: str = param(..., "Title shown to the clinician.", min_length=1, max_length=120)
    description: str = param("", "What the profile is for and who it suits.", max_length=4000)
    scene: str = param(..., "Scene file (without .yaml) in scenes/.", min_length=1, max_length=80,
                       pattern=r"^[a-z0-9_]+$")
    safety: SafetyConfig = param(SafetyConfig(), "Hard caps enforced by the session core.")
    ratings: RatingsConfig = param(RatingsConfig(), "When ratings are asked for.")
    steps: tuple[StepConfig, ...] = param(..., "The graded hierarchy, mildest first.", min_length=1, max_length=50)
    physiology: PhysiologyConfig | None = param(
        None, "Rules on heart rate and skin conductance beside the SUDS rules (sensors or the synthetic patient).")
