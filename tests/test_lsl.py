"""Lab streams on this computer's loopback: real LSL outlets made by the tests, read by the
session's inlets (vr.backends.lsl), and the session's marker outlet read by a test inlet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

HERE = Path(__file__).resolve().parent
os.environ.setdefault("LSLAPICFG", str(HERE / "data" / "lsl_loopback.cfg"))   # before liblsl reads its settings

pylsl = pytest.importorskip("pylsl")

from vr.backends import lsl  # noqa: E402
from vr.record.export import head_quaternion  # noqa: E402
from vr.sim import Event, HeadPose  # noqa: E402


class Frames:
    """The frame loop's part, on the wall clock: session time since the start, the clock marked after each step."""

    def __init__(self, lab: lsl.Lab) -> None:
        self.lab = lab
        self.t0 = time.monotonic()
        self.samples: list = []
        self.alerts: list[str] = []
        self.events: list = []

    def frame(self, events=()) -> float:
        t = time.monotonic() - self.t0
        samples, events_out, alerts = self.lab.take(t)
        self.samples += samples
        self.alerts += alerts
        self.events += events_out
        world = SimpleNamespace(t_s=t, head=HeadPose((0.1, -2.0, 1.6), 30.0, -5.0, 0.0))
        self.lab.sink.on_events(list(events), world, 1 / 90)
        return t

    def until(self, condition, timeout_s: float = 10.0) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            t = self.frame()
            if condition():
                return t
            time.sleep(1 / 90)
        raise AssertionError(f"not reached within {timeout_s} s: alerts {self.alerts}, samples {len(self.samples)}")


@pytest.fixture
def physio_type():
    from vr.sim.types import PhysioSample

    return PhysioSample


def _outlet(name: str, kind: str, rate: float, unit: str = "") -> pylsl.StreamOutlet:
    info = pylsl.StreamInfo(name, kind, 1, rate, pylsl.cf_float32, f"{name}-{os.getpid()}")
    if unit:
        info.desc().append_child("channels").append_child("channel").append_child_value("unit", unit)
    return pylsl.StreamOutlet(info)


def test_specs_parse_and_refuse():
    assert lsl.parse_spec("hr", "PolarH10") == lsl.StreamSpec("hr", name="PolarH10")
    spec = lsl.parse_spec("hr", "type=RR, unit=rr_ms")
    assert (spec.type, spec.unit, spec.predicate()) == ("RR", "rr_ms", "type='RR'")
    assert lsl.parse_spec("eda", "name=E4_Gsr,channel=1").channel == 1
    for bad in ("", "colour=red", "name=a'b", "unit=stone", "channel=2"):
        with pytest.raises(lsl.StreamSpecError):
            lsl.parse_spec("hr", bad)
    assert lsl.infer_unit("hr", "RR", "ms", "") == "rr_ms"
    assert lsl.to_value("rr_ms", 800.0) == pytest.approx(75.0)
    assert lsl.to_value("bpm", 400.0) is None


def test_binner_averages_fast_streams_and_passes_slow_ones():
    b = lsl.Binner(0.25)
    out = []
    for k in range(100):          # 100 Hz for one second: four bins
        out += b.add(10.0 + k / 100, float(k))
    out += b.flush(11.5)
    assert len(out) == 4 and out[0] == pytest.approx((10.125, 12.0))
    slow = lsl.Binner(0.25)
    assert slow.add(3.01, 70.0) == [] and slow.add(4.02, 71.0) == [(3.01, 70.0)]


