"""Disk trouble while recording: the session goes on, the clinician is told, nothing written is lost."""

from __future__ import annotations

import errno
import os
import time

import pytest

from vr.record import SessionWriter, read_record
from vr.record import writer as writer_module
from vr.record.verify import verify_events
from vr.sim import Event


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


@pytest.mark.parametrize("call,code", [("write", errno.ENOSPC), ("write", errno.EROFS), ("fsync", errno.EIO)])
def test_the_session_goes_on_and_nothing_written_is_lost(tmp_path, monkeypatch, call, code):
    flaky = FlakyOs(call, code)
    monkeypatch.setattr(writer_module, "os", flaky)
    alerts: list[str] = []
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"}, on_error=alerts.append)
    feed(w, 0, 100)
    time.sleep(0.3)
    before = (tmp_path / "s" / "events.jsonl").read_bytes()
    flaky.failing = True
    feed(w, 100, 100)          # the frame loop keeps handing events over: nothing blocks or raises
    time.sleep(0.3)
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
    time.sleep(0.3)
    flaky.failing = True
    feed(w, 20, 20)
    w.close()                   # returns, however the disk behaves
    assert "20 events could not be written" in alerts[-1]
    rec = read_record(tmp_path / "s")
    assert [e["i"] for e in rec.events] == list(range(20)) and rec.meta["status"] == "incomplete"


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
