"""Stereo frame time: two eye buffers, 0/10/50/200 virtual humans, batching on and off (prints JSON).

Each frame poses every human from a live session (the simulation steps outside the timed part)
and draws the scene into two offscreen eye buffers 64 mm apart, as a headset frame does. Frames
are timed in blocks, with one read-back of both eye images at the end of each block so the
renderer has really finished; the JSON gives the median block (milliseconds per stereo frame, and
the processor time of all the process's threads per frame, which other work on the machine
inflates less),
the posing time within it, and ratios to the empty scene measured in the same run.

    python bench/render.py                         # 1832x1920 per eye (a headset's eye)
    python bench/render.py --size 1024x1024        # the size of the llvmpipe target
    python bench/render.py --humans 0,50 --blocks 3 --frames 8
    python bench/render.py --scene subway_car      # any scene file (places permitting)
    python bench/render.py --distraction --humans ''   # the distraction scenes in play, only
    python bench/render.py --size 640x640 --humans-kind skinned,procedural --no-unbatched   # the skinned crowd

``--humans-kind`` draws the baked skinned humans (instanced on the GPU, ``vr.render.crowd_view``),
the procedural ones built of primitives, or both side by side; ``pose_ms`` is then the posing
pass and the upload of its matrices (``WorldView.apply``).

The crowd sits in rows 2-13 m in front of the viewer (a 200-seat hall built for the benchmark)
unless --scene names a scene file.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IPD_M = 0.064
TARGET_50_VS_EMPTY = 2.5
TARGET_SKINNED_50_VS_EMPTY = 2.0


def bench_scene():
    from vr.config import SceneConfig

    return SceneConfig.model_validate({
        "schema_version": 1, "name": "bench_hall", "kind": "social",
        "room": {"size_m": (16.0, 20.0, 5.0), "floor_rgb": (0.4, 0.3, 0.25), "wall_rgb": (0.8, 0.78, 0.72)},
        "patient": {"position_m": (0.0, -8.0), "yaw_deg": 0.0},
        "props": ({"type": "lectern", "position_m": (0.0, -7.4, 0.0), "size_m": (0.6, 0.45, 1.1)},
                  {"type": "door", "position_m": (7.9, 0.0, 0.0), "size_m": (1.0, 0.05, 2.1), "yaw_deg": 90.0}),
        "lights": ({"type": "ambient", "intensity": 0.45},
                   {"type": "directional", "position_m": (3.0, -6.0, 8.0), "target_m": (0.0, 0.0, 0.0)},
                   {"type": "spot", "position_m": (0.0, -4.0, 4.8), "target_m": (0.0, -8.0, 1.0)}),
        "seat_grids": ({"id": "hall", "first_seat_m": (-5.7, -6.0), "rows": 10, "seats_per_row": 20,
                        "seat_spacing_m": 0.6, "row_spacing_m": 1.1, "yaw_deg": 180.0},),
    })


def profile_for(n: int, scene_name: str):
    from vr.config import ProfileConfig

    return ProfileConfig.model_validate({
        "schema_version": 1, "name": "bench", "scene": scene_name,
        "steps": ({"name": "crowd", "humans": n, "intensity": 0.5,
                   "mood": {"mixed": {"attentive": 0.5, "bored": 0.3, "hostile": 0.2}},
                   "proximity": {"distance_m": 2.0}},)})


def make_eyes(base, size: tuple[int, int]):
    """Two offscreen eye buffers sharing the window's context, each with its own camera."""
    from panda3d.core import Camera, FrameBufferProperties, GraphicsOutput, NodePath, PerspectiveLens, Texture, \
        WindowProperties

    eyes = []
    for side in (-1, 1):
        fb = FrameBufferProperties()
        fb.setRgbColor(True)
        fb.setDepthBits(24)
        props = WindowProperties.size(*size)
        buf = base.graphicsEngine.makeOutput(base.pipe, f"eye{side}", -2, fb, props,
                                             _refuse_window(), base.win.getGsg(), base.win)
        tex = Texture(f"eye{side}")
        buf.addRenderTexture(tex, GraphicsOutput.RTMBindOrCopy)
        lens = PerspectiveLens()
        lens.setFov(100.0, 100.0 * size[1] / size[0])
        lens.setNearFar(0.05, 100.0)
        cam = Camera(f"eye-cam{side}", lens)
        cam_np = NodePath(cam)
        region = buf.makeDisplayRegion()
        region.setCamera(cam_np)
        eyes.append((buf, tex, cam_np, side))
    return eyes


def _refuse_window() -> int:
    from panda3d.core import GraphicsPipe

    return GraphicsPipe.BF_refuse_window


