"""The session-record contract: private, gap-free, sampled at 10 Hz, deterministic, crash-tolerant."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from conftest import ROOT
from vr.app.simulate import run_simulation
from vr.record import SessionWriter, check_pseudonym, read_record
from vr.sim import Command, Event

REQUIRED_KINDS = {"session_started", "step_started", "sample", "rating", "clinician_command", "panic",
                  "safe_scene", "session_ended"}


@pytest.fixture(scope="module")
def record(tmp_path_factory, speaking):
    out = tmp_path_factory.mktemp("rec") / "P-0042"
    commands = {int(200 * 30): [Command("step_up", id="c-1")], int(260 * 30): [Command("panic", id="c-2")],
                int(270 * 30): [Command("resume", id="c-3")]}
    summary = run_simulation(speaking, seconds=300, seed=4, out=out, pseudonym="P-0042", commands_at=commands)
    return out, summary


def test_directory_and_files_are_private(record):
    out, _ = record
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for f in out.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_events_are_numbered_without_gaps_and_cover_the_contract(record):
    out, summary = record
    rec = read_record(out)
    assert rec.problems == [] and rec.torn_tail is None
    assert [e["seq"] for e in rec.events] == list(range(len(rec.events)))
    assert len(rec.events) == summary.events
    assert REQUIRED_KINDS <= {e["kind"] for e in rec.events}
    t = [e["t_s"] for e in rec.events]
    assert t == sorted(t)
    for e in rec.events:
        assert list(e)[:3] == ["seq", "t_s", "kind"]


def test_samples_at_ten_hertz_with_per_human_fields(record):
    out, _ = record
    samples = read_record(out).of_kind("sample")
    times = [s["t_s"] for s in samples]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) <= 0.1 + 1e-6 and len(samples) >= 10 * 299
    full = [s for s in samples if s["humans"]["id"]]
    assert full, "some samples have humans"
    for s in full[:50]:
        h = s["humans"]
        assert len(h["id"]) == len(h["distance_m"]) == len(h["gaze_at_patient"])
        assert set(h["gaze_at_patient"]) <= {0, 1}
        assert {"position_m", "yaw_deg", "pitch_deg"} <= set(s["head"]) and "step_index" in s and "intensity" in s


def test_session_json_is_pseudonymous(record):
    out, _ = record
    meta = json.loads((out / "session.json").read_text())
    assert meta["patient"] == "P-0042" and meta["status"] == "complete"
    assert meta["profile"]["file"] == "public_speaking.yaml" and "/" not in meta["profile"]["file"]
    assert {"seed", "backend", "started_utc", "versions", "scene"} <= set(meta)


@pytest.mark.parametrize("name", ["Anna Smith", "anna", "P-", "P-12a", "X" * 7 + "-12", "", "P 0042"])
def test_names_and_malformed_pseudonyms_are_refused(name, tmp_path):
    with pytest.raises(ValueError, match="pseudonym"):
        check_pseudonym(name)
    with pytest.raises(ValueError):
        SessionWriter(tmp_path / "x", {"patient": name})
    assert not (tmp_path / "x").exists()


def test_an_existing_record_is_never_overwritten(record, speaking):
    out, _ = record
    before = (out / "events.jsonl").read_bytes()
    with pytest.raises(FileExistsError):
        run_simulation(speaking, seconds=1, seed=1, out=out, pseudonym="P-0042")
    assert (out / "events.jsonl").read_bytes() == before


def test_torn_last_line_is_detected_and_nothing_before_it_lost(tmp_path):
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"})
    w.write([Event(0.1 * i, "note", {"i": i}) for i in range(50)])
    w.close()
    path = tmp_path / "s" / "events.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"seq":50,"t_s":5.0,"kind":"no')  # a crash mid-write
    rec = read_record(tmp_path / "s")
    assert rec.torn_tail is not None and rec.torn_tail.startswith('{"seq":50')
    assert [e["i"] for e in rec.events] == list(range(50)) and rec.problems == []


def test_same_profile_seed_and_inputs_give_byte_identical_events(tmp_path):
    def run(out):
        subprocess.run([sys.executable, "-m", "vr", "simulate", "--profile",
                        str(ROOT / "exposure_profiles" / "waiting_room_stranger.yaml"), "--seconds", "240",
                        "--seed", "9", "--out", str(out), "-q"], check=True, cwd=tmp_path)
        return (out / "events.jsonl").read_bytes()

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert a == b and len(a) > 10_000
