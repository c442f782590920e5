"""vr export: a session as XDF read back by pyxdf (markers where the live LSL outlet put them), and
many sessions as long tables."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
os.environ.setdefault("LSLAPICFG", str(HERE / "data" / "lsl_loopback.cfg"))

pylsl = pytest.importorskip("pylsl")
pyxdf = pytest.importorskip("pyxdf")

from vr.app.drive import Drive, EventBus, RecordSink, TallySink  # noqa: E402
from vr.app.inputs import PatientSource  # noqa: E402
from vr.app.summary import Tally, record_meta  # noqa: E402
from vr.backends import lsl  # noqa: E402
from vr.cli import main  # noqa: E402
from vr.config import load_profile  # noqa: E402
from vr.record import SessionWriter  # noqa: E402
from vr.sim import Command, PatientParams, Rating, SyntheticPatient  # noqa: E402
from vr.sim.procedure import new_session  # noqa: E402

ROOT = HERE.parent
RATE_HZ = 30.0


def _lab_session(out: Path, seconds: float, hr_outlet=None):
    """A session stepped on the wall clock (as a rendered one is) with the lab streams on: the
    marker outlet, and an HR inlet when ``hr_outlet`` is given. Returns what a test inlet on the
    marker stream received: [(marker, LSL stamp)]."""
    loaded = load_profile(ROOT / "exposure_profiles" / "demo_tour.yaml")
    session = new_session(loaded, 3)
    specs = (lsl.parse_spec("hr", "test-export-hr"),) if hr_outlet is not None else ()
    lab = lsl.Lab(specs, outlet=True, rate_hz=RATE_HZ)
    writer = SessionWriter(out, record_meta(loaded, pseudonym="SIM-0001", backend="test", seed=3, rate_hz=RATE_HZ))
    tally = Tally(loaded, 3)
    drive = Drive(session, writer, EventBus(RecordSink(writer), TallySink(tally), lab.sink))
    source = PatientSource(SyntheticPatient(PatientParams(), 3, session.head))
    found = pylsl.resolve_byprop("name", lsl.MARKER_STREAM, 1, 5.0)
    listener = pylsl.StreamInlet(found[0])
    listener.open_stream(5.0)
    if specs:
        deadline = time.monotonic() + 10.0
        while not lab.inlets[0].connected and time.monotonic() < deadline:
            time.sleep(0.01)
    dt = 1.0 / RATE_HZ
    n = int(seconds * RATE_HZ)
    start = time.perf_counter()
    received = []
    try:
        for k in range(n):
            wait = start + k * dt - time.perf_counter()
            if wait > 0:
                time.sleep(wait)        # pacing the steps on the wall clock, as a display would
            inputs = source.poll(drive.world, dt)
            if drive.world is not None:
                physio, events, _ = lab.take(drive.world.t_s)
                inputs = inputs.plus(physio=physio)
                drive.publish(events)
            if hr_outlet is not None and k % 10 == 0:
                hr_outlet.push_sample([70.0 + k / 10])
            if k == 15:
                inputs = inputs.plus(commands=(Command("step_up", id="c1", source="console"),))
            if k in (30, 60, 90):
                inputs = inputs.plus(ratings=(Rating("suds", 20.0 + k / 3, "console"),))
            drive.step(inputs, dt)
            values, stamps = listener.pull_chunk(timeout=0.0)
            received += [(v[0], t) for v, t in zip(values, stamps)]
        drive.end("run_finished")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not any('"session_ended"' in v for v, _ in received):
            values, stamps = listener.pull_chunk(timeout=0.2)
            received += [(v[0], t) for v, t in zip(values, stamps)]
    finally:
        writer.close(events=tally.summary.events, ended=tally.summary.ended or "interrupted")
        lab.close()
    return received


def test_a_sessions_xdf_puts_the_markers_where_the_live_outlet_did(tmp_path):
    hr = pylsl.StreamOutlet(pylsl.StreamInfo("test-export-hr", "HR", 1, 3.0, pylsl.cf_float32, "test-export-hr"))
    record = tmp_path / "SIM-0001_xdf"
    received = _lab_session(record, 4.0, hr)
    assert main(["export", str(record), "--xdf", str(tmp_path / "s.xdf")]) == 0
    streams, header = pyxdf.load_xdf(str(tmp_path / "s.xdf"))
    by_name = {s["info"]["name"][0]: s for s in streams}
    markers = by_name["vr-markers"]
    xdf = {}
    for (text,), stamp in zip(markers["time_series"], markers["time_stamps"]):
        e = json.loads(text)
        xdf[(e["kind"], round(e["t_s"], 3))] = stamp
    live = {}
    for text, stamp in received:
        e = json.loads(text)
        live[(e["kind"], round(e["t_s"], 3))] = stamp
    common = [k for k in live if k in xdf]
    kinds = {k for k, _ in common}
    assert {"rating", "clinician_command", "step_started", "session_ended"} <= kinds, kinds
    errors_ms = [abs(xdf[k] - live[k]) * 1000 for k in common]
    assert max(errors_ms) < 5.0, errors_ms
    # The head pose at the step rate, unit quaternions; on the same clock as the markers.
    pose = by_name["vr-head-pose"]
    assert pose["time_series"].shape[1] == 7 and len(pose["time_stamps"]) >= 4 * RATE_HZ - 1
    q = pose["time_series"][:, 3:]
    assert abs((q * q).sum(axis=1) - 1.0).max() < 1e-5
    assert abs(pose["time_stamps"][0] - min(live.values())) < 1.0
    hr_stream = by_name["vr-physio-hr"]   # pushed every 10 steps (1/3 s), 70, 71, ...
    assert len(hr_stream["time_series"]) >= 8 and 70.0 <= hr_stream["time_series"][0][0] < 75.0
    assert abs(hr_stream["time_stamps"][0] - min(live.values())) < 1.0


def test_xdf_without_lab_streams_stays_in_session_time(tmp_path):
    from vr.app.simulate import run_simulation

    loaded = load_profile(ROOT / "exposure_profiles" / "demo_tour.yaml")
    record = tmp_path / "SIM-0001_plain"
    run_simulation(loaded, seconds=3.0, seed=1, out=record, pseudonym="SIM-0001")
    assert main(["export", str(record), "--xdf", str(tmp_path / "p.xdf")]) == 0
    streams, _ = pyxdf.load_xdf(str(tmp_path / "p.xdf"))
    markers = next(s for s in streams if s["info"]["name"][0] == "vr-markers")
    first = json.loads(markers["time_series"][0][0])
    assert first["kind"] == "session_started" and markers["time_stamps"][0] == pytest.approx(first["t_s"], abs=1e-6)


def _read(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_tables_hold_every_session_in_long_format(tmp_path):
    from vr.app.simulate import run_simulation

    loaded = load_profile(ROOT / "exposure_profiles" / "demo_tour.yaml")
    root = tmp_path / "sessions"
    for name, seed in (("SIM-0001_a", 1), ("SIM-0002_b", 2)):
        run_simulation(loaded, seconds=20.0, seed=seed, out=root / name, pseudonym=name.split("_")[0])
    assert main(["export", str(root), "--tables", str(tmp_path / "tables")]) == 0
    tables = tmp_path / "tables"
    sessions = _read(tables / "sessions.csv")
    assert [s["patient"] for s in sessions] == ["SIM-0001", "SIM-0002"]
    assert all(s["record_verified"] == "yes" for s in sessions)
    samples = _read(tables / "samples.csv")
    assert {r["session"] for r in samples} == {"SIM-0001_a", "SIM-0002_b"}
    assert len(samples) >= 2 * 190 and all(r["t_s"] for r in samples)
    events = _read(tables / "events.csv")
    assert {"session_started", "step_started"} <= {e["kind"] for e in events}
    assert "sample" not in {e["kind"] for e in events}
    for name in ("humans", "ratings", "steps", "physio"):
        assert _read(tables / f"{name}.csv") is not None
    assert (tables / "samples.csv").stat().st_mode & 0o777 == 0o600
    assert main(["export", str(root), "--tables", str(tmp_path / "tables")]) == 1   # never written over


def test_tables_as_parquet_where_pyarrow_is_installed(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from vr.app.simulate import run_simulation

    loaded = load_profile(ROOT / "exposure_profiles" / "demo_tour.yaml")
    run_simulation(loaded, seconds=5.0, seed=1, out=tmp_path / "s" / "SIM-0001_a", pseudonym="SIM-0001")
    assert main(["export", str(tmp_path / "s"), "--tables", str(tmp_path / "t")]) == 0
    samples = pq.read_table(tmp_path / "t" / "samples.parquet")
    with (tmp_path / "t" / "samples.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert samples.num_rows == len(rows) and str(samples.schema.field("t_s").type) == "double"
    assert samples.column("patient").to_pylist()[0] == "SIM-0001"
    assert pq.read_table(tmp_path / "t" / "events.parquet").num_rows > 0