def timed_frames(base, eyes, worlds, frames: int, blocks: int, show) -> dict:
    """Median ms per stereo frame over ``blocks`` blocks of ``frames``, and how much of it ``show``
    (the view reading one world) took. The first ten worlds warm up (near rigs, shaders); each
    block ends by reading both eye images back, so the renderer has really finished."""
    for w in worlds[:10]:
        show(w)
        base.graphicsEngine.renderFrame()
    block_ms, pose_ms, cpu_ms = [], [], []
    k = 10
    for _ in range(blocks):
        t0, c0 = time.perf_counter(), time.process_time()
        posing = 0.0
        for _ in range(frames):
            p0 = time.perf_counter()
            show(worlds[k])
            posing += time.perf_counter() - p0
            base.graphicsEngine.renderFrame()
            k += 1
        for _, tex, _, _ in eyes:
            base.graphicsEngine.extractTextureData(tex, base.win.getGsg())
        block_ms.append((time.perf_counter() - t0) * 1000.0 / frames)
        cpu_ms.append((time.process_time() - c0) * 1000.0 / frames)
        pose_ms.append(posing * 1000.0 / frames)
    return {"ms_per_stereo_frame": round(statistics.median(block_ms), 2),
            "pose_ms": round(statistics.median(pose_ms), 2),
            "draw_ms": round(statistics.median(b - p for b, p in zip(block_ms, pose_ms)), 2),
            "cpu_ms_per_stereo_frame": round(statistics.median(cpu_ms), 2)}


def measure(base, eyes, scene, n: int, batched: bool, frames: int, blocks: int, kind: str = "procedural",
            library=None, near_m: float | None = None) -> dict:
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs, Session

    session = Session(profile_for(n, scene.name), scene, seed=1)
    view = WorldView(base.render, None, {scene.name: scene}, session.human_seed, session.height_m, batched=batched,
                     humans=kind, crowd_library=library)
    dt = 1.0 / 90.0
    world, _ = session.step(FrameInputs(session.head), dt)
    worlds = []
    for _ in range(frames * blocks + 10):  # the simulation runs outside the timed frames
        world, _ = session.step(FrameInputs(session.head), dt)
        worlds.append(world)
    if view.crowd is not None and near_m is not None:
        view.crowd.near_m = near_m
    x, y, z = world.head.position_m
    for buf, _, cam, side in eyes:
        cam.reparentTo(base.render)
        cam.setPosHpr(x + side * IPD_M / 2, y, z, world.head.yaw_deg, 0.0, 0.0)
        buf.setClearColor(view.clear_color)
    timing = timed_frames(base, eyes, worlds, frames, blocks, lambda w: view.apply(w, dt, (x, y)))
    present = int(world.humans.present.sum())
    crowd = view.crowd.report() if view.crowd is not None else None
    view.destroy()
    return {"humans": n, "present": present, "humans_kind": kind, "batched": batched,
            **({"near_m": near_m} if near_m is not None else {}), **timing,
            **({"crowd": {k: crowd[k] for k in ("draws", "instances", "near")}} if crowd else {})}


