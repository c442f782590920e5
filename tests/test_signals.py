"""A session a signal ends (Ctrl-C, ``kill``, ``timeout``, systemd, a closed terminal) ends cleanly.

As a clinician's stop does: ``session_ended`` with the reason, ``session.json`` complete, the
summary written, the chain intact, the dialogue worker and the console closed, no traceback
from any process, and the exit status 128 + the signal's number. ``timeout`` and systemd
signal every process of the session at once, and so does a terminal's Ctrl-C or hang-up, so
the rendered runs are signalled as a process group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, wait_for_event
from vr.record import read_record
from vr.record.verify import verify_events

PROFILE = str(ROOT / "exposure_profiles" / "demo_tour.yaml")
ENDS = [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "hangup"), (signal.SIGINT, "interrupted")]


def _start(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """``vr ARGS`` in a process group of its own (so the group can be signalled as a terminal would)."""
    return subprocess.Popen([sys.executable, "-m", "vr", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "ALSOFT_DRIVERS": "null", **(env or {})})


def _living(group: int) -> list[int]:
    """The processes of ``group`` that still run (zombies waiting for a parent to reap them do not)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _ended_cleanly(proc: subprocess.Popen, out: Path, sig: signal.Signals, reason: str) -> str:
    """Wait for the end; check the exit status, the record, the summary and that nothing is left running."""
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, f"exit {proc.returncode}\n{stderr[-3000:]}"
    for text in (stdout, stderr):
        assert "Traceback" not in text and "Error" not in text and "resource_tracker" not in text, text[-3000:]
    deadline = time.monotonic() + 30
    while _living(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _living(proc.pid), "a process of the session outlived it"
    rec = read_record(out)
    assert rec.meta["status"] == "complete" and rec.meta["ended"] == reason
    assert [e["reason"] for e in rec.of_kind("session_ended")] == [reason]
    assert rec.torn_tail is None and verify_events(out).ok
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ended"] == reason
    assert f"ended: {reason}" in stdout
    return stderr


@pytest.mark.parametrize("sig, reason", ENDS, ids=[s.name for s, _ in ENDS])
def test_a_signalled_dry_run_ends_cleanly(tmp_path: Path, sig: signal.Signals, reason: str) -> None:
    out = tmp_path / "sessions" / "P-0011_signal"
    proc = _start(tmp_path, "simulate", "--profile", PROFILE, "--seconds", "100000", "--out", str(out))
    assert wait_for_event(out, "sample"), "the dry run never started"
    os.kill(proc.pid, sig)
    _ended_cleanly(proc, out, sig, reason)


@pytest.mark.parametrize("sig, reason", ENDS, ids=[s.name for s, _ in ENDS])
def test_a_signal_to_every_process_of_a_rendered_run_ends_it_cleanly(tmp_path: Path, sig: signal.Signals,
                                                                     reason: str) -> None:
    # The dialogue worker and the console are their own processes and get the signal too.
    out = tmp_path / "P-0012"
    proc = _start(tmp_path, "run", "--backend", "offscreen", "--profile", PROFILE, "--seconds", "600",
                  "--size", "160x90", "--console-port", "0", "--out", str(out))
    assert wait_for_event(out, "frame_stats", timeout_s=90), "the run never drew a frame"
    os.killpg(proc.pid, sig)
    _ended_cleanly(proc, out, sig, reason)
    rec = read_record(out)
    alerts = [e["message"] for e in rec.of_kind("alert")]
    assert not any("restart" in m or "stopped" in m for m in alerts), alerts  # nothing was started again


@pytest.mark.skipif(not shutil.which("Xvfb"), reason="Xvfb is needed (scripts/setup.sh installs it)")
@pytest.mark.parametrize("sig, reason", ENDS[:2], ids=[s.name for s, _ in ENDS[:2]])
def test_a_killed_preview_window_ends_cleanly(display: str, tmp_path: Path, sig: signal.Signals,
                                             reason: str) -> None:
    out = tmp_path / "P-0013"
    proc = _start(tmp_path, "preview", "--profile", PROFILE, "--seconds", "600", "--size", "320x180",
                  "--no-dialogue", "--no-console", "--out", str(out), env={"DISPLAY": display})
    assert wait_for_event(out, "frame_stats", timeout_s=90), "the preview never drew a frame"
    os.kill(proc.pid, sig)
    _ended_cleanly(proc, out, sig, reason)


def test_the_dialogue_worker_ends_quietly_when_the_app_is_killed(tmp_path: Path) -> None:
    # The app killed outright (SIGKILL): its end of the pipe closes and the worker, waiting for a
    # request, must stop without an EOFError traceback on the terminal.
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from vr.dialogue.bank import DIALOGUE_DIR, load_bank\n"
        "from vr.dialogue.worker import DialogueWorker\n"
        "w = DialogueWorker({'interview_room': load_bank('interview_room')}, seed=1, cache_dir=Path(sys.argv[1]),\n"
        "                   bank_dir=DIALOGUE_DIR, prefer='lexical')\n"
        "while not w.status.ready:\n"
        "    w.poll(); time.sleep(0.01)\n"
        "print('ready', w._proc.pid, flush=True)\n"
        "time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "cache")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = proc.stdout.readline().split()
    assert line[:1] == ["ready"], proc.stderr.read()
    worker = int(line[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stderr = proc.stderr.read()   # to its end: the worker shares the pipe, so this waits for it too
    assert "Traceback" not in stderr and "EOFError" not in stderr, stderr
    deadline = time.monotonic() + 30
    while worker in _living(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker not in _living(proc.pid), "the worker outlived the app"
