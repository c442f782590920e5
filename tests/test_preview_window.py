"""The desktop preview in a real window on a virtual display (Xvfb): keys change the session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, wait_for_event
from vr.record import read_record

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="Xvfb and xdotool are needed (scripts/setup.sh installs them)")


def xdo(display: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True)


def find_window(display: str, title: str) -> str:
    """The id of the first window whose title contains ``title`` (waits up to 30 s for it)."""
    for _ in range(60):
        found = xdo(display, "search", "--name", title)
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.5)
    return ""


def open_preview(display: str, profile: str, out, *extra: str):
    """The preview of ``profile`` in a real window: the process, the window id, and a key sender."""
    env = {**os.environ, "DISPLAY": display, "ALSOFT_DRIVERS": "null"}  # OpenAL runs with no sound card
    proc = subprocess.Popen([sys.executable, "-m", "vr", "preview", "--profile",
                             str(ROOT / "exposure_profiles" / profile), "--out", str(out),
                             "--size", "640x360", "--seconds", "600", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    window = find_window(display, "vr - ")
    if not window:
        proc.kill()
    assert window, "the preview window appeared"
    xdo(display, "windowactivate", "--sync", window)
    # Keys count from the first frames on (the window can take several seconds to draw them).
    assert wait_for_event(Path(out), "frame_stats"), "the preview never drew a frame"

    def key(name: str, until: tuple[str, int] | None = None) -> None:
        """Press ``name``; with ``until`` (kind, count), wait until the record holds that many of
        that event: two keys in one frame would both be read against the same world (space
        twice would pause twice), so each waits for the last one's effect. X keeps keys in
        order, so a key with no event of its own (T opens the words box) needs no wait."""
        xdo(display, "key", "--window", window, name)
        if until is not None:
            assert wait_for_event(Path(out), until[0], count=until[1]), f"{name}: no {until[0]} #{until[1]} recorded"

    return proc, window, key


def test_keys_in_the_preview_window_drive_the_session(display, tmp_path):
    out = tmp_path / "session"
    proc, window, key = open_preview(display, "demo_tour.yaml", out)
    try:
        key("Up", ("clinician_command", 1))      # step up
        key("7", ("rating", 1))                  # SUDS 70
        key("t")           # the patient's words: P and digits are letters while the box is open
        xdo(display, "type", "--window", window, "--delay", "60", "sorry, perhaps 7 minutes")
        key("Return", ("patient_said", 1))
        key("space", ("clinician_command", 2))   # pause
        key("space", ("clinician_command", 3))   # resume
        key("p", ("panic", 1))
        key("Escape")      # end the session
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = read_record(out)
    commands = [(e["command"], e["applied"]) for e in rec.of_kind("clinician_command")]
    assert ("step_up", True) in commands and ("pause", True) in commands and ("resume", True) in commands
    assert ("panic", True) in commands
    assert [e["value"] for e in rec.of_kind("rating")] == [70.0]
    said = rec.of_kind("patient_said")
    assert [e["text"] for e in said] == ["sorry, perhaps 7 minutes"] and said[0]["risk"] is None
    assert len(rec.of_kind("panic")) == 1  # the p typed into the box did not panic
    assert rec.of_kind("safe_scene") and rec.of_kind("session_ended")[0]["reason"] == "stopped_by_clinician"
    assert all(e["source"] == "keyboard" for e in rec.of_kind("clinician_command"))
    assert rec.of_kind("frame_stats"), "frame times are recorded"


def test_replay_window_seeks_with_the_arrow_keys(display, tmp_path):
    session = tmp_path / "P-0005"
    subprocess.run([sys.executable, "-m", "vr", "simulate", "--profile",
                    str(ROOT / "exposure_profiles" / "demo_tour.yaml"), "--seconds", "60", "--out", str(session),
                    "-q"], check=True)
    shots = tmp_path / "shots"
    env = {**os.environ, "DISPLAY": display, "ALSOFT_DRIVERS": "null"}
    proc = subprocess.Popen([sys.executable, "-m", "vr", "replay", str(session), "--backend", "desktop",
                             "--screenshots", str(shots), "--screenshot-every", "2", "--size", "480x270"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = find_window(display, "vr replay")
        assert window, "the replay window appeared"

        def shown_s() -> float:
            """The replay time of the latest screenshot (one every 2 s of replay time), -1 before the first."""
            return max((float(p.stem.split("_t")[1].rstrip("s")) for p in shots.glob("*.png")), default=-1.0)

        def until(condition, timeout_s: float = 30.0) -> bool:
            deadline = time.monotonic() + timeout_s
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.1)
            return condition()

        assert until(lambda: shown_s() >= 0.0), "the replay is running"
        for seek in (1, 2):
            # Each Right seeks 10 s on: a picture 9 s later than the last comes within 5 s, which
            # playing alone (1 s a second, the last picture up to 2 s old) cannot give.
            before = shown_s()
            xdo(display, "key", "--window", window, "Right")
            assert until(lambda: shown_s() >= before + 9.0, 5.0), f"seek {seek}: {before} s, then {shown_s()} s"
        xdo(display, "key", "--window", window, "space")
        xdo(display, "key", "--window", window, "Escape")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr[-2000:]
    times = sorted(float(p.stem.split("_t")[1].rstrip("s")) for p in shots.glob("*.png"))
    assert times and times[-1] >= 20.0, f"two seeks of 10 s moved the replay on: {times}"


def test_distraction_in_the_preview_window(display, tmp_path):
    # The clinician's keys for a procedure, and a click that throws.
    out = tmp_path / "session"
    proc, window, key = open_preview(display, "needle_reef.yaml", out, "--no-dialogue")
    try:
        key("3", ("rating", 1))              # pain 3, before the procedure
        key("n", ("phase_started", 1))       # phase 1 starts
        xdo(display, "click", "--window", window, "1")   # a throw at the reticle (the game's, no event of its own)
        key("b", ("breathing", 1))           # breathing pacer off (the profile starts with it on)
        key("6", ("rating", 2))              # pain 6, during
        key("n", ("phase_started", 2))       # phase 2 (ends phase 1)
        key("e", ("phase_ended", 2))         # phase 2 ends
        key("minus", ("rating", 3))          # pain 10
        key("Escape")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = read_record(out)
    assert [e["index"] for e in rec.of_kind("phase_started")] == [0, 1]
    assert [e["index"] for e in rec.of_kind("phase_ended")] == [0, 1]
    pains = [(e["value"], e["when"]) for e in rec.of_kind("rating")]
    assert pains == [(3.0, "before"), (6.0, "during"), (10.0, "after")]
    assert [e["on"] for e in rec.of_kind("breathing")] == [False]
    assert rec.meta["kind"] == "distraction"
