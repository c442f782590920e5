"""Run one headset session in this process against the test runtime and print what happened.

For tests that need a process of their own (a desktop window on a virtual display, where the
mirror window's GLX context becomes the graphics binding):

    python tests/xr_runtime/host.py WORKDIR PROFILE SECONDS

prints one JSON object: the binding the app chose, the runtime's violations and errors, the
session states, each eye's pixel spread and the difference between the eyes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(workdir: Path, profile: Path, seconds: float) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from xr_runtime.native import Shim, build_shim, write_manifest
    from xr_runtime.runtime import FakeRuntime

    library = build_shim(workdir / "shim")
    os.environ["XR_RUNTIME_JSON"] = str(write_manifest(workdir / "shim", library))
    runtime = FakeRuntime(handle_base=0x100000)
    runtime.capture = True
    shim = Shim(library)
    shim.install(runtime)

    from vr.app.run import run_rendered
    from vr.config import load_profile

    result = run_rendered(load_profile(profile), backend_kind="openxr", seconds=seconds, seed=5,
                          out=workdir / "record", pseudonym="XR-10", size=(320, 180),
                          screenshots=workdir / "shots", screenshot_every_s=0.5)
    left, right = runtime.submissions[-1].views
    return {"ended": result.ended, "binding": runtime.binding, "violations": runtime.violations,
            "errors": runtime.errors, "states": [getattr(s, "name", str(s)) for s in runtime.states],
            "eye_std": [float(left.pixels[..., :3].std()), float(right.pixels[..., :3].std())],
            "eye_diff": float(abs(left.pixels.astype(int) - right.pixels.astype(int))[..., :3].mean()),
            "screenshots": len(result.screenshots)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))))
