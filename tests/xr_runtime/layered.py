"""The headset backend against the test runtime with an OpenXR API layer loaded between them.

A process of its own (the loader reads its layer settings once, when the instance is created):

    python tests/xr_runtime/layered.py WORKDIR SCENARIO [--layer core_validation|api_dump]
                                       [--layers-from system|pyopenxr|DIR]

Scenarios: ``lifecycle`` (create, begin, frames, focus lost and back, headset off and on, the
runtime's recenter, the menu button, a rating by controller under each controller family the app
binds, the app's own exit), ``exit`` (the runtime asks to quit), ``loss`` (session loss pending),
``instance_loss``, ``short`` (a handful of frames, for an API dump) and ``misuse`` (two deliberate
errors, to show that the layer is really there: a struct of the wrong type and a bad handle).

``--layers-from``: the folder of layer manifests to use, and only it (pyopenxr adds the folder of
the layers it ships when imported; with both, the loader would load two copies of one layer):
``system`` (the default: Debian's openxr-layer-corevalidation and openxr-layer-apidump),
``pyopenxr`` (the layers pyopenxr ships) or a folder. Debian's layers (OpenXR 1.0.20) are built
without EGL and refuse an EGL graphics binding: run them with a display (the GLX binding).

The layer writes to WORKDIR/validation.txt (core_validation) or WORKDIR/api_dump.txt. Prints one
JSON object: the layer libraries mapped into this process, the runtime's violations, errors and
states, what each controller family did.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import sys
from pathlib import Path

LAYERS = {"core_validation": "XR_APILAYER_LUNARG_core_validation", "api_dump": "XR_APILAYER_LUNARG_api_dump"}
SYSTEM_LAYER_DIRS = ("/usr/share/openxr/1/api_layers/explicit.d", "/usr/local/share/openxr/1/api_layers/explicit.d",
                     "/etc/openxr/1/api_layers/explicit.d")
PROFILE_PATH = Path(__file__).resolve().parents[2] / "exposure_profiles" / "waiting_room_stranger.yaml"
SCENARIOS = ("lifecycle", "exit", "loss", "instance_loss", "short", "misuse")
_MESSAGE = re.compile(r"\[(VALID_[A-Z]+) \| ([^|\]]+?) \| ([^\]]*?)\] ?: ?(.*)")


def _manifest_names(folder: Path) -> dict[str, Path]:
    """Layer name -> library path for each readable manifest in ``folder`` whose library exists."""
    found = {}
    for manifest in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            layer = json.loads(manifest.read_text())["api_layer"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        library = Path(layer.get("library_path", ""))
        library = library if library.is_absolute() else manifest.parent / library
        if library.exists():
            found[layer.get("name", "")] = library.resolve()
    return found


def system_layer_dir(layer: str = "core_validation") -> Path | None:
    """The system folder whose manifest names ``layer`` (Debian: openxr-layer-corevalidation), or None."""
    for folder in SYSTEM_LAYER_DIRS:
        if LAYERS[layer] in _manifest_names(Path(folder)):
            return Path(folder)
    return None


def packaged_layer_dir(layer: str = "core_validation") -> Path | None:
    """The folder of the layers pyopenxr ships (built with EGL support), or None."""
    try:
        from xr.platform_folder import platform_folder
        from xr.resources import resource_filename
    except ImportError:
        return None
    folder = Path(resource_filename("xr.api_layer", platform_folder()[0]))
    return folder if LAYERS[layer] in _manifest_names(folder) else None


def layer_library(folder: Path, layer: str = "core_validation") -> Path:
    return _manifest_names(folder)[LAYERS[layer]]


def messages(text: str) -> list[dict[str, str]]:
    """The core validation layer's messages: severity (VALID_ERROR, ...), VUID, command, message."""
    found = []
    for line in text.splitlines():
        match = _MESSAGE.search(line)
        if match:
            severity, vuid, command, message = match.groups()
            found.append({"severity": severity, "vuid": vuid.strip(), "command": command.strip(), "message": message})
    return found


