"""Kill a running session at 200 random moments: every record reads back whole, up to the promise.

Each run is a forked child that steps a session with the synthetic patient and hands events to
the writer, noting on a side file (unbuffered) when it handed over how many. The parent kills it
with SIGKILL at a random moment and then checks the record: no gap in ``seq``, at most one torn
last line (detected, not counted), the hash chain intact, every event handed over more than
``DURABLE_AFTER_S`` before the kill present, and every line identical to the same line of an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from vr.app.summary import record_meta
from vr.config import load_profile
from vr.record import DURABLE_AFTER_S, SessionWriter, read_record
from vr.record.verify import verify_events
from vr.sim import PatientParams, Session, SyntheticPatient

RUNS = 200
PROFILE = ROOT / "exposure_profiles" / "demo_tour.yaml"


def _child(out: str, side: str, steps: int) -> None:
    loaded = load_profile(PROFILE)
    session = Session(loaded.config, loaded.scene.config, 5)
    patient = SyntheticPatient(PatientParams(), 5, session.head)
    writer = SessionWriter(Path(out), record_meta(loaded, pseudonym="P-0099", backend="crash-test", seed=5))
    fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    handed = 0
    os.write(fd, f"{time.monotonic():.6f} 0\n".encode())  # ready: the record exists
    world = None
    for _ in range(steps):
        world, events = session.step(patient.act(world, 1 / 30), 1 / 30)
        writer.write(events)
        handed += len(events)
        os.write(fd, f"{time.monotonic():.6f} {handed}\n".encode())
    writer.close()
    os._exit(0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_records_survive_sigkill_at_random_moments(tmp_path):
    ctx = mp.get_context("fork")
    reference = tmp_path / "reference"
    p = ctx.Process(target=_child, args=(str(reference), str(tmp_path / "ref.side"), 30 * 60))
    p.start()
    p.join(120)
    ref_lines = (reference / "events.jsonl").read_bytes().split(b"\n")
    rng = np.random.default_rng(2026)
    for run in range(RUNS):
        out, side = tmp_path / f"r{run}", tmp_path / f"r{run}.side"
        p = ctx.Process(target=_child, args=(str(out), str(side), 30 * 60))
        p.start()
        deadline = time.monotonic() + 20
        while not (side.exists() and side.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0.0, 1.2)))
        killed_at = time.monotonic()
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        rec = read_record(out)
        assert rec.problems == [], (run, rec.problems)
        assert [e["seq"] for e in rec.events] == list(range(len(rec.events)))
        assert verify_events(out).ok, run
        handed = [tuple(map(float, line.split())) for line in side.read_text().splitlines() if line.strip()]
        promised = max((int(n) for t, n in handed if t <= killed_at - DURABLE_AFTER_S), default=0)
        assert len(rec.events) >= promised, (run, len(rec.events), promised)
        lines = (out / "events.jsonl").read_bytes().split(b"\n")[: len(rec.events)]
        assert lines == ref_lines[: len(lines)], run
