"""Each distraction profile, rendered headless with the simulated player and clinician, and its report."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from vr.config import load_profile
from vr.record import read_record
from vr.record.replay import verify_replay

PROFILES = [p for p in sorted((ROOT / "exposure_profiles").glob("*.yaml")) if "kind: distraction" in p.read_text()]


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_headless_distraction_run_and_report(path, tmp_path):
    out, shots = tmp_path / "P-0070", tmp_path / "shots"
    proc = subprocess.run([sys.executable, "-m", "vr", "run", "--backend", "offscreen", "--profile", str(path),
                           "--phase-scale", "0.02", "--fps", "10", "--size", "320x180", "--out", str(out),
                           "--screenshots", str(shots), "--screenshot-every", "15", "--pseudonym", "P-0070"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "score" in proc.stdout and "Traceback" not in proc.stderr
    profile = load_profile(path).config
    rec = read_record(out)
    assert rec.problems == [] and rec.meta["status"] == "complete" and rec.meta["kind"] == "distraction"
    assert [e["name"] for e in rec.of_kind("phase_started")] == [p.name for p in profile.phases]
    assert len(rec.of_kind("phase_ended")) >= 1
    pains = rec.of_kind("rating")
    assert {r["when"] for r in pains if r["scale"] == "pain"} == {"before", "during", "after"}
    assert len(rec.of_kind("hit")) >= 5
    assert rec.of_kind("session_ended")[0]["reason"] == "stopped_by_clinician"
    assert verify_replay(out).same
    done = subprocess.run([sys.executable, "-m", "vr", "report", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text()
    assert "The procedure: pain, phases and engagement" in page and profile.phases[0].name in page
    from panda3d.core import PNMImage

    files = sorted(shots.glob("*.png"))
    assert len(files) >= 3
    for f in files:
        img = PNMImage(str(f))
        gray = np.array([[img.getGray(x, y) for x in range(0, 320, 8)] for y in range(0, 180, 8)])
        assert gray.std() > 0.03, f"{f.name} shows a scene, not a blank frame"
