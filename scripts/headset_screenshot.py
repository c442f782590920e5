"""Render docs/images/headset_eyes.png: both eyes of a headset session, side by side.

    .venv/bin/python scripts/headset_screenshot.py [--out docs/images]

No headset is needed: the session runs through pyopenxr's loader against the OpenXR runtime
for tests (tests/xr_runtime), which hands back the two images the app submitted. The
interview panel is on, and a SUDS rating is being asked in the headset.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ASK_AT_S = float(os.environ.get("ASK_AT_S", "14"))
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    from xr_runtime.native import Shim, build_shim, write_manifest
    from xr_runtime.runtime import FakeRuntime

    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        library = build_shim(work / "shim")
        os.environ["XR_RUNTIME_JSON"] = str(write_manifest(work / "shim", library))
        runtime = FakeRuntime(handle_base=0x100000)
        runtime.capture = True
        runtime.recommended_size = (720, 640)
        runtime.head_pose = ((0.0, 1.2, 0.0), (0.0, 0.0, 0.0, 1.0))  # seated, as the candidate is
        up = (math.sin(math.radians(9) / 2), 0.0, 0.0, math.cos(math.radians(9) / 2))  # aimed a little up
        for hand, x in (("left", -0.18), ("right", 0.16)):
            runtime.controllers[hand].position = (x, 0.85, -0.3)
            runtime.controllers[hand].orientation = up
        shim = Shim(library)
        shim.install(runtime)

        def script(loop) -> None:
            loop.submit(Command("goto_step", value=4, source="script"))

            def ask(task):  # once the panel has sat down; the picture is taken before a gaze answer
                if loop.world is not None and loop.world.t_s >= ASK_AT_S:
                    loop.submit(Command("ask_rating", text="suds", source="script"))
                    return task.done
                return task.cont

            loop.base.taskMgr.add(ask, "ask", sort=1001)

        run_rendered(load_profile(ROOT / "exposure_profiles" / "job_interview.yaml"), backend_kind="openxr",
                     seconds=ASK_AT_S + 1.0, seed=11, out=work / "record", pseudonym="DOC-01", size=(320, 180), on_loop=script)
        left, right = (v.pixels[..., :3] for v in runtime.submissions[-1].views)
        gap = np.full((left.shape[0], 12, 3), 20, dtype=np.uint8)
        picture = np.concatenate([left, gap, right], axis=1)
    import matplotlib.image

    path = Path(args.out) / "headset_eyes.png"
    matplotlib.image.imsave(path, picture)
    print(f"wrote {path} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main()
