"""Shared helpers: profiles built from dicts, sessions stepped with fixed inputs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ci_rules import (  # noqa: F401 - the suite's rules (tests/ci_rules.py) as hooks
    pytest_collection_modifyitems, pytest_configure, pytest_make_collect_report, pytest_runtest_makereport,
)
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


def offscreen_or_skip(start):
    """``start()`` an offscreen renderer for a test. On a person's machine without offscreen
    OpenGL the test skips; under CI (``CI=true``, where scripts/setup.sh installs EGL and Mesa)
    it fails."""
    import os

    try:
        return start()
    except RuntimeError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must render offscreen (scripts/setup.sh --test installs EGL and Mesa): {e}")
        pytest.skip(f"no offscreen OpenGL here: {e}")


def grab_rgb(base, frames: int = 2):
    """Render ``frames`` frames; the window's image as an (h, w, 3) uint8 array, top row first
    (two frames by default, so a change made before the call is surely drawn)."""
    import numpy as np

    for _ in range(frames):
        base.graphicsEngine.renderFrame()
    tex = base.win.getScreenshot()
    data = np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8)
    return data.reshape(tex.getYSize(), tex.getXSize(), 3)[::-1].copy()   # texture rows run bottom-up


def wait_for_event(out: Path, kind: str, timeout_s: float = 30.0, count: int = 1) -> bool:
    """Wait until the record in ``out`` holds ``count`` events of ``kind`` (the writer flushes every 0.1 s)."""
    needle = f'"kind":"{kind}"'
    events = out / "events.jsonl"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if events.exists() and events.read_text(encoding="utf-8").count(needle) >= count:
            return True
        time.sleep(0.1)
    return False


def _listening(path: str) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


@pytest.fixture
def display():
    """A virtual X display (Xvfb) for tests of real windows; its name, e.g. ':93'."""
    import os
    import shutil
    import subprocess
    import time

    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is needed (scripts/setup.sh installs it)")
    number = 90 + os.getpid() % 9
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30.0
    while not _listening(f"/tmp/.X11-unix/X{number}") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)   # until the server accepts a connection on its socket
    assert proc.poll() is None and _listening(f"/tmp/.X11-unix/X{number}"), "Xvfb did not start"
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


from xr_runtime.plugin import xr_runtime  # noqa: E402,F401  (pytest fixture: the OpenXR test runtime)