def test_heart_rate_stream_reaches_the_session_in_session_time(physio_type):
    outlet = _outlet("test-hr-live", "HR", 4.0)
    lab = lsl.Lab((lsl.parse_spec("hr", "test-hr-live"),))
    frames = Frames(lab)
    try:
        frames.until(lambda: lab.inlets[0].connected and time.monotonic() - frames.t0 > 2.0)
        pushed = []
        then = pylsl.local_clock() - 1.8
        for k in range(6):   # measured in the last 1.8 s, 0.3 s apart: one sample a bin, passed as it came
            frames.frame()
            outlet.push_sample([70.0 + k], then + 0.3 * k)
            pushed.append((lab.clock.to_session(then + 0.3 * k), 70.0 + k))
        frames.until(lambda: len(frames.samples) >= 6)
    finally:
        lab.close()
    got = frames.samples[:6]
    assert all(isinstance(s, physio_type) and s.kind == "hr" and s.source == "test-hr-live" for s in got)
    assert [s.value for s in got] == [v for _, v in pushed]
    assert max(abs(s.t_s - t) for s, (t, _) in zip(got, pushed)) < 0.005
    assert [e.kind for e in frames.events].count("lsl_stream") == 1
    assert any(e.kind == "lsl_clock" for e in frames.events)


def test_rr_intervals_become_beats_per_minute(physio_type):
    outlet = _outlet("test-rr", "RR", 0.0, unit="ms")
    lab = lsl.Lab((lsl.parse_spec("hr", "type=RR"),))
    frames = Frames(lab)
    try:
        frames.until(lambda: lab.inlets[0].connected)
        now = pylsl.local_clock()
        for k, rr in enumerate((1000.0, 800.0, 750.0)):
            outlet.push_sample([rr], now + 0.5 * k)
            frames.frame()
        frames.until(lambda: len(frames.samples) >= 3)
    finally:
        lab.close()
    assert [s.value for s in frames.samples[:3]] == [60.0, 75.0, 80.0]


def test_a_heart_rate_sent_as_text_markers_is_read_and_junk_is_skipped(physio_type):
    info = pylsl.StreamInfo("test-hr-text", "Markers", 1, 0.0, pylsl.cf_string, f"test-hr-text-{os.getpid()}")
    outlet = pylsl.StreamOutlet(info)
    lab = lsl.Lab((lsl.parse_spec("hr", "test-hr-text"),))
    frames = Frames(lab)
    try:
        frames.until(lambda: lab.inlets[0].connected)
        now = pylsl.local_clock()
        for k, text in enumerate(("72", "no contact", "74")):
            outlet.push_sample([text], now + 0.5 * k)
        frames.until(lambda: len(frames.samples) >= 2)
    finally:
        lab.close()
    assert [s.value for s in frames.samples] == [72.0, 74.0]


def test_a_channel_the_stream_lacks_is_said_once(physio_type):
    outlet = _outlet("test-hr-onechannel", "HR", 4.0)
    lab = lsl.Lab((lsl.parse_spec("hr", "name=test-hr-onechannel,channel=3"),))
    frames = Frames(lab)
    try:
        frames.until(lambda: any("no channel 3" in a for a in frames.alerts))
        outlet.push_sample([70.0])
        frames.until(lambda: time.monotonic() - frames.t0 > 2.5)   # (until's condition: only the time)
    finally:
        lab.close()
    assert sum("channel" in a for a in frames.alerts) == 1 and not frames.samples, frames.alerts


def test_a_stream_that_stops_is_an_alert_and_never_a_stall(physio_type):
    outlet = _outlet("test-hr-stops", "HR", 4.0)
    lab = lsl.Lab((lsl.parse_spec("hr", "test-hr-stops"),), lost_after_s=1.0)
    frames = Frames(lab)
    try:
        frames.until(lambda: lab.inlets[0].connected)
        now = pylsl.local_clock()
        for k in range(3):
            outlet.push_sample([65.0 + k], now + 0.3 * k)
            frames.frame()
        frames.until(lambda: len(frames.samples) >= 3)
        stopped = time.monotonic()
        worst = 0.0

        def lost() -> bool:
            return any("lost" in a for a in frames.alerts)

        while not lost():                       # frames go on, each quick, while the stream is silent
            t0 = time.perf_counter()
            frames.frame()
            worst = max(worst, time.perf_counter() - t0)
            assert time.monotonic() - stopped < 10.0, frames.alerts
            time.sleep(1 / 90)
        assert worst < 0.005
        assert lab.status()["hr"]["lost"] is True
        outlet.push_sample([90.0])              # it comes back: said once, and its samples flow again
        frames.until(lambda: any("is back" in a for a in frames.alerts) and frames.samples[-1].value == 90.0)
        del outlet                              # the sender goes away entirely: reconnecting, not waiting
        frames.until(lambda: not lab.inlets[0].connected or lab.inlets[0].lost, timeout_s=15.0)
    finally:
        lab.close()
    assert sum("lost" in a for a in frames.alerts) >= 1


