"""Shared helpers: profiles built from dicts, sessions stepped with fixed inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vr.config import ProfileConfig, SceneConfig, load_profile, load_scene

ROOT = Path(__file__).resolve().parents[1]


def make_profile(steps: list[dict[str, Any]], **top: Any) -> ProfileConfig:
    """A profile for the auditorium from plain dicts, as a clinician would write it."""
    data = {"schema_version": 1, "name": "test", "scene": "auditorium", "steps": tuple(steps), **top}
    return ProfileConfig.model_validate(_tuples(data))


def _tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


@pytest.fixture(scope="session")
def auditorium() -> SceneConfig:
    return load_scene(ROOT / "scenes" / "auditorium.yaml").config


@pytest.fixture(scope="session")
def waiting_room() -> SceneConfig:
    return load_scene(ROOT / "scenes" / "waiting_room.yaml").config


@pytest.fixture(scope="session")
def speaking():
    return load_profile(ROOT / "exposure_profiles" / "public_speaking.yaml")