def _mapped_layers() -> list[str]:
    """API layer libraries mapped into this process (the proof that the loader loaded them)."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return sorted({line.split()[-1] for line in maps if "libXrApiLayer_" in line})


def _watch_layers(mapped: list[str]):
    """An ``on_loop`` that notes, in the first frame, the layer libraries mapped (the loader unloads
    them with the instance)."""

    def script(loop):
        def note(task):
            mapped.extend(_mapped_layers())
            return task.done

        loop.base.taskMgr.add(note, "test-layers", sort=-1000)

    return script


def _lifecycle(runtime, profiles: list[str], seen: dict[str, dict], mapped: list[str]):
    """The frame-by-frame script of the lifecycle scenario: an ``on_loop`` for run_rendered."""
    from vr.sim import Command

    watch = _watch_layers(mapped)
    for frame, incident in ((70, "unfocus"), (78, "focus"), (86, "hide"), (100, "focus"), (110, "recenter")):
        runtime.schedule(frame, incident)
    left, right = runtime.controllers["left"], runtime.controllers["right"]

    def script(loop):
        watch(loop)
        loop.submit(Command("ask_rating", text="suds", id="ask-1"))

        def drive(task):
            f = loop.frames
            runtime.interaction_profile = profiles[min(f // 12, len(profiles) - 1)]
            right.thumbstick = (1.0, 0.0) if f % 12 in (2, 3, 4) else (0.0, 0.0)
            right.trigger = 1.0 if 56 <= f < 60 else 0.0
            left.menu = 120 <= f < 124
            controllers = loop.backend.controllers
            state = loop.backend.controllers_state.get("right")
            if controllers is not None and state is not None and state.active:
                entry = seen.setdefault(controllers.current_profile("right"), {"frames": 0, "thumbstick": False})
                entry["frames"] += 1
                entry["thumbstick"] |= state.thumbstick[0] > 0.5
            return task.cont

        loop.base.taskMgr.add(drive, "test-drive", sort=-1000)

    return script


def _misuse(mapped: list[str]) -> list[str]:
    """Two calls the spec forbids, made straight through pyopenxr; returns the errors they raised."""
    import xr

    from vr.backends.openxr.instance import open_instance

    instance, _, _ = open_instance(headless=True, app_name="vr misuse")
    mapped.extend(_mapped_layers())
    raised = []
    try:
        wrong = xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY)
        wrong.type = xr.StructureType.SYSTEM_PROPERTIES  # the wrong XrStructureType for XrSystemGetInfo
        for call in (lambda: xr.get_system(instance, wrong),
                     lambda: xr.destroy_space(ctypes.cast(ctypes.c_void_p(0xBAD5BACE), xr.Space))):
            try:
                call()
                raised.append("")
            except xr.XrException as e:
                raised.append(type(e).__name__)
    finally:
        xr.destroy_instance(instance)
    return raised


def main(workdir: Path, scenario: str, layer: str, layers_from: str = "system") -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import xr  # noqa: F401  (first: it adds its own layer folder to XR_API_LAYER_PATH, replaced below)

    if layers_from in ("system", "pyopenxr"):
        folder = (system_layer_dir if layers_from == "system" else packaged_layer_dir)(layer)
    else:
        folder = Path(layers_from)
    if folder is None or LAYERS[layer] not in _manifest_names(folder):
        raise SystemExit(f"no {LAYERS[layer]} manifest in {layers_from} "
                         f"(system: {', '.join(SYSTEM_LAYER_DIRS)}; Debian: openxr-layer-corevalidation)")
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["XR_API_LAYER_PATH"] = str(folder)
    os.environ["XR_ENABLE_API_LAYERS"] = LAYERS[layer]
    if layer == "core_validation":
        os.environ["XR_CORE_VALIDATION_EXPORT_TYPE"] = "text"
        os.environ["XR_CORE_VALIDATION_FILE_NAME"] = str(workdir / "validation.txt")
    else:
        os.environ["XR_API_DUMP_EXPORT_TYPE"] = "text"
        os.environ["XR_API_DUMP_FILE_NAME"] = str(workdir / "api_dump.txt")

    from vr.backends.openxr.controllers import PROFILES
    from xr_runtime.native import Shim, build_shim, write_manifest
    from xr_runtime.runtime import FakeRuntime

    library = build_shim(workdir / "shim")
    os.environ["XR_RUNTIME_JSON"] = str(write_manifest(workdir / "shim", library))
    runtime = FakeRuntime(handle_base=0x100000)
    shim = Shim(library)
    shim.install(runtime)
    out: dict = {"scenario": scenario, "layer_dir": str(folder)}
    mapped: list[str] = []
    if scenario == "misuse":
        out["raised"] = _misuse(mapped)
    else:
        from vr.app.run import run_rendered
        from vr.config import load_profile

        profiles = list(PROFILES)
        seen: dict[str, dict] = {}
        on_loop, seconds = _watch_layers(mapped), 1.0
        if scenario == "lifecycle":
            on_loop, seconds = _lifecycle(runtime, profiles, seen, mapped), 1.8
        elif scenario == "short":
            seconds = 0.05
        else:
            runtime.schedule(20, {"exit": "user_exit", "loss": "loss_pending"}.get(scenario, scenario))
            seconds = 10.0
        result = run_rendered(load_profile(PROFILE_PATH), backend_kind="openxr", seconds=seconds, seed=5,
                              out=workdir / "record", pseudonym="XR-20", size=(320, 180), on_loop=on_loop,
                              dialogue=False)
        out.update(ended=result.ended, binding=runtime.binding, profiles=profiles, seen=seen,
                   haptics=len(runtime.haptics), submissions=len(runtime.submissions))
    out.update(layers=sorted(set(mapped)), violations=runtime.violations, errors=runtime.errors,
               states=[getattr(s, "name", str(s)) for s in runtime.states], calls=dict(runtime.calls))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--layer", choices=sorted(LAYERS), default="core_validation")
    parser.add_argument("--layers-from", default="system")
    args = parser.parse_args()
    print(json.dumps(main(args.workdir, args.scenario, args.layer, args.layers_from)))
