"""Reports: every section with its plots, nothing fetched from a network, CSVs any tool can read."""

from __future__ import annotations

import csv
import json
import re
import shutil
import stat
import subprocess
import sys

import pytest

from vr.app.simulate import run_simulation
from vr.record import SessionWriter, read_record
from vr.record.course import course_report
from vr.record.report import session_report
from vr.sim import Command, Event

SECTIONS = ("summary", "suds", "intensity", "humans", "avoidance", "timeline", "transcript", "files")


@pytest.fixture(scope="module")
def session(tmp_path_factory, speaking):
    out = tmp_path_factory.mktemp("rep") / "P-0200_a"
    run_simulation(speaking, seconds=420, seed=2, out=out, pseudonym="P-0200",
                   commands_at={3000: [Command("goto_step", 4, id="a")], 6000: [Command("panic", id="b")],
                                6600: [Command("resume", id="c")], 7000: [Command("ask_rating", text="pain", id="d")]})
    return out


def test_report_has_every_section_and_its_plots_and_needs_no_network(session):
    written = session_report(session)
    assert written.trusted and written.problems == []
    path = written.path
    text = path.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in text, section
    assert len(re.findall(r'<img alt="plot" src="data:image/png;base64,', text)) == 4  # SUDS, intensity, humans, gaze
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "no external resources"
    assert "<script" not in text and "<link" not in text
    assert "panic (safe scene)" in text and "goto_step" in text and "P-0200" in text
    assert 'class="untrusted"' not in text and "NOT VERIFIED" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for p in session.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600 and not p.name.endswith(".tmp"), p
    assert (session / "VERIFY.txt").read_text().startswith("VERIFIED")


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
    assert {r["record_verified"] for r in rows + ratings} == {"yes"}
    assert {r["value_in_range"] for r in ratings} == {"yes"}
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
    written = course_report(root, "P-0200")
    assert written.trusted
    text = written.path.read_text(encoding="utf-8")
    sessions = text.split('<h2 id="sessions">')[1].split("<h2")[0]
    assert sessions.count("<tr>") == 3  # header and two sessions of P-0200, none of P-0300
    assert text.count(">verified<") == 2 and 'class="untrusted"' not in text
    assert "Peak SUDS per step across sessions" in text and "data:image/png;base64," in text
    out = subprocess.run([sys.executable, "-m", "vr", "report", "--patient", "P-9999", str(root)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "no sessions of P-9999" in out.stderr


def test_report_refuses_a_folder_that_is_not_a_record(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vr", "report", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1 and "not a session record" in out.stderr and "Traceback" not in out.stderr


# -- records that must not be trusted ----------------------------------------------------------------


def report(folder, *more):
    return subprocess.run([sys.executable, "-m", "vr", "report", *more, str(folder)], capture_output=True, text=True)


@pytest.fixture
def copy(session, tmp_path):
    """A fresh copy of the module's record, to alter."""
    out = tmp_path / "P-0200_copy"
    shutil.copytree(session, out)
    for name in ("report.html", "VERIFY.txt", *(p.name for p in session.glob("*.csv"))):
        (out / name).unlink(missing_ok=True)
    return out


def lines_of(folder):
    return (folder / "events.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(folder, lines):
    (folder / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def first_suds_line(lines):
    return next(k for k, line in enumerate(lines) if b'"kind":"rating"' in line and b'"scale":"suds"' in line)


def assert_marked(folder, line, out):
    """The page, the CSV files and VERIFY.txt all say the record must not be trusted, and where."""
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"events.jsonl:{line}:" in out.stderr and "do not rely on this report" in out.stderr
    text = (folder / "report.html").read_text(encoding="utf-8")
    banner = text[text.index('class="untrusted"'):text.index("</div>")]
    assert text.index('class="untrusted"') < text.index('id="summary"'), "the banner comes first"
    assert f"line {line} of events.jsonl" in banner and f"events.jsonl:{line}:" in banner
    assert str(folder) not in text, "no full paths in a page that may be shared"
    for csv_path in folder.glob("*.csv"):
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows == [] or {r["record_verified"] for r in rows} == {"no"}, csv_path
    note = (folder / "VERIFY.txt").read_text()
    assert note.startswith("NOT TRUSTWORTHY") and f"line {line} of events.jsonl" in note
    assert stat.S_IMODE((folder / "VERIFY.txt").stat().st_mode) == 0o600


def test_a_tampered_suds_of_118_is_flagged_not_plotted_as_data(copy):
    lines = lines_of(copy)
    k = first_suds_line(lines)
    lines[k] = re.sub(rb'"value":[0-9.]+', b'"value":118', lines[k])
    write_lines(copy, lines)
    out = report(copy)
    assert_marked(copy, k + 1, out)
    text = (copy / "report.html").read_text(encoding="utf-8")
    assert "suds rating of 118" in text and "outside its scale (0-100)" in text
    with open(copy / "ratings.csv", newline="") as f:
        bad = [r for r in csv.DictReader(f) if r["value"] == "118"]
    assert len(bad) == 1 and bad[0]["value_in_range"] == "no"
    with open(copy / "steps.csv", newline="") as f:
        assert "118" not in {r["suds_peak"] for r in csv.DictReader(f)}, "not counted as a peak"


def test_a_deleted_line_is_flagged(copy):
    lines = lines_of(copy)
    del lines[500]
    write_lines(copy, lines)
    assert_marked(copy, 501, report(copy))


def test_swapped_lines_are_flagged(copy):
    lines = lines_of(copy)
    lines[300], lines[301] = lines[301], lines[300]
    write_lines(copy, lines)
    assert_marked(copy, 301, report(copy))


def test_a_record_cut_short_is_flagged(copy):
    lines = lines_of(copy)
    write_lines(copy, lines[: len(lines) // 2])
    assert_marked(copy, len(lines) // 2 + 1, report(copy))


def test_a_rating_outside_its_scale_is_flagged_even_with_an_intact_chain(tmp_path):
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001", "profile": {"name": "t"}, "scene": {"name": "x"}})
    w.write([Event(0.0, "session_started", {}),
             Event(0.0, "step_started", {"index": 0, "name": "a", "reason": "start"}),
             Event(5.0, "rating", {"scale": "suds", "value": 40}), Event(9.0, "rating", {"scale": "pain", "value": 14}),
             Event(10.0, "session_ended", {"reason": "stopped", "step_index": 0})])
    w.close()
    written = session_report(tmp_path / "s")
    assert not written.trusted and "pain rating of 14" in written.problems[0]
    text = written.path.read_text(encoding="utf-8")
    assert "line 4 of events.jsonl" in text and "outside its scale (0-10)" in text
    with open(tmp_path / "s" / "steps.csv", newline="") as f:
        assert [r["suds_peak"] for r in csv.DictReader(f)] == ["40"]


def test_the_course_report_flags_an_untrustworthy_session(session, speaking, tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    run_simulation(speaking, seconds=120, seed=3, out=root / "P-0400_a", pseudonym="P-0400")
    run_simulation(speaking, seconds=120, seed=4, out=root / "P-0400_b", pseudonym="P-0400")
    lines = lines_of(root / "P-0400_b")
    k = first_suds_line(lines)
    lines[k] = re.sub(rb'"value":[0-9.]+', b'"value":118', lines[k])
    write_lines(root / "P-0400_b", lines)
    out = report(root, "--patient", "P-0400")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "P-0400_b" in out.stderr and f"line {k + 1} of events.jsonl" in out.stderr
    text = (root / "course_P-0400.html").read_text(encoding="utf-8")
    assert 'class="untrusted"' in text and text.count(">verified<") == 1
    assert f"NOT VERIFIED (line {k + 1} of events.jsonl)" in text
