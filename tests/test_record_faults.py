"""Disk trouble while recording: the session goes on, the clinician is told, nothing written is lost."""

from __future__ import annotations

import errno
import json
import os
import stat
import time

import pytest

from vr.record import SessionWriter, read_record
from vr.record import writer as writer_module
from vr.record.verify import verify_events
from vr.sim import Event, FrameInputs, HeadPose


class FlakyOs:
    """``os`` as the writer sees it, with ``write`` or ``fsync`` failing while ``failing`` is set."""

    def __init__(self, call: str, code: int, fail_next: int = 0) -> None:
        self.call, self.code, self.failing, self.failures = call, code, False, 0
        self.fail_next = fail_next  # fail this many calls from now, then work again

    def __getattr__(self, name):
        real = getattr(os, name)
        if name != self.call:
            return real

        def flaky(*args):
            if self.failing or self.fail_next > 0:
                self.fail_next -= 1
                self.failures += 1
                raise OSError(self.code, os.strerror(self.code))
            return real(*args)

        return flaky


def feed(writer, start, count):
    for i in range(start, start + count):
        writer.write([Event(i * 0.01, "note", {"i": i})])
        time.sleep(0.002)


def until(condition, timeout_s: float = 30.0) -> None:
    """Wait for the writer thread to reach ``condition``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the writer did not get there"
        time.sleep(0.01)


def lines_in(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.parametrize("call,code", [("write", errno.ENOSPC), ("write", errno.EROFS), ("fsync", errno.EIO)])
def test_the_session_goes_on_and_nothing_written_is_lost(tmp_path, monkeypatch, call, code):
    flaky = FlakyOs(call, code)
    monkeypatch.setattr(writer_module, "os", flaky)
    alerts: list[str] = []
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"}, on_error=alerts.append)
    feed(w, 0, 100)
    until(lambda: lines_in(tmp_path / "s" / "events.jsonl") == 100)
    before = (tmp_path / "s" / "events.jsonl").read_bytes()
    flaky.failing = True
    feed(w, 100, 100)          # the frame loop keeps handing events over: nothing blocks or raises
    until(lambda: flaky.failures >= 1 and w.error and alerts)
    assert flaky.failures >= 1 and w.error and os.strerror(code) in w.error
    assert any(os.strerror(code) in a for a in alerts), "the clinician is alerted"
    assert (tmp_path / "s" / "events.jsonl").read_bytes().startswith(before), "nothing already written changed"
    flaky.failing = False
    feed(w, 200, 50)
    w.close()
    rec = read_record(tmp_path / "s")
    got = [e["i"] for e in rec.events]
    if call == "write":
        assert got == list(range(250)), "kept in memory and written once the disk took writes again"
    else:
        # After a failed fsync the lines were already handed to the kernel: not rewritten, not duplicated.
        assert got == sorted(set(got)) and got[:100] == list(range(100)) and got[-50:] == list(range(200, 250))
    assert verify_events(tmp_path / "s").ok
    assert any("nothing was lost" in a for a in alerts)
    assert rec.meta["status"] == "complete"


def test_a_disk_that_never_recovers_marks_the_record_incomplete(tmp_path, monkeypatch):
    flaky = FlakyOs("write", errno.ENOSPC)
    monkeypatch.setattr(writer_module, "os", flaky)
    monkeypatch.setattr(writer_module, "CLOSE_RETRY_S", 0.01)
    alerts: list[str] = []
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"}, on_error=alerts.append)
    feed(w, 0, 20)
    until(lambda: lines_in(tmp_path / "s" / "events.jsonl") == 20)
    flaky.failing = True
    feed(w, 20, 20)
    w.close()                   # returns, however the disk behaves
    assert "20 events could not be written" in alerts[-1] and "ended_disk_full" in alerts[-1]
    rec = read_record(tmp_path / "s")
    assert [e["i"] for e in rec.events] == list(range(20)) and rec.meta["status"] == "ended_disk_full"
    lines = (tmp_path / "s" / "events.jsonl").read_bytes().splitlines()
    assert rec.meta["events_written"] == 20 and rec.meta["last_hash"] == json.loads(lines[-1])["hash"]
    assert rec.meta["storage"]["events_not_written"] == 20 and "No space" in rec.meta["storage"]["error"]
    v = verify_events(tmp_path / "s")
    assert v.ok and "ended_disk_full" in v.text(), v.problems


def test_a_full_disk_is_said_once_not_at_every_flush(tmp_path, monkeypatch):
    flaky = FlakyOs("write", errno.ENOSPC)
    monkeypatch.setattr(writer_module, "os", flaky)
    alerts: list[str] = []
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"}, on_error=alerts.append)
    flaky.failing = True
    for i in range(60):             # events and inputs both refused, flush after flush
        w.write([Event(i * 0.01, "note", {"i": i})])
        w.write_inputs(FrameInputs(HeadPose((0.0, 0.0, 1.6))), 0.01)
        time.sleep(0.01)
    deadline = time.monotonic() + 10
    while flaky.failures < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flaky.failures >= 4
    flaky.failing = False
    w.close()
    assert len([a for a in alerts if "cannot write" in a]) == 1, alerts
    assert len([a for a in alerts if "writing again" in a]) == 1, alerts
    assert read_record(tmp_path / "s").meta["status"] == "complete"


def test_simulate_warns_on_stderr_when_the_disk_fails(tmp_path, monkeypatch, capsys, speaking):
    from vr.app.simulate import run_simulation

    flaky = FlakyOs("write", errno.ENOSPC, fail_next=1)  # the first write of the run fails, then the disk is fine
    monkeypatch.setattr(writer_module, "os", flaky)
    run_simulation(speaking, seconds=5, seed=1, out=tmp_path / "sim", pseudonym="P-0002")
    err = capsys.readouterr().err
    assert flaky.failures == 1
    assert "warning: session record: cannot write" in err and "No space left" in err
    assert "writing again; nothing was lost" in err
    rec = read_record(tmp_path / "sim")
    assert rec.problems == [] and rec.of_kind("session_ended") and rec.meta["status"] == "complete"


def test_a_writer_failure_is_reported_not_silent(tmp_path, monkeypatch):
    alerts: list[str] = []
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"}, on_error=alerts.append)
    monkeypatch.setattr(writer_module, "encode_event", lambda seq, event: 1 / 0)
    w.write([Event(0.0, "note", {})])
    w.close()
    assert alerts and "the writer stopped (ZeroDivisionError" in alerts[0]
    assert read_record(tmp_path / "s").meta["status"] == "incomplete"


def test_a_refused_header_write_leaves_no_temporary_file_and_the_old_header(tmp_path, monkeypatch):
    from vr.record import files

    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"})
    before = (tmp_path / "s" / "session.json").read_bytes()
    monkeypatch.setattr(files, "os", FlakyOs("fsync", errno.ENOSPC, fail_next=1))
    alerts: list[str] = []
    w.on_error = alerts.append
    w.close()
    assert any("cannot update" in a and "session.json" in a and "No space" in a for a in alerts)
    assert (tmp_path / "s" / "session.json").read_bytes() == before, "the old header stays whole"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["events.jsonl", "inputs.jsonl", "session.json"]


def test_the_summary_on_a_full_disk_is_a_warning_not_a_traceback(tmp_path, monkeypatch, capsys):
    from vr.app.cli_common import write_summary
    from vr.record import files

    (tmp_path / "s").mkdir()
    monkeypatch.setattr(files, "os", FlakyOs("fsync", errno.ENOSPC, fail_next=1))
    write_summary(tmp_path / "s", {"events": 1})          # returns: the record is already closed
    err = capsys.readouterr().err
    assert "summary.json" in err and "No space left" in err
    assert list((tmp_path / "s").iterdir()) == []
    write_summary(tmp_path / "s", {"events": 1})
    assert stat.S_IMODE((tmp_path / "s" / "summary.json").stat().st_mode) == 0o600


@pytest.fixture
def small_disk(tmp_path):
    """A 160 KiB file system (tmpfs): a disk that really fills up. Needs root and mount."""
    import shutil
    import subprocess

    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount") or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (and a system that allows it)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_that_fills_up_during_vr_simulate(small_disk):
    import subprocess
    import sys

    from conftest import ROOT

    out = small_disk / "P-0007"
    run = subprocess.run([sys.executable, "-m", "vr", "simulate", "--profile",
                          str(ROOT / "exposure_profiles" / "public_speaking.yaml"), "--seconds", "300",
                          "--out", str(out), "--pseudonym", "P-0007"], capture_output=True, text=True, timeout=600)
    warnings = [line for line in run.stderr.splitlines() if "cannot write" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "events could not be written" in run.stderr
    meta = json.loads((out / "session.json").read_text())
    assert meta["status"] == "ended_disk_full" and meta["storage"]["events_not_written"] > 0
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n == "space.reserve"], names
    assert "summary.json" in names, names
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    v = verify_events(out)
    assert v.ok and "ended_disk_full" in v.text(), v.problems


def test_a_disk_full_before_the_record_starts_is_a_message(tmp_path, monkeypatch, capsys):
    from conftest import ROOT
    from vr.cli import main
    from vr.record import files

    monkeypatch.setattr(files, "os", FlakyOs("fsync", errno.ENOSPC, fail_next=1))
    code = main(["simulate", "--profile", str(ROOT / "exposure_profiles" / "public_speaking.yaml"), "--seconds", "1",
                 "--out", str(tmp_path / "s"), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and f"cannot start the session record in {tmp_path / 's'}: No space left on device" in err
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.endswith(".tmp")]
