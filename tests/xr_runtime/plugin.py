"""Pytest fixture that puts a fresh :class:`FakeRuntime` behind the real OpenXR loader.

``tests/conftest.py`` imports :func:`xr_runtime` from here.  This module imports
neither pyopenxr nor the runtime at import time (pyopenxr switches PyOpenGL's
platform when imported); they load when a test first asks for the fixture.
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .native import Shim
    from .runtime import FakeRuntime

_SHIM_KEY: pytest.StashKey[tuple[Shim, Path]] = pytest.StashKey()
_COUNT_KEY: pytest.StashKey[int] = pytest.StashKey()
HANDLE_RANGE = 0x100000


class XrLeakWarning(UserWarning):
    """A test left an OpenXR instance alive; the fixture destroyed it."""


def missing_manifest(tmp_path: Path) -> Path:
    """A runtime manifest path that does not exist, for "no runtime installed" tests.

    Use as ``monkeypatch.setenv("XR_RUNTIME_JSON", str(missing_manifest(tmp_path)))``.
    """
    return tmp_path / "no_such_runtime" / "openxr_runtime.json"


def _shim(request: pytest.FixtureRequest) -> tuple[Shim, Path]:
    """The compiled shim and its manifest, built once per pytest session."""
    stash = request.config.stash
    if _SHIM_KEY not in stash:
        from .native import Shim, build_shim, find_compiler, write_manifest

        if find_compiler() is None:
            pytest.skip("no C compiler (cc or gcc) on PATH to build the OpenXR test runtime shim")
        out_dir = request.getfixturevalue("tmp_path_factory").mktemp("xr_runtime")
        library = build_shim(out_dir)
        stash[_SHIM_KEY] = (Shim(library), write_manifest(out_dir, library))
    return stash[_SHIM_KEY]


@pytest.fixture
def xr_runtime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRuntime]:
    """A fresh test runtime that the OpenXR loader will find (``XR_RUNTIME_JSON`` is set).

    Configure its attributes before the code under test creates an instance.
    At teardown, instances the test left alive are destroyed (with an
    :class:`XrLeakWarning`) so the loader's one-instance limit does not leak
    into the next test.
    """
    from .runtime import FakeRuntime

    shim, manifest = _shim(request)
    count = request.config.stash.get(_COUNT_KEY, 0) + 1
    request.config.stash[_COUNT_KEY] = count
    runtime = FakeRuntime(handle_base=count * HANDLE_RANGE)
    monkeypatch.setenv("XR_RUNTIME_JSON", str(manifest))
    shim.install(runtime)
    try:
        yield runtime
    finally:
        _destroy_leftovers(runtime)
        _unload_from_loader(runtime)
        runtime.submissions.clear()
        shim.uninstall()


def _destroy_leftovers(runtime: FakeRuntime) -> None:
    import xr

    for handle in runtime.live_instances:
        warnings.warn(XrLeakWarning(f"test left OpenXR instance {handle:#x} alive; destroying it"), stacklevel=1)
        instance = ctypes.cast(ctypes.c_void_p(handle), xr.Instance)
        xr.raw_functions.xrDestroyInstance(instance)


def _unload_from_loader(runtime: FakeRuntime) -> None:
    """Leave the loader with no runtime loaded, as at the start of a process.

    The loader loads the runtime on first use (even just to list extensions) and unloads it only
    when an instance is destroyed; an app that looked and gave up (a refused extension) leaves it
    loaded, with function pointers into this test's runtime. One bare instance, created and
    destroyed while this runtime still answers, brings the count back to zero.
    """
    import xr

    runtime.extensions.setdefault("XR_KHR_opengl_enable", 10)
    try:
        instance = xr.create_instance(xr.InstanceCreateInfo())
    except xr.XrException:
        return
    xr.destroy_instance(instance)
