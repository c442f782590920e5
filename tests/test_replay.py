"""Replay: a recorded session re-runs from its seed and logged inputs to the same events."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from vr.app.simulate import run_simulation
from vr.record.replay import load_inputs, verify_replay
from vr.sim import Command


@pytest.fixture
def recorded(tmp_path, speaking):
    out = tmp_path / "P-0011"
    run_simulation(speaking, seconds=300, seed=8, out=out, pseudonym="P-0011",
                   commands_at={300: [Command("goto_step", 3, id="a")], 3000: [Command("panic", id="b")],
                                3300: [Command("resume", id="c")], 4000: [Command("set_intensity", 0.7, id="d")]})
    return out


def test_the_rerun_gives_the_recorded_events(recorded):
    verdict = verify_replay(recorded)
    assert verdict.same, verdict.message
    assert verdict.events > 3000 and len(verdict.digest) == 32
    assert len(load_inputs(recorded)) == 300 * 30
    out = subprocess.run([sys.executable, "-m", "vr", "replay", "--verify", str(recorded)], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "gives the same" in out.stdout


def test_a_changed_input_is_caught(recorded):
    path = recorded / "inputs.jsonl"
    lines = path.read_text().splitlines()
    for k in range(1500, 1530):  # the patient's head half a metre off for one second
        row = json.loads(lines[k])
        row[1] += 0.5
        lines[k] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    verdict = verify_replay(recorded)
    assert not verdict.same and "differs from the re-run" in verdict.message


def test_a_changed_seed_or_profile_is_caught(recorded):
    meta = json.loads((recorded / "session.json").read_text())
    meta["seed"] = 9
    (recorded / "session.json").write_text(json.dumps(meta))
    assert not verify_replay(recorded).same
    meta["seed"] = 8
    (recorded / "session.json").write_text(json.dumps(meta))
    with open(recorded / "profile.yaml", "a") as f:
        f.write("\n# edited\n")
    out = subprocess.run([sys.executable, "-m", "vr", "replay", "--verify", str(recorded)], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "sha256 mismatch" in out.stderr


def test_a_rendered_run_replays_too(tmp_path):
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "vr", "run", "--backend", "offscreen", "--profile",
                    str(ROOT / "exposure_profiles" / "demo_tour.yaml"), "--seconds", "12", "--fps", "10",
                    "--out", str(out), "--size", "160x90", "-q"], check=True)
    verdict = verify_replay(out)
    assert verdict.same, verdict.message
    shots = tmp_path / "shots"
    done = subprocess.run([sys.executable, "-m", "vr", "replay", str(out), "--backend", "offscreen",
                           "--screenshots", str(shots), "--screenshot-every", "5", "--size", "160x90"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(list(shots.glob("*.png"))) == 3 and "replayed 12." in done.stdout
