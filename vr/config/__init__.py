"""Validated, frozen models of the clinician's YAML files, with ``file:line:col`` errors.

Offers ``load_profile``, ``load_scene``, ``validate_file``, the models (``ProfileConfig``,
``SceneConfig`` and their parts) and ``ConfigError``/``Problem``. Imports only pydantic and
PyYAML: never the engine, the headset runtime or the ML stack.
"""

from vr.config.checks import expand_spawns
from vr.config.errors import ConfigError, Problem
from vr.config.load import LoadedProfile, LoadedScene, default_scene_dirs, load_profile, load_scene, validate_file
from vr.config.profile import (
    MOOD_NAMES, AdvanceConfig, DialogueConfig, GazeConfig, MoodSpec, ProfileConfig, ProximityConfig,
    RatingsConfig, RetreatConfig, SafetyConfig, StepConfig,
)
from vr.config.scene import SceneConfig, SpawnConfig

__all__ = [
    "MOOD_NAMES", "AdvanceConfig", "ConfigError", "DialogueConfig", "GazeConfig", "LoadedProfile",
    "LoadedScene", "MoodSpec", "Problem", "ProfileConfig", "ProximityConfig", "RatingsConfig",
    "RetreatConfig", "SafetyConfig", "SceneConfig", "SpawnConfig", "StepConfig", "default_scene_dirs",
    "expand_spawns", "load_profile", "load_scene", "validate_file",
]
