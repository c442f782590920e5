"""What the headset path costs per frame, phase by phase (prints JSON).

Runs a session on the OpenXR backend against the test runtime (tests/xr_runtime, reached
through pyopenxr's real loader; it does not pace frames, so every frame is as fast as the
machine allows) and times each phase of every frame:

- ``begin``: runtime events, the session-state machine, ``xrWaitFrame`` and ``xrBeginFrame``;
- ``track``: locating the eyes, the head in the scene's frame, controllers, the rating slider;
- ``session``: the session step and the views reading the world (as in any backend);
- ``draw``: Panda3D drawing both eyes and the mirror, up to the GPU finishing (a ``glFinish``
  the benchmark adds before submitting, so that drawing is not billed to the copy);
- ``submit``: copying the eye textures into the swapchain images and ``xrEndFrame``.

``openxr_share`` is the part of a frame that exists only because a headset is attached
(begin + track + submit) over the whole frame. Medians over the frames after a warm-up.

    python bench/headset.py                      # 960x1000 per eye, 120 frames, a full audience
    python bench/headset.py --eye 1832x1920 --frames 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
WARMUP = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eye", default="960x1000", help="per-eye size, WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--profile", default="public_speaking.yaml")
    parser.add_argument("--step", type=int, default=4, help="the hierarchy step to show (its audience)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.eye.lower().split("x"))

    from xr_runtime.native import Shim, build_shim, write_manifest
    from xr_runtime.runtime import FakeRuntime

    from vr.app.run import run_rendered
    from vr.config import load_profile
    from vr.sim import Command

    phases: dict[str, list[float]] = {k: [] for k in ("begin", "track", "session", "draw", "submit", "frame")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        library = build_shim(work / "shim")
        os.environ["XR_RUNTIME_JSON"] = str(write_manifest(work / "shim", library))
        runtime = FakeRuntime(handle_base=0x100000)
        runtime.recommended_size = (width, height)
        runtime.max_size = (max(width, 4096), max(height, 4096))
        shim = Shim(library)
        shim.install(runtime)
        marks: dict[str, float] = {}

        def script(loop) -> None:
            loop.submit(Command("goto_step", value=args.step, source="bench"))
            backend = loop.backend

            def timed(name, fn):
                def wrapper(*a, **kw):
                    t0 = time.perf_counter()
                    try:
                        return fn(*a, **kw)
                    finally:
                        marks[name] = marks.get(name, 0.0) + time.perf_counter() - t0
                return wrapper

            backend.begin_frame = timed("begin", backend.begin_frame)
            backend.track = timed("track", backend.track)
            submit = timed("submit", backend.xr.submit)

            def finish_then_submit(*a, **kw):
                # The renderer works asynchronously: finish its drawing first (counted as drawing),
                # so that "submit" is the copy and the OpenXR calls alone.
                t0 = time.perf_counter()
                backend.xr.gl.fn("glFinish", None)()
                marks["finish"] = time.perf_counter() - t0
                return submit(*a, **kw)

            backend.xr.submit = finish_then_submit

            def before_draw(task):
                marks["draw_start"] = time.perf_counter()
                return task.cont

            def after_draw(task):
                marks["draw"] = time.perf_counter() - marks.pop("draw_start", time.perf_counter())
                return task.cont

            def fold_finish(task):  # after the submit task (55): the finish belongs to drawing
                marks["draw"] = marks.get("draw", 0.0) + marks.pop("finish", 0.0)
                return task.cont

            def frame_end(task):
                now = time.perf_counter()
                if "frame_start" in marks and loop.frames > WARMUP:
                    frame = now - marks["frame_start"]
                    for k in ("begin", "track", "draw", "submit"):
                        phases[k].append(marks.get(k, 0.0) * 1000)
                    other = frame - sum(marks.get(k, 0.0) for k in ("begin", "track", "draw", "submit"))
                    phases["session"].append(other * 1000)
                    phases["frame"].append(frame * 1000)
                marks.clear()
                marks["frame_start"] = now
                if loop.frames >= args.frames + WARMUP:
                    loop.finish("run_finished")
                return task.cont

            tm = loop.base.taskMgr
            tm.add(before_draw, "bench-before-draw", sort=49)
            tm.add(after_draw, "bench-after-draw", sort=51)
            tm.add(fold_finish, "bench-fold-finish", sort=56)
            tm.add(frame_end, "bench-frame-end", sort=2000)

        run_rendered(load_profile(ROOT / "exposure_profiles" / args.profile), backend_kind="openxr", seconds=None,
                     seed=1, out=work / "record", pseudonym="B-01", size=(320, 180), on_loop=script)
        for name in ("bench-before-draw", "bench-after-draw", "bench-fold-finish", "bench-frame-end"):
            from direct.task.TaskManagerGlobal import taskMgr

            taskMgr.remove(name)
    med = {k: round(statistics.median(v), 3) for k, v in phases.items() if v}
    xr_ms = med["begin"] + med["track"] + med["submit"]
    print(json.dumps({
        "bench": "headset", "eye": [width, height], "frames": len(phases["frame"]), "profile": args.profile,
        "step": args.step, "median_ms": med, "openxr_ms": round(xr_ms, 3),
        "openxr_share": round(xr_ms / med["frame"], 4),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
    }, indent=2))


if __name__ == "__main__":
    main()
