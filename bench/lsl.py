"""Lab streams (prints JSON): what the inlets and the outlet cost a frame, and how well times agree.

    python bench/lsl.py [--seconds 10] [--fps 90]

On this computer's loopback: a heart-rate outlet (1 Hz) and a skin-conductance outlet (32 Hz,
binned to 4 Hz by the inlet) made here; the session's inlets read them and its marker and
head-pose outlets send. Per frame, side by side: ``Lab.take`` (draining the inlets' queue into
session-time samples) and the outlet sink (the head pose every frame, a marker now and then).
Times: each sample's session time against the time its sender stamped it; and, when a Linux
time namespace is allowed (``unshare -T``), a sender whose clock is 1000 s ahead:
``time_correction``'s error against that known shift.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "tests" / "data" / "lsl_loopback.cfg"))

TARGET_US = 100.0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * (len(s) - 1)))], 2)


def _shifted_offset(seconds: float = 1000.0) -> dict | None:
    """time_correction against a sender in a time namespace ``seconds`` ahead, or None if not allowed."""
    import pylsl

    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = None
    for p in ([unshare, "-T", "--fork", "--monotonic", str(int(seconds)), "--boottime", str(int(seconds))],
              [unshare, "-r", "-T", "--fork", "--monotonic", str(int(seconds)), "--boottime", str(int(seconds))]):
        if subprocess.run([*p, "true"], capture_output=True).returncode == 0:
            prefix = p
            break
    if prefix is None:
        return None
    proc = subprocess.Popen([*prefix, sys.executable, str(ROOT / "tests" / "lsl_source.py"), "bench-shifted", "HR",
                             "4"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        info = pylsl.resolve_byprop("name", "bench-shifted", 1, 5.0)[0]
        inlet = pylsl.StreamInlet(info)
        inlet.open_stream(5.0)
        offsets = [inlet.time_correction(5.0) for _ in range(5)]
        for _ in range(5):
            time.sleep(0.5)
            offsets.append(inlet.time_correction(5.0))
    finally:
        proc.stdin.close()
        proc.wait(10)
    errors_us = [abs(o + seconds) * 1e6 for o in offsets]
    return {"shift_s": seconds, "measurements": len(offsets), "error_us_median": round(statistics.median(errors_us), 1),
            "error_us_max": round(max(errors_us), 1)}


def _baseline_us(fps: float, frames: int = 450) -> dict:
    """The same measurement around a trivial piece of Python (a 20-entry dict): what waking from a
    sleep costs any code on these cores, apart from the lab streams."""
    out = {}
    for phase, paced in (("paced", True), ("back_to_back", False)):
        us = []
        start = time.perf_counter()
        for k in range(frames):
            wait = start + k / fps - time.perf_counter()
            if paced and wait > 0:
                time.sleep(wait)
            t0 = time.perf_counter()
            {i: i * 2.0 for i in range(20)}
            us.append((time.perf_counter() - t0) * 1e6)
        out[phase] = _pct(us, 0.5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=90.0)
    args = parser.parse_args()

    import pylsl

    from vr.backends import lsl
    from vr.sim import Event, HeadPose

    hr = pylsl.StreamOutlet(pylsl.StreamInfo("bench-hr", "HR", 1, 1.0, pylsl.cf_float32, "bench-hr"))
    eda = pylsl.StreamOutlet(pylsl.StreamInfo("bench-eda", "EDA", 1, 32.0, pylsl.cf_float32, "bench-eda"))
    truth: dict[tuple[str, float], float] = {}
    stop = threading.Event()

    def senders() -> None:
        k = 0
        while not stop.wait(1 / 32):
            now = pylsl.local_clock()
            eda.push_sample([2.0 + (k % 64) / 64], now)
            if k % 32 == 0:
                value = 60.0 + (k // 32) % 60
                hr.push_sample([value], now)
                truth[("hr", value)] = now
            k += 1

    lab = lsl.Lab((lsl.parse_spec("hr", "bench-hr"), lsl.parse_spec("eda", "bench-eda")), outlet=True,
                  rate_hz=args.fps)
    deadline = time.monotonic() + 10.0
    while not all(i.connected for i in lab.inlets) and time.monotonic() < deadline:
        time.sleep(0.01)
    sender = threading.Thread(target=senders, daemon=True)
    sender.start()
    samples: list = []
    errors_ms: list[float] = []
    dt = 1.0 / args.fps
    head = HeadPose((0.0, -2.0, 1.6), 10.0, -3.0, 0.0)
    n = int(args.seconds * args.fps)
    phases = {}
    t_s = 0.0
    for phase, paced in (("paced", True), ("back_to_back", False)):
        # paced: a sleep between frames, as a display-paced loop idles (wake-ups on busy shared cores
        # count); back to back: frames with nothing between them, the cost of the calls themselves.
        take_us, push_us, both_us = [], [], []
        start = time.perf_counter()
        for k in range(n):
            wait = start + k * dt - time.perf_counter()
            if paced and wait > 0:
                time.sleep(wait)
            t0 = time.perf_counter()
            got, events, alerts = lab.take(t_s)
            t1 = time.perf_counter()
            world = SimpleNamespace(t_s=t_s + dt, head=head)
            batch = ([Event(t_s + dt, "rating", {"scale": "suds", "value": 30, "source": "console"})]
                     if k % 90 == 0 else [])
            lab.sink.on_events(batch, world, dt)
            t2 = time.perf_counter()
            take_us.append((t1 - t0) * 1e6)
            push_us.append((t2 - t1) * 1e6)
            both_us.append((t2 - t0) * 1e6)
            if paced:
                samples += got
                errors_ms += [abs(g.t_s - lab.clock.to_session(truth[("hr", g.value)])) * 1000
                              for g in got if g.kind == "hr" and ("hr", g.value) in truth]
            t_s += dt if paced else 0.0   # back to back: the session clock stands, the wall clock does not
        phases[phase] = {name: {"median": _pct(v, 0.5), "p99": _pct(v, 0.99), "max": _pct(v, 1.0)}
                         for name, v in (("inlets_take", take_us), ("outlet_push", push_us), ("both", both_us))}
    stop.set()
    sender.join(2.0)
    figures = lab.close()
    out = {
        "benchmark": "lsl", "frames": n, "fps": args.fps, "liblsl": pylsl.library_version(),
        "per_frame_us": phases,
        "trivial_python_us_median": _baseline_us(args.fps),
        "samples": {"hr": sum(s.kind == "hr" for s in samples), "eda": sum(s.kind == "eda" for s in samples)},
        "inlets": figures,
        "hr_session_time_error_ms": {"median": round(statistics.median(errors_ms), 3) if errors_ms else None,
                                     "max": round(max(errors_ms), 3) if errors_ms else None, "n": len(errors_ms)},
        "time_correction_vs_shifted_clock": _shifted_offset(),
        "target": {"per_frame_us_median_max": TARGET_US,
                   "met_back_to_back": phases["back_to_back"]["both"]["median"] <= TARGET_US,
                   "met_paced": phases["paced"]["both"]["median"] <= TARGET_US},
        "cpu": "2 shared cores (other work running)",
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
