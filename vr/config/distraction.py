"""Distraction profiles: a gentle game during a painful procedure, and the procedure's phases.

A distraction profile (``kind: distraction``) names a scene (a snowy canyon, a reef), the game
(targets, speeds, spawn rates), how difficulty adapts to keep the patient succeeding, the
glide through the scene within comfort limits, a companion, a breathing pacer, the procedure's
phases with their expected lengths, and when pain is rated. The reference is SnowWorld:
head-aimed throwing at targets along a slow glide, deliberately simple for medicated patients.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from vr.config.fields import Model, param

SNOWWORLD = ("Hoffman et al. 2000, 2011: SnowWorld reduced procedural pain in burn care by about 35-50 %, "
             "head-aimed snowball throwing on a slow glide")
COMFORT = ("constant, slow self-motion with little acceleration or rotation keeps simulator sickness low "
           "(LaViola 2000; Kemeny et al. 2017)")
MAX_SPEED_MPS = 3.0
MAX_ACCEL_MPS2 = 0.3
MAX_TURN_DEG_S = 10.0


class GameConfig(Model):
    """What the patient does: aim at targets and throw at them (or light them up)."""

    action: Literal["throw", "light"] = param("throw", "Throw snowballs at targets, or light them up (fish on a reef).")
    aim: Literal["head", "controller", "either"] = param("either", "Aim with the head (a reticle) or a controller.")
    select: Literal["dwell", "trigger", "either"] = param(
        "either", "A target is hit by looking at it for dwell_s, by the trigger, or by either.")
    dwell_s: float = param(0.8, "Look this long at a target to hit it.", ge=0.2, le=5.0)
    max_targets: int = param(6, "Targets in view at once, at most.", ge=1, le=30)
    distance_m: tuple[float, float] = param((7.0, 20.0), "Targets appear this far ahead of the patient (near, far).")
    radius_easy_m: float = param(0.9, "Target radius at difficulty 0 (the easiest).", ge=0.1, le=3.0)
    radius_hard_m: float = param(0.2, "Target radius at difficulty 1 (the hardest).", ge=0.05, le=3.0)
    drift_easy_mps: float = param(0.1, "How fast targets drift sideways at difficulty 0.", ge=0.0, le=3.0)
    drift_hard_mps: float = param(1.4, "How fast targets drift sideways at difficulty 1.", ge=0.0, le=3.0)
    spawn_per_min_easy: float = param(18.0, "Targets appearing per minute at difficulty 0.", ge=1.0, le=120.0)
    spawn_per_min_hard: float = param(36.0, "Targets appearing per minute at difficulty 1.", ge=1.0, le=120.0)
    life_easy_s: float = param(14.0, "A target not hit leaves after this long at difficulty 0.", ge=2.0, le=120.0)
    life_hard_s: float = param(5.0, "... at difficulty 1.", ge=1.0, le=120.0)

    @model_validator(mode="after")
    def _ranges(self) -> "GameConfig":
        near, far = self.distance_m
        if not 2.0 <= near < far <= 60.0:
            raise ValueError("distance_m is (near, far) with 2 <= near < far <= 60 metres")
        return self


class DifficultyConfig(Model):
    """Difficulty adapts so the patient keeps succeeding without it becoming trivial."""

    start: float = param(0.3, "Difficulty at the start, 0 (easiest) to 1.", ge=0.0, le=1.0)
    target_hit_rate: tuple[float, float] = param(
        (0.6, 0.8), "The band of hit rate (hits over targets that came and went) to keep the patient in.",
        evidence="success keeps attention on the game; too easy or too hard lets it drift back to the pain")
    window_s: float = param(40.0, "The hit rate is measured over this many recent seconds.", ge=5.0, le=600.0)
    adjust_every_s: float = param(6.0, "How often difficulty is adjusted.", ge=1.0, le=120.0)
    step: float = param(0.06, "How much one adjustment changes difficulty.", ge=0.005, le=0.5)

    @model_validator(mode="after")
    def _band(self) -> "DifficultyConfig":
        low, high = self.target_hit_rate
        if not 0.05 <= low < high <= 0.99:
            raise ValueError("target_hit_rate is (low, high) with 0.05 <= low < high <= 0.99")
        return self


class GlideConfig(Model):
    """The slow ride through the scene; every limit is enforced in the session core."""

    speed_mps: float = param(1.2, "Cruising speed along the scene's path.", ge=0.0, le=MAX_SPEED_MPS,
                             evidence=SNOWWORLD)
    max_accel_mps2: float = param(0.15, "Speed never changes faster than this.", ge=0.01, le=MAX_ACCEL_MPS2,
                                  evidence=COMFORT)
    max_turn_deg_s: float = param(4.0, "The heading never turns faster than this.", ge=0.5, le=MAX_TURN_DEG_S,
                                  evidence=COMFORT)


class CompanionConfig(Model):
    """A friendly guide who cheers and encourages with authored lines (dialogue/companion.yaml)."""

    enabled: bool = param(True, "Whether the companion is there.")
    lines_per_min: float = param(1.5, "How often the companion speaks on its own.", ge=0.0, le=10.0)


class BreathingConfig(Model):
    """A pacer ring that grows and shrinks with slow breathing; the clinician switches it on."""

    breaths_per_min: float = param(6.0, "Breathing rate the pacer shows.", ge=3.0, le=12.0,
                                   evidence="slow breathing at about 6 per minute (resonance breathing) "
                                            "lowers arousal and pain ratings (Zautra et al. 2010)")
    inhale_share: float = param(0.4, "Share of each breath spent breathing in.", ge=0.2, le=0.6)
    on_at_start: bool = param(False, "Show the pacer from the start.")


class PhaseConfig(Model):
    """One phase of the procedure, which the clinician marks as it starts and ends."""

    name: str = param(..., "What happens (e.g. 'Remove old dressing').", min_length=1, max_length=80)
    expected_min: float = param(..., "How long it usually takes, in minutes.", gt=0.0, le=240.0)


class PainRatingsConfig(Model):
    """When pain (0-10) is asked for; the clinician can always ask too."""

    before: bool = param(True, "Ask at the start, before the first phase.")
    after: bool = param(True, "Ask when the last phase has ended.")
    every_s: float = param(0.0, "Also ask this often during the procedure (0: only when the clinician asks).",
                           ge=0.0, le=3600.0)


class DistractionSafetyConfig(Model):
    """Caps enforced by the session core."""

    max_session_min: float = param(60.0, "The session ends in the safe scene after this many minutes.",
                                   ge=1.0, le=240.0)
    safe_scene: str = param("calm_room", "Scene shown on panic, stop and session end.", min_length=1,
                            max_length=80, pattern=r"^[a-z0-9_]+$")


class DistractionProfileConfig(Model):
    """A distraction profile as a clinician writes it (see docs/distraction.md)."""

    schema_version: Literal[1] = param(..., "Always 1 for this version of the toolkit.")
    kind: Literal["distraction"] = param(..., "Profile kind.")
    name: str = param(..., "Title shown to the clinician.", min_length=1, max_length=120)
    description: str = param("", "What the profile is for and who it suits.", max_length=4000)
    scene: str = param(..., "Distraction scene (a file in scenes/ with kind: distraction).", min_length=1,
                       max_length=80, pattern=r"^[a-z0-9_]+$")
    safety: DistractionSafetyConfig = param(DistractionSafetyConfig(), "Caps enforced by the session core.")
    game: GameConfig = param(GameConfig(), "The game.")
    difficulty: DifficultyConfig = param(DifficultyConfig(), "How difficulty adapts.")
    glide: GlideConfig = param(GlideConfig(), "The ride through the scene.")
    companion: CompanionConfig = param(CompanionConfig(), "The companion.")
    breathing: BreathingConfig = param(BreathingConfig(), "The breathing pacer.")
    phases: tuple[PhaseConfig, ...] = param(..., "The procedure's phases, in order.", min_length=1, max_length=30)
    pain: PainRatingsConfig = param(PainRatingsConfig(), "When pain is rated.")
