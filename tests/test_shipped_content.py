"""Every shipped profile and scene validates, and each profile runs 30 simulated minutes cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT
from vr.config import load_profile, validate_file
from vr.record import read_record

PROFILES = sorted((ROOT / "exposure_profiles").glob("*.yaml"))
SCENES = sorted((ROOT / "scenes").glob("*.yaml"))
SOCIAL = {"auditorium", "waiting_room", "interview_room", "elevator", "subway_car"}


def test_the_social_set_and_safe_room_are_shipped():
    names = {p.stem for p in SCENES}
    assert SOCIAL | {"calm_room"} <= names
    assert len(PROFILES) >= 4


@pytest.mark.parametrize("path", SCENES + PROFILES, ids=lambda p: p.name)
def test_shipped_file_validates(path):
    validate_file(path)


EXPOSURE = [p for p in PROFILES if "kind: distraction" not in p.read_text()]
DISTRACTION = [p for p in PROFILES if p not in EXPOSURE]


def test_distraction_profiles_are_shipped_for_both_scenes():
    scenes = {load_profile(p).config.scene for p in DISTRACTION}
    assert scenes == {"snowy_canyon", "reef"}


@pytest.mark.parametrize("path", EXPOSURE, ids=lambda p: p.name)
def test_profiles_are_real_hierarchies(path):
    profile = load_profile(path).config
    assert len(profile.steps) >= 5
    assert profile.steps[0].humans <= profile.steps[-1].humans
    assert profile.steps[-1].intensity > profile.steps[0].intensity
    assert profile.description.strip()


@pytest.fixture(scope="module")
def half_hour_runs(tmp_path_factory):
    """Each profile for 1800 simulated seconds, two at a time (the machine has two cores)."""
    root = tmp_path_factory.mktemp("runs")

    def run(path: Path):
        out = root / path.stem
        proc = subprocess.run([sys.executable, "-m", "vr", "simulate", "--profile", str(path), "--seconds", "1800",
                               "--seed", "3", "--out", str(out)], capture_output=True, text=True)
        return path, out, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(run, PROFILES))


def test_every_profile_runs_thirty_minutes(half_hour_runs):
    for path, out, proc in half_hour_runs:
        assert proc.returncode == 0, proc.stderr
        print(proc.stdout)
        profile = load_profile(path).config
        rec = read_record(out)
        assert rec.problems == [] and rec.torn_tail is None, path
        samples = rec.of_kind("sample")
        if path in DISTRACTION:  # the simulated procedure: every phase marked, pain before, during and after
            started = [e["name"] for e in rec.of_kind("phase_started")]
            assert started == [p.name for p in profile.phases], path
            assert {r["when"] for r in rec.of_kind("rating") if r["scale"] == "pain"} == {"before", "during", "after"}
            assert rec.of_kind("session_ended")[0]["reason"] == "stopped_by_clinician"
            assert len(rec.of_kind("hit")) > 50
            continue
        length_s = min(1800.0, profile.safety.max_session_min * 60.0)  # the demo tour stops at 10 min
        assert len(samples) >= 10 * (length_s - 10)
        ended = rec.of_kind("session_ended")
        assert len(ended) == 1
        cap, min_d = profile.safety.max_intensity, profile.safety.min_distance_m
        assert max(s["intensity"] for s in samples) <= cap + 1e-9
        nearest = min((min(s["humans"]["distance_m"]) for s in samples if s["humans"]["distance_m"]), default=99)
        assert nearest >= min_d - 0.01, path  # distances are logged to the centimetre
        summary = json.loads((out / "summary.json").read_text())
        assert summary["highest_step"] >= 3, f"{path.name}: the synthetic patient should climb the hierarchy"
        assert len(rec.of_kind("rating")) >= length_s / 120