def measure_distraction(base, eyes, profile_path: Path, frames: int, blocks: int) -> dict:
    """Stereo frames of a distraction session in play: the landscape, targets, companion, glide."""
    from vr.sim.procedure import SimulatedProcedure
    from vr.config import load_profile
    from vr.render.play_view import PlayView
    from vr.sim.distraction import DistractionSession

    loaded = load_profile(profile_path)
    session = DistractionSession(loaded.config, loaded.scene.config, seed=1)
    source = SimulatedProcedure(loaded, session, seed=1)
    view = PlayView(base.render, None, loaded, session)
    dt = 1.0 / 90.0
    world, worlds = None, []
    for _ in range(int(30 / dt)):  # half a minute in: targets about, the glide at speed
        world, _ = session.step(source.poll(world, dt), dt)
    for _ in range(frames * blocks + 10):
        world, _ = session.step(source.poll(world, dt), dt)
        worlds.append(world)

    def show(w) -> None:
        view.apply(w, dt, w.head.position_m[:2])
        x, y, z = w.head.position_m
        h = math.radians(w.head.yaw_deg)
        for buf, _, cam, side in eyes:
            cam.reparentTo(base.render)
            cam.setPosHpr(x + side * IPD_M / 2 * math.cos(h), y + side * IPD_M / 2 * math.sin(h), z,
                          w.head.yaw_deg, w.head.pitch_deg, 0.0)
            buf.setClearColor(view.clear_color)

    timing = timed_frames(base, eyes, worlds, frames, blocks, show)
    targets = int(worlds[-1].game.alive.sum())
    view.destroy()
    return {"scene": loaded.scene.config.name, "profile": profile_path.stem, "targets": targets, **timing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1832x1920", help="per-eye buffer size (1832x1920: a headset eye)")
    parser.add_argument("--humans", default="0,10,50,200")
    parser.add_argument("--frames", type=int, default=10, help="frames per timed block")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--scene", help="a scene file name in scenes/ instead of the benchmark hall")
    parser.add_argument("--no-unbatched", action="store_true", help="skip the unbatched comparison")
    parser.add_argument("--humans-kind", default="procedural",
                        help="skinned, procedural, or both comma-separated (side by side in one run)")
    parser.add_argument("--near-m", default="",
                        help="skinned: where the full level of detail begins, comma-separated values each a run "
                             "(default: vr.render.crowd_view.NEAR_M; 0: every human at the far level)")
    parser.add_argument("--distraction", action="store_true",
                        help="also the distraction scenes in play (snowy canyon, reef); --humans '' for only them")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from vr.backends.panda import start_showbase
    from vr.config import load_scene

    base = start_showbase("offscreen", (64, 64), "bench")
    base.cam.node().getDisplayRegion(0).setActive(False)
    scene = load_scene(ROOT / "scenes" / f"{args.scene}.yaml").config if args.scene else bench_scene()
    eyes = make_eyes(base, size)
    gsg = base.win.getGsg()
    results = []
    kinds = [k.strip() for k in args.humans_kind.split(",") if k.strip()]
    library, load_s = None, None
    if "skinned" in kinds:
        from vr.render import posing
        from vr.render.crowd_view import CrowdLibrary

        library = CrowdLibrary(posing.FACE_UNITS)
        load_s = round(library.load_s, 3)
    for n in (int(v) for v in args.humans.split(",") if v.strip()):
        for kind in kinds if n else kinds[:1]:
            nears = [float(v) for v in args.near_m.split(",") if v.strip()] if kind == "skinned" and n else []
            for near_m in nears or [None]:
                for batched in ((True,) if args.no_unbatched or n == 0 or kind == "skinned" else (True, False)):
                    results.append(measure(base, eyes, scene, n, batched, args.frames, args.blocks, kind, library,
                                           near_m))
                    print(json.dumps(results[-1]), file=sys.stderr)
    play = []
    if args.distraction:
        for path in sorted((ROOT / "exposure_profiles").glob("*.yaml")):
            if "kind: distraction" in path.read_text():
                play.append(measure_distraction(base, eyes, path, args.frames, args.blocks))
                print(json.dumps(play[-1]), file=sys.stderr)
    empty = next((r["ms_per_stereo_frame"] for r in results if r["humans"] == 0), None)
    if empty:
        empty_cpu = next(r["cpu_ms_per_stereo_frame"] for r in results if r["humans"] == 0)
        for r in results:
            r["x_empty"] = round(r["ms_per_stereo_frame"] / empty, 2)
            r["cpu_x_empty"] = round(r["cpu_ms_per_stereo_frame"] / max(empty_cpu, 1e-6), 2)
    out = {"benchmark": "render", "renderer": gsg.getDriverRenderer(), "gl_version": gsg.getDriverVersion(),
           "python": platform.python_version(), "per_eye": list(size), "scene": scene.name,
           "frames_per_block": args.frames, "blocks": args.blocks, "command": " ".join(["python", "bench/render.py"] + sys.argv[1:]),
           **({"crowd_load_s": load_s} if load_s is not None else {}), "results": results,
           **({"distraction": play} if play else {})}
    fifty = next((r for r in results if r["humans"] == 50 and r["batched"] and r["humans_kind"] == "procedural"), None)
    if empty and fifty:
        out["target"] = {"rule": "50 humans batched <= 2.5x the empty scene (llvmpipe, 1024x1024 per eye)",
                         "x_empty": fifty["x_empty"], "met": fifty["x_empty"] <= TARGET_50_VS_EMPTY}
    skinned = next((r for r in results if r["humans"] == 50 and r["humans_kind"] == "skinned"
                    and r.get("near_m", 4.0) == 4.0), None)
    if empty and skinned:
        out["target_skinned"] = {"rule": "50 skinned humans <= 2.0x the empty scene (llvmpipe, 640x640 per eye)",
                                 "x_empty": skinned["x_empty"], "met": skinned["x_empty"] <= TARGET_SKINNED_50_VS_EMPTY}
    two_hundred = next((r for r in results if r["humans"] == 200 and r["batched"]), None)
    if two_hundred:
        out["gpu_target"] = {"rule": "200 humans batched <= 5.5 ms on a GPU",
                             "ms": two_hundred["ms_per_stereo_frame"]}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
