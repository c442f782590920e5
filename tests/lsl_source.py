"""A heart-rate LSL outlet in a process of its own (for tests): ``python lsl_source.py NAME TYPE RATE_HZ``.

Prints ``ready`` once its outlet is up, then pushes 60, 61, 62, ... bpm at RATE_HZ stamped with
its own clock (which a test runs in a time namespace of its own), printing each value and stamp,
until its standard input closes."""

from __future__ import annotations

import sys
import threading
import time

import pylsl


def main() -> None:
    name, kind, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, kind, 1, rate, pylsl.cf_float32, f"{name}-src"))
    print("ready", pylsl.local_clock(), flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    k = 0
    while not done.is_set():   # a relative sleep: timed waits on a shifted clock would wait its shift
        time.sleep(1.0 / rate)
        stamp = pylsl.local_clock()
        outlet.push_sample([60.0 + k % 40], stamp)
        print(60.0 + k % 40, stamp, flush=True)
        k += 1


if __name__ == "__main__":
    main()
