"""Records that cannot be read (or a report that cannot be written): a message naming the file and
what to do, a non-zero exit, never a traceback.

The tests run as root, where ``chmod 000`` still reads, so unreadability is made in two other
ways: a folder standing where a file should be (a real ``IsADirectoryError``, in a subprocess),
and ``Path.read_bytes`` refusing with ``PermissionError`` in-process. Where the tests run as
another user, a real ``chmod 000`` is tried as well.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vr.cli import main
from vr.record import SessionWriter
from vr.sim import Event


@pytest.fixture
def record(tmp_path):
    w = SessionWriter(tmp_path / "P-0001_a", {"patient": "P-0001", "profile": {"name": "t"}, "scene": {"name": "x"}})
    w.write([Event(0.0, "session_started", {}),
             Event(0.0, "step_started", {"index": 0, "name": "a", "reason": "start"}),
             Event(5.0, "rating", {"scale": "suds", "value": 40}),
             Event(9.0, "session_ended", {"reason": "stopped", "step_index": 0})])
    w.close()
    return tmp_path / "P-0001_a"


def vr(*args):
    return subprocess.run([sys.executable, "-m", "vr", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("name", ["events.jsonl", "session.json"])
def test_a_folder_where_a_file_should_be(record, name):
    (record / name).unlink()
    (record / name).mkdir()
    for command in (["verify", record], ["report", record], ["report", "--patient", "P-0001", record.parent]):
        out = vr(*command)
        assert out.returncode == 1 and "Traceback" not in out.stderr, (command, out.stderr)
        assert f"{record / name}: cannot be read" in out.stderr and "a folder stands where" in out.stderr, out.stderr


def refuse(monkeypatch, target: Path):
    """Reading ``target`` fails as it does for a file of another user's (records are 0600)."""
    real = Path.read_bytes

    def read_bytes(self):
        if self == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


@pytest.mark.parametrize("name", ["events.jsonl", "session.json"])
def test_a_file_of_another_users(record, monkeypatch, capsys, name):
    refuse(monkeypatch, record / name)
    for command in (["verify", str(record)], ["report", str(record)]):
        assert main(command) == 1, command
        err = capsys.readouterr().err
        assert f"{record / name}: cannot be read (Permission denied)" in err, err
        assert "run this as the user who recorded the session" in err
    assert not (record / "report.html").exists()


def test_the_course_report_names_a_session_it_cannot_read(record, monkeypatch, capsys):
    refuse(monkeypatch, record / "session.json")
    assert main(["report", "--patient", "P-0001", str(record.parent)]) == 1
    err = capsys.readouterr().err
    assert "no sessions of P-0001" in err and f"{record / 'session.json'}: cannot be read" in err


def test_a_report_that_cannot_be_written(record, monkeypatch, capsys):
    from vr.record import files

    def mkstemp(dir, prefix, suffix):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    assert main(["report", str(record)]) == 1
    err = capsys.readouterr().err
    assert f"cannot write {record}: Permission denied" in err and "the record itself is unchanged" in err


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_real_unreadable_file(record):
    # Root reads a 0000 file anyway: as root (CI's containers), the commands run without the two
    # capabilities that let it (util-linux's setpriv drops them), so the file is really out of reach.
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file-reading capabilities"
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search",
                  "--inh-caps", "-dac_override,-dac_read_search"]
    (record / "events.jsonl").chmod(0)
    try:
        for command in (["verify", record], ["report", record]):
            out = subprocess.run([*prefix, sys.executable, "-m", "vr", *map(str, command)], capture_output=True,
                                 text=True)
            assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
            assert "cannot be read (Permission denied)" in out.stderr, out.stderr
    finally:
        (record / "events.jsonl").chmod(0o600)
