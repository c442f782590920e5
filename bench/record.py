"""The session-record writer under load (prints JSON): sustained events per second with fsync
batching, and what handing a step's events to the writer costs the frame.

    python bench/record.py [--seconds 5] [--humans 140]

Events are real sample events of a session with N humans plus the usual smaller events; the
hand-over is timed on the calling thread (the frame's side), the throughput from the first event
handed over until everything is on disk (written and fsynced).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_HANDOVER_US = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to feed the writer")
    parser.add_argument("--humans", type=int, default=140, help="humans in each sample event")
    args = parser.parse_args()

    from vr.record import SessionWriter
    from vr.sim import Event

    ids = [f"h{i:03d}" for i in range(args.humans)]
    sample = {"mode": "running", "step_index": 3, "intensity": 0.5,
              "head": {"position_m": [0.0, -6.2, 1.6], "yaw_deg": 3.0, "pitch_deg": -2.0}, "looking_at": "h004",
              "humans": {"id": ids, "distance_m": [3.0 + 0.01 * i for i in range(args.humans)],
                         "gaze_at_patient": [i % 2 for i in range(args.humans)]}}
    small = [Event(0.0, "gesture", {"human": "h001", "gesture": "nod"}),
             Event(0.0, "speech_turn", {"human": "h002", "dialogue_intensity": 0.5, "intent": "question"})]
    with tempfile.TemporaryDirectory() as tmp:
        writer = SessionWriter(Path(tmp) / "bench", {"patient": "P-0001"})
        handover_us, n_events, k = [], 0, 0
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            t = k / 90.0
            batch = [Event(t, "sample", sample)] + small if k % 9 == 0 else small[:1]
            t0 = time.perf_counter()
            writer.write(batch)
            handover_us.append((time.perf_counter() - t0) * 1e6)
            n_events += len(batch)
            k += 1
        fed = time.perf_counter() - start
        writer.close()
        done = time.perf_counter() - start
        size = (Path(tmp) / "bench" / "events.jsonl").stat().st_size
    handover_us.sort()
    out = {"benchmark": "record", "humans_per_sample": args.humans, "steps": k, "events": n_events,
           "events_per_s_sustained": round(n_events / done, 1), "bytes_per_s": round(size / done),
           "feed_s": round(fed, 3), "until_on_disk_s": round(done, 3),
           "handover_us_median": round(statistics.median(handover_us), 2),
           "handover_us_p99": round(handover_us[int(0.99 * (len(handover_us) - 1))], 2),
           "target": {"handover_us_max": TARGET_HANDOVER_US,
                      "met": statistics.median(handover_us) <= TARGET_HANDOVER_US}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
