"""The headset backend under the Khronos core validation layer, through pyopenxr's real loader.

Each run is a process of its own (``tests/xr_runtime/layered.py``): the loader loads the layer
between the app and the test runtime, the layer writes every valid-usage message to a file, and
the test reads it. Two copies of the layer are used:

- the system's (Debian: ``openxr-layer-corevalidation``, which ``scripts/setup.sh --test``
  installs), with the desktop mirror window's GLX context as the graphics binding, on a virtual
  display: Debian's build (OpenXR 1.0.20) knows no XR_USE_PLATFORM_EGL, so it refuses every
  ``XrGraphicsBindingEGLMNDX`` as an unknown structure;
- pyopenxr's own (OpenXR 1.1, built with EGL), headless, with the EGL binding.

That the layer is really there is shown in the same module: a run with two deliberate misuses
that the layer reports and stops before the runtime sees them.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

xr = pytest.importorskip("xr")

from test_xr_runtime import App, egl  # noqa: E402,F401  (a well-behaved app; its EGL fixture)
from xr_runtime import FakeRuntime  # noqa: E402
from xr_runtime.layered import layer_library, messages, packaged_layer_dir, system_layer_dir  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler to build the test OpenXR runtime's loader shim")

HOST = ROOT / "tests" / "xr_runtime" / "layered.py"
PROFILES = ("khr/simple_controller", "oculus/touch_controller", "valve/index_controller", "htc/vive_controller",
            "microsoft/motion_controller")


@pytest.fixture(params=["system", "pyopenxr"])
def leg(request) -> tuple[Path, str | None]:
    """(folder of the layer's manifest, X display or None for headless EGL)."""
    if request.param == "system":
        folder = system_layer_dir()
        if folder is None:
            pytest.skip("the OpenXR core validation layer is not installed (Debian: openxr-layer-corevalidation; "
                        "scripts/setup.sh --test installs it)")
        return folder, request.getfixturevalue("display")
    folder = packaged_layer_dir()
    if folder is None:
        pytest.skip("this pyopenxr ships no core validation layer for this platform")
    return folder, None


def run_layered(tmp_path: Path, scenario: str, leg: tuple[Path, str | None]) -> tuple[dict, list[dict]]:
    """Run ``scenario`` under the layer; the host's report and the layer's messages."""
    folder, display = leg
    env = {k: v for k, v in os.environ.items() if not k.startswith("XR_") and k != "DISPLAY"}
    env["VR_AUDIO"] = "off"
    if display:
        env["DISPLAY"] = display
    work = tmp_path / scenario
    proc = subprocess.run([sys.executable, str(HOST), str(work), scenario, "--layers-from", str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # The layer was loaded in this run: its library was mapped into the process while it ran.
    assert str(layer_library(folder)) in got["layers"], got["layers"]
    log = work / "validation.txt"
    return got, messages(log.read_text(errors="replace") if log.exists() else "")


def problems(found: list[dict]) -> list[dict]:
    return [m for m in found if m["severity"] in ("VALID_ERROR", "VALID_WARNING")]


def test_the_layer_is_active_it_reports_and_stops_deliberate_misuse(tmp_path, leg):
    got, found = run_layered(tmp_path, "misuse", leg)
    assert got["raised"] == ["ValidationFailureError", "HandleInvalidError"]
    vuids = {m["vuid"] for m in problems(found)}
    assert {"VUID-XrSystemGetInfo-type-type", "VUID-xrDestroySpace-space-parameter"} <= vuids, found
    # Refused in the layer: the runtime saw only the app's own, correct xrGetSystem, and no xrDestroySpace.
    assert got["calls"]["xrGetSystem"] == 1 and "xrDestroySpace" not in got["calls"]
    assert got["violations"] == [] and got["errors"] == []


def test_the_whole_lifecycle_and_every_controller_family_validate_clean(tmp_path, leg):
    # create, begin, frames; focus lost and back; headset off and on; the runtime's recenter; the
    # menu button; a rating by controller (with a buzz); each controller family in turn; the app's exit.
    got, found = run_layered(tmp_path, "lifecycle", leg)
    assert problems(found) == []
    assert got["violations"] == [] and got["errors"] == []
    assert got["ended"] == "run_finished" and got["binding"] == ("xlib" if leg[1] else "egl")
    assert got["states"] == ["IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "VISIBLE", "FOCUSED", "VISIBLE",
                             "SYNCHRONIZED", "VISIBLE", "FOCUSED", "VISIBLE", "SYNCHRONIZED", "STOPPING", "IDLE",
                             "EXITING"]
    for family in PROFILES:  # each was bound, and drove the app's controller state
        seen = got["seen"][f"/interaction_profiles/{family}"]
        assert seen["frames"] > 0 and seen["thumbstick"] == (family != "khr/simple_controller"), (family, seen)
    assert got["haptics"] > 0 and got["calls"]["xrEndSession"] == 1 and got["calls"]["xrDestroyInstance"] == 1


@pytest.mark.parametrize("scenario, ended, last", [("exit", "headset_exit", "EXITING"),
                                                   ("loss", "headset_lost", "LOSS_PENDING"),
                                                   ("instance_loss", "headset_lost", "EXITING")])
def test_endings_the_runtime_chooses_validate_clean(tmp_path, leg, scenario, ended, last):
    got, found = run_layered(tmp_path, scenario, leg)
    assert problems(found) == []
    assert got["violations"] == [] and got["errors"] == []
    assert got["ended"] == ended and got["states"][-1] == last
    assert got["calls"]["xrDestroyInstance"] == 1


# -- the test runtime refuses, by itself, what the layer refuses (without the layer in between) -------

def _refused(runtime: FakeRuntime, error: type, call) -> None:
    with pytest.raises(error):
        call()
    assert len(runtime.violations) == 1, runtime.violations
    runtime.violations.clear()


def test_flags_must_be_zero_or_defined_bits(xr_runtime, egl):  # noqa: F811
    # (An instance's createFlags the loader checks itself.)
    app = App(egl)
    try:
        bad = xr.SessionCreateInfo(system_id=app.system, next=app.binding)
        bad._create_flags = 1
        _refused(xr_runtime, xr.ValidationFailureError, lambda: xr.create_session(app.instance, bad))
        second = egl.graphics_binding()
        app.binding.next = ctypes.cast(ctypes.pointer(second), ctypes.c_void_p)
        _refused(xr_runtime, xr.ValidationFailureError, app.create_session)  # two graphics bindings
        app.binding.next = None
        app.create_session()
        chain = dict(format=0x8058, sample_count=1, width=16, height=16, face_count=1, array_size=1, mip_count=1)
        _refused(xr_runtime, xr.ValidationFailureError, lambda: xr.create_swapchain(
            app.session, xr.SwapchainCreateInfo(usage_flags=0x1000, **chain)))
        static = xr.create_swapchain(app.session, xr.SwapchainCreateInfo(
            create_flags=xr.SwapchainCreateFlags.STATIC_IMAGE_BIT, **chain))
        assert len(xr.enumerate_swapchain_images(static, xr.SwapchainImageOpenGLKHR)) == 1
        xr.acquire_swapchain_image(static)
        xr.wait_swapchain_image(static, xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION))
        xr.release_swapchain_image(static)
        _refused(xr_runtime, xr.CallOrderInvalidError, lambda: xr.acquire_swapchain_image(static))
        space = app.reference_space(xr.ReferenceSpaceType.LOCAL)
        app.begin()

        def render(state):
            xr.acquire_swapchain_image(chain_handle)
            xr.wait_swapchain_image(chain_handle, xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION))
            xr.release_swapchain_image(chain_handle)
            sub = xr.SwapchainSubImage(chain_handle, xr.Rect2Di(extent=xr.Extent2Di(16, 16)))
            views = [xr.CompositionLayerProjectionView(pose=xr.Posef(), fov=xr.Fovf(-1, 1, 1, -1), sub_image=sub)
                     for _ in range(2)]
            layer = xr.CompositionLayerProjection(space=space, views=views)
            layer._layer_flags = 0x100
            return [ctypes.pointer(layer)]

        chain_handle = xr.create_swapchain(app.session, xr.SwapchainCreateInfo(**chain))
        _refused(xr_runtime, xr.ValidationFailureError, lambda: app.frame(render=render))
        assert xr_runtime.errors == []
    finally:
        app.close()


def test_paths_and_action_sets_follow_the_spec(xr_runtime, egl):  # noqa: F811
    app = App(egl)
    try:
        app.create_session()
        path = lambda text: xr.string_to_path(app.instance, text)  # noqa: E731
        _refused(xr_runtime, xr.PathFormatInvalidError, lambda: path("/user/" + "a" * 250))
        hand = path("/user/hand/left")
        action_set = xr.create_action_set(app.instance, xr.ActionSetCreateInfo("main", "Main", 0))
        _refused(xr_runtime, xr.PathUnsupportedError, lambda: xr.create_action(action_set, xr.ActionCreateInfo(
            "pick", xr.ActionType.BOOLEAN_INPUT, subaction_paths=[hand, hand], localized_action_name="Pick")))
        _refused(xr_runtime, xr.ValidationFailureError, lambda: xr.attach_session_action_sets(
            app.session, xr.SessionActionSetsAttachInfo(action_sets=[])))
        assert xr_runtime.errors == []
    finally:
        app.close()
