"""An OpenXR runtime for tests: a C shim the real loader loads, with the runtime written in Python.

Use the ``xr_runtime`` pytest fixture (``plugin.py``); it yields a
:class:`FakeRuntime` (``runtime.py`` documents its knobs and records).  Names
below load lazily so that importing this package does not import pyopenxr.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FakeRuntime": ".runtime",
    "ControllerState": ".records",
    "InstanceInfo": ".records",
    "Submission": ".records",
    "SubmittedView": ".records",
    "Pose": ".poses",
    "EglContext": ".egl",
    "EglUnavailable": ".egl",
    "missing_manifest": ".plugin",
}

__all__ = [
    "ControllerState",
    "EglContext",
    "EglUnavailable",
    "FakeRuntime",
    "InstanceInfo",
    "Pose",
    "Submission",
    "SubmittedView",
    "missing_manifest",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