def _shifted_clock(seconds: float) -> list[str]:
    """A command prefix that runs a process with its monotonic clock (liblsl's) ``seconds`` ahead:
    a Linux time namespace, as another computer's clock would be; a user namespace when not root."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is needed for a process with a clock of its own")
    shift = ["-T", "--fork", "--monotonic", str(int(seconds)), "--boottime", str(int(seconds))]
    for prefix in ([unshare, *shift], [unshare, "-r", *shift]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip("this system allows no time namespace (unshare -T)")


def test_a_stream_with_an_offset_clock_lands_at_the_right_session_time(physio_type):
    proc = subprocess.Popen([*_shifted_clock(1000), sys.executable, str(HERE / "lsl_source.py"), "test-hr-shifted",
                             "HR", "4"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lab = lsl.Lab((lsl.parse_spec("hr", "test-hr-shifted"),))
    try:
        line = proc.stdout.readline().split()
        assert line[0] == "ready" and float(line[1]) > pylsl.local_clock() + 990.0   # its clock is 1000 s ahead
        frames = Frames(lab)
        frames.until(lambda: len(frames.samples) >= 8)
    finally:
        proc.stdin.close()
        printed = proc.stdout.read().split()
        proc.wait(10)
        lab.close()
    assert lab.inlets[0].offset_s == pytest.approx(-1000.0, abs=0.005)
    stamps = {float(v): float(t) for v, t in zip(printed[0::2], printed[1::2])}
    # Where each sample truly was: its sender's stamp less the namespace's 1000 s, in session time.
    errors = [abs(s.t_s - frames.lab.clock.to_session(stamps[s.value] - 1000.0)) for s in frames.samples[:8]]
    assert max(errors) < 0.005, errors


def test_the_marker_outlet_is_read_by_an_inlet_with_the_events_times():
    lab = lsl.Lab((), outlet=True, rate_hz=90.0)
    frames = Frames(lab)
    try:
        found = pylsl.resolve_byprop("name", lsl.MARKER_STREAM, 1, 5.0)
        pose_found = pylsl.resolve_byprop("name", lsl.POSE_STREAM, 1, 5.0)
        markers, pose = pylsl.StreamInlet(found[0]), pylsl.StreamInlet(pose_found[0])
        markers.open_stream(5.0)
        pose.open_stream(5.0)
        sent = []
        for k in range(5):
            t = frames.frame()
            e = Event(t, "rating", {"scale": "suds", "value": 40 + k, "source": "console"})
            frames.frame([e, Event(t, "patient_said", {"text": "my private words", "risk": None})])
            sent.append(lab.clock.to_lsl(t))
        got, stamps = [], []
        deadline = time.monotonic() + 10.0
        while len(got) < 10 and time.monotonic() < deadline:
            values, ts = markers.pull_chunk(timeout=0.5)
            got += [v[0] for v in values]
            stamps += ts
        pose_values, pose_stamps = pose.pull_chunk(timeout=2.0)
    finally:
        lab.close()
    ratings = [json.loads(g) for g in got if json.loads(g)["kind"] == "rating"]
    assert [r["value"] for r in ratings] == [40, 41, 42, 43, 44]
    assert all("text" not in json.loads(g) for g in got)           # the patient's words stay home
    rating_stamps = [s for g, s in zip(got, stamps) if json.loads(g)["kind"] == "rating"]
    assert max(abs(a - b) for a, b in zip(rating_stamps, sent)) < 0.001
    assert pose_values and len(pose_values[0]) == 7
    w, x, y, z = pose_values[0][3:]
    assert w * w + x * x + y * y + z * z == pytest.approx(1.0, abs=1e-5)
    assert pose_stamps[-1] <= pylsl.local_clock()


def test_head_quaternion_is_panda3ds_hpr():
    """The pose stream's orientation is the one the views draw: Panda3D's quaternion of the same HPR."""
    import random

    from panda3d.core import LQuaterniond

    rng = random.Random(4)
    for _ in range(200):
        hpr = (rng.uniform(-180, 180), rng.uniform(-89, 89), rng.uniform(-180, 180))
        q = LQuaterniond()
        q.setHpr(hpr)
        ours = head_quaternion(*hpr)
        theirs = (q.getR(), q.getI(), q.getJ(), q.getK())
        sign = 1.0 if sum(a * b for a, b in zip(ours, theirs)) > 0 else -1.0
        assert ours == pytest.approx(tuple(sign * v for v in theirs), abs=1e-9)


def test_a_stream_choice_that_cannot_be_read_stops_the_command_before_anything_starts(tmp_path, capsys):
    from vr.cli import main

    code = main(["run", "--profile", "exposure_profiles/demo_tour.yaml", "--backend", "offscreen", "--seconds", "1",
                 "--no-console", "--lsl-hr", "colour=red", "--out", str(tmp_path / "SIM-0001_x")])
    assert code == 2 and "name, type, source_id, channel, unit" in capsys.readouterr().err
    assert not (tmp_path / "SIM-0001_x").exists()


def test_a_rendered_run_records_the_stream_and_sends_its_markers(tmp_path):
    """``vr run --lsl-hr ... --lsl-out`` end to end: the frame loop's inputs task, the record, the bus."""
    from vr.record import read_record
    from vr.record.export import physio_rows, read_inputs

    source = subprocess.Popen([sys.executable, str(HERE / "lsl_source.py"), "test-run-hr", "HR", "4"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = tmp_path / "SIM-0001_lab"
    try:
        assert source.stdout.readline().startswith("ready")
        proc = subprocess.Popen([sys.executable, "-m", "vr", "run", "--backend", "offscreen", "--profile",
                                 str(HERE.parent / "exposure_profiles" / "demo_tour.yaml"), "--seconds", "4",
                                 "--pace", "30", "--no-dialogue", "--no-console", "--size", "320x180",
                                 "--lsl-hr", "test-run-hr", "--lsl-out", "--out", str(out), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        found = pylsl.resolve_byprop("name", lsl.MARKER_STREAM, 1, 120.0)
        assert found, "the session's marker outlet did not appear"
        markers = pylsl.StreamInlet(found[0])
        markers.open_stream(10.0)
        got = []
        while proc.poll() is None:
            values, _ = markers.pull_chunk(timeout=0.2)
            got += [json.loads(v[0])["kind"] for v in values]
        stderr = proc.stderr.read()
    finally:
        source.stdin.close()
        source.wait(10)
    assert proc.returncode == 0, stderr
    assert "session_ended" in got, got
    rec = read_record(out)
    assert rec.problems == [] and rec.meta["status"] == "complete"
    assert rec.meta["lab"]["streams"] == {"hr": "name=test-run-hr"} and rec.meta["lab"]["outlet"]
    assert rec.meta["lab"]["received"]["hr"]["samples"] >= 8
    assert [e["name"] for e in rec.of_kind("lsl_stream")] == ["test-run-hr"]
    assert len(rec.of_kind("lsl_clock")) >= 3
    samples = physio_rows(read_inputs(out))
    assert len(samples) >= 8 and all(k == "hr" and src == "test-run-hr" for k, _, _, src in samples)
    times = [t for _, _, t, _ in samples]
    # In order and 4 Hz in session time (samples measured while the first frames stalled wait at
    # the stall: the median spacing holds).
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    assert times == sorted(times) and 0.0 <= times[0] and times[-1] <= 4.5
    assert 0.2 < gaps[len(gaps) // 2] < 0.3, times
    values = [v for _, v, _, _ in samples]
    assert all(b - a == 1.0 for a, b in zip(values, values[1:]) if b > a), f"{values}"   # 60, 61, ...: none lost
