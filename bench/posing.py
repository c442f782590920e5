"""The posing pass's time per frame for 10, 50 and 200 skinned humans (prints JSON).

A mixed crowd (a third walking, some seated, some speaking or in a gesture, everyone blinking
now and then and looking about) is posed frame after frame at 90 Hz; the JSON gives the median
and 95th percentile milliseconds of ``CrowdPoser.pose`` per crowd size, and the fastest frame
(the figure least disturbed when other work shares the cores; ``load_1min`` says how busy they were).

    python bench/posing.py
    python bench/posing.py --humans 10,50,200,400 --frames 400
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vr.render import posing  # noqa: E402
from vr.sim.social import GESTURES  # noqa: E402
from vr.sim.types import HumansState  # noqa: E402

DT_S = 1.0 / 90.0


def crowd_state(n: int, t_s: float, rng_seed: int = 7) -> HumansState:
    """A repeatable mixed crowd at time ``t_s``: walkers cross the room, others stand or sit."""
    rng = np.random.default_rng(rng_seed)
    kind = rng.integers(0, 3, n)                        # 0 standing, 1 walking, 2 seated
    yaw = rng.uniform(-180, 180, n)
    start = rng.uniform(-6, 6, (n, 2))
    speed = np.where(kind == 1, rng.uniform(0.8, 1.4, n), 0.0)
    fwd = np.stack([-np.sin(np.radians(yaw)), np.cos(np.radians(yaw))], axis=1)
    pos = start + fwd * (speed * t_s)[:, None]
    height = np.clip(rng.normal(1.70, 0.09, n), 1.5, 1.98)
    gesture = np.where(rng.random(n) < 0.3, rng.integers(1, len(GESTURES), n), 0).astype(np.int8)
    head_yaw = yaw + 30.0 * np.sin(0.3 * t_s + rng.uniform(0, 6, n))
    z = np.zeros(n)
    return HumansState(
        ids=tuple(f"h{i:03d}" for i in range(n)), present=np.ones(n, bool), position_m=pos, height_m=height,
        body_yaw_deg=yaw, head_yaw_deg=head_yaw, head_pitch_deg=z, eye_yaw_deg=z, eye_pitch_deg=z,
        gaze_target_m=np.concatenate([pos + fwd * 2.0, np.full((n, 1), 1.6)], axis=1),
        gaze_at_patient=np.zeros(n, bool), distance_m=np.hypot(pos[:, 0], pos[:, 1]), speed_mps=speed,
        posture=kind.astype(np.int8), mood=rng.integers(0, 5, n).astype(np.int8), gesture=gesture,
        blinking=rng.random(n) < 0.05, speaking=rng.random(n) < 0.1, seed=rng.integers(0, 2**31 - 1, n))


def bench(n: int, frames: int) -> dict:
    first = crowd_state(n, 0.0)
    rig = posing.build_rig(first.seed, first.height_m)
    poser = posing.CrowdPoser(rig)
    states = [crowd_state(n, k * DT_S) for k in range(frames)]
    mouth = np.where(first.speaking, 0.5, np.nan)
    times = []
    for k, h in enumerate(states):
        t0 = time.perf_counter()
        poser.pose(h, k * DT_S, DT_S, (0.0, 0.0, 1.6), mouth=mouth)
        times.append(time.perf_counter() - t0)
    ms = np.array(times[20:]) * 1000.0          # the first frames warm caches up
    return {"humans": n, "median_ms": round(float(np.median(ms)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3), "min_ms": round(float(ms.min()), 3),
            "frames": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--humans", default="10,50,200", help="comma-separated crowd sizes")
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    results = [bench(int(n), args.frames) for n in args.humans.split(",") if n]
    print(json.dumps({"bench": "posing", "target_ms_200": 1.0, "results": results,
                      "machine": {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2), "python": platform.python_version(),
                                  "numpy": np.__version__}}, indent=2))


if __name__ == "__main__":
    main()
