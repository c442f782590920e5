"""Microseconds per ``Session.step`` for 1, 10, 50, 200 and 500 virtual humans (prints JSON).

The scene is a large plaza where half the humans walk radial paths toward the patient (so the
walking, give-way and keep-out code runs) and half sit in rows; moods are mixed and the group
speaks. Each size is warmed up, then timed in blocks of steps; the JSON gives the median block
(microseconds per step), the 95th-percentile single step and the target verdict.

    python bench/sim_step.py [--steps 3000] [--sizes 1,10,50,200,500]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time

import numpy as np

from vr.config import ProfileConfig, SceneConfig
from vr.sim import FrameInputs, HeadPose, Session

TARGET_US_200 = 1000.0


def plaza(n: int) -> SceneConfig:
    walkers = (n + 1) // 2
    spawns = []
    for i in range(walkers):
        a = 2 * math.pi * i / max(walkers, 1)
        r0, r1 = 28.0 - (i % 5) * 0.9, 1.5 + (i % 7) * 0.6
        spawns.append({"id": f"w{i}", "path_m": ((r0 * math.cos(a), r0 * math.sin(a)),
                                                 (r1 * math.cos(a), r1 * math.sin(a)))})
    seats = n - walkers
    per_row = 25
    grids = ({"id": "rows", "first_seat_m": (-7.2, 4.0), "rows": max(1, math.ceil(seats / per_row)),
              "seats_per_row": per_row, "seat_spacing_m": 0.6, "row_spacing_m": 0.9},) if seats else ()
    return SceneConfig.model_validate({
        "schema_version": 1, "name": "plaza", "kind": "social", "room": {"size_m": (60.0, 60.0, 4.0)},
        "spawns": tuple(spawns), "seat_grids": grids})


def profile(n: int) -> ProfileConfig:
    return ProfileConfig.model_validate({
        "schema_version": 1, "name": "bench", "scene": "plaza",
        "steps": ({"name": "crowd", "humans": n, "intensity": 0.6,
                   "mood": {"mixed": {"attentive": 0.4, "bored": 0.3, "hostile": 0.2, "friendly": 0.1}},
                   "proximity": {"distance_m": 2.0}, "dialogue": {"lines_per_min": 3.0}},)})


def measure(n: int, steps: int, dt: float = 1 / 90) -> dict:
    session = Session(profile(n), plaza(n), seed=1)
    rng = np.random.default_rng(0)
    heads = [HeadPose((float(x), float(y), 1.6), float(h)) for x, y, h in
             zip(rng.normal(0, 0.05, steps), rng.normal(0, 0.05, steps), rng.uniform(-30, 30, steps))]
    for k in range(int(2.0 / dt)):  # warm up: everyone arrives and starts walking
        session.step(FrameInputs(heads[k % steps]), dt)
    block = 100
    per_step, blocks = [], []
    for b in range(steps // block):
        t_block = time.perf_counter()
        for k in range(b * block, (b + 1) * block):
            t0 = time.perf_counter()
            session.step(FrameInputs(heads[k]), dt)
            per_step.append(time.perf_counter() - t0)
        blocks.append((time.perf_counter() - t_block) / block)
    present = int(session.crowd.present.sum())
    walking = int((session.crowd.posture == 1).sum())
    return {"humans": n, "present": present, "walking_at_end": walking,
            "us_per_step_median": round(statistics.median(blocks) * 1e6, 1),
            "us_per_step_p95": round(float(np.percentile(per_step, 95)) * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--sizes", default="1,10,50,200,500")
    args = parser.parse_args()
    results = [measure(int(n), args.steps) for n in args.sizes.split(",")]
    by_n = {r["humans"]: r for r in results}
    out = {"benchmark": "sim_step", "machine": platform.processor() or platform.machine(),
           "python": platform.python_version(), "numpy": np.__version__, "dt_s": round(1 / 90, 6),
           "steps_timed": args.steps, "results": results}
    if 200 in by_n:
        out["target"] = {"humans": 200, "us_per_step_max": TARGET_US_200,
                         "met": by_n[200]["us_per_step_median"] <= TARGET_US_200}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
