"""Reports: every section with its plots, nothing fetched from a network, CSVs any tool can read."""

from __future__ import annotations

import csv
import re
import stat
import subprocess
import sys

import pytest

from vr.app.simulate import run_simulation
from vr.record import read_record
from vr.record.report import course_report, session_report
from vr.sim import Command

SECTIONS = ("summary", "suds", "intensity", "humans", "avoidance", "timeline", "transcript", "files")


@pytest.fixture(scope="module")
def session(tmp_path_factory, speaking):
    out = tmp_path_factory.mktemp("rep") / "P-0200_a"
    run_simulation(speaking, seconds=420, seed=2, out=out, pseudonym="P-0200",
                   commands_at={3000: [Command("goto_step", 4, id="a")], 6000: [Command("panic", id="b")],
                                6600: [Command("resume", id="c")], 7000: [Command("ask_rating", text="pain", id="d")]})
    return out


def test_report_has_every_section_and_its_plots_and_needs_no_network(session):
    path = session_report(session)
    text = path.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in text, section
    assert len(re.findall(r'<img alt="plot" src="data:image/png;base64,', text)) == 4  # SUDS, intensity, humans, gaze
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "no external resources"
    assert "<script" not in text and "<link" not in text
    assert "panic (safe scene)" in text and "goto_step" in text and "P-0200" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_csv_files_load_with_the_csv_module(session):
    session_report(session)
    rec = read_record(session)
    with open(session / "samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(rec.of_kind("sample"))
    assert {"t_s", "step_index", "intensity", "looking_at", "nearest_m"} <= set(rows[0])
    with open(session / "ratings.csv", newline="") as f:
        ratings = list(csv.DictReader(f))
    assert len(ratings) == len(rec.of_kind("rating")) and {r["scale"] for r in ratings} >= {"suds", "pain"}
    with open(session / "humans.csv", newline="") as f:
        humans = list(csv.DictReader(f))
    assert len(humans) == sum(len(s["humans"]["id"]) for s in rec.of_kind("sample"))
    with open(session / "steps.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    assert [s["reason"] for s in steps][0] == "start" and any(s["reason"] == "clinician" for s in steps)
    with open(session / "events.csv", newline="") as f:
        kinds = {r["kind"] for r in csv.DictReader(f)}
    assert {"panic", "clinician_command", "rating", "step_started"} <= kinds and "sample" not in kinds


def test_course_report_compares_one_patients_sessions(session, speaking, tmp_path):
    root = session.parent
    run_simulation(speaking, seconds=200, seed=3, out=root / "P-0200_b", pseudonym="P-0200")
    run_simulation(speaking, seconds=100, seed=4, out=root / "P-0300_a", pseudonym="P-0300")
    path = course_report(root, "P-0200")
    text = path.read_text(encoding="utf-8")
    assert text.count("<tr>") == 3  # header and two sessions of P-0200, none of P-0300
    assert "Peak SUDS per step across sessions" in text and "data:image/png;base64," in text
    out = subprocess.run([sys.executable, "-m", "vr", "report", "--patient", "P-9999", str(root)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "no sessions of P-9999" in out.stderr


def test_report_refuses_a_folder_that_is_not_a_record(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vr", "report", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1 and "not a session record" in out.stderr and "Traceback" not in out.stderr
