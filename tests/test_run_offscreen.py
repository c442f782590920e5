"""``vr run --backend offscreen``: real rendering with no display, a full record and screenshots."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import numpy as np

from conftest import ROOT
from vr.record import read_record


def test_offscreen_run_writes_record_telemetry_and_screenshots(tmp_path):
    out, shots = tmp_path / "P-0007", tmp_path / "P-0007" / "shots"
    proc = subprocess.run([sys.executable, "-m", "vr", "run", "--backend", "offscreen", "--profile",
                           str(ROOT / "exposure_profiles" / "demo_tour.yaml"), "--seconds", "30", "--fps", "10",
                           "--out", str(out), "--screenshots", str(shots), "--screenshot-every", "12",
                           "--pseudonym", "P-0007", "--size", "320x180"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rec = read_record(out)
    assert rec.problems == [] and rec.meta["backend"] == "offscreen" and rec.meta["status"] == "complete"
    assert "renderer" in rec.meta
    kinds = [e["kind"] for e in rec.events]
    assert kinds.count("step_started") >= 3 and "session_ended" in kinds
    stats = rec.of_kind("frame_stats")
    assert len(stats) >= 25 and all(len(s["cpu_ms"]) == s["frames"] for s in stats)
    assert sum(s["frames"] for s in stats) >= 280  # 10 frames per simulated second
    files = sorted(shots.glob("*.png"))
    assert len(files) == 3  # at 0, 12 and 24 s
    assert stat.S_IMODE(shots.stat().st_mode) == 0o700
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    from panda3d.core import PNMImage

    spread = []
    for f in files:
        img = PNMImage(str(f))
        spread.append(np.array([[img.getGray(x, y) for x in range(0, 320, 4)] for y in range(0, 180, 4)]).std())
    assert min(spread) > 0.01 and max(spread) > 0.05, f"screenshots show scenes, not blank frames: {spread}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] >= 280 and summary["highest_step"] >= 2


def test_desktop_backend_without_a_display_says_what_to_do(tmp_path, monkeypatch):
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "vr", "preview", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "--backend offscreen" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()
