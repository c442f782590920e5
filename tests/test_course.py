"""The course view (``vr report --patient``): its numbers on a five-session course written by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vr.app.summary import record_files, record_meta
from vr.config import load_profile
from vr.record import SessionWriter
from vr.record.course import _sessions, course_report, next_start
from vr.sim.types import Event

ROOT = Path(__file__).resolve().parents[1]
PATIENT = "P-0700"

# Per session: (step index, [SUDS ratings], [heart rates]) in the order visited, and the note.
COURSE = [
    ([(0, [10], [70, 72]), (1, [45, 35], [80, 84]), (2, [70, 55, 50], [98, 104, 96])], "climbed to step 3"),
    ([(0, [12], [71]), (1, [], [75]), (2, [60, 38], [95, 90]), (3, [72, 48], [101, 99])], "step 4 was hard"),
    ([(0, [9], [70]), (3, [58, 36], [92]), (4, [65, 39], [97]), (5, [70, 44], [103, 100])], "good session"),
    ([(0, [10], [72]), (5, [55, 33], [94]), (6, [68, 41], [99, 102])], "top step reached"),
    ([(0, [8], [71]), (6, [52, 30], [93, 88])], "top step habituated"),
]


def _sample(t: float, index: int, hr: float) -> Event:
    return Event(t, "sample", {"mode": "running", "step_index": index, "intensity": 0.3,
                               "head": {"position_m": [0.0, 0.0, 1.6], "yaw_deg": 0.0, "pitch_deg": 0.0},
                               "looking_at": None, "humans": {"id": [], "distance_m": [], "gaze_at_patient": []},
                               "hr_bpm": hr})


def write_course(root: Path) -> None:
    loaded = load_profile(ROOT / "exposure_profiles" / "public_speaking_body.yaml")
    names = [s.name for s in loaded.config.steps]
    for k, (visits, note) in enumerate(COURSE, start=1):
        events = [Event(0.0, "session_started", {"profile": loaded.config.name, "seed": k})]
        t, previous = 0.0, None
        for index, suds, hrs in visits:
            events.append(Event(t, "step_started", {"index": index, "name": names[index],
                                                    "reason": "start" if previous is None else "clinician",
                                                    "from": previous}))
            if index == 0:
                events.append(Event(t + 1, "physio_baseline", {"over": "first_step", "hr_bpm": 70.0 + k,
                                                               "eda_us": 2.0}))
            for j, value in enumerate(suds):
                events.append(Event(t + 10 + 30 * j, "rating", {"scale": "suds", "value": value, "source": "patient"}))
            for j, hr in enumerate(hrs):
                events.append(_sample(t + 5 + 30 * j, index, hr))
            previous, t = index, t + 120.0
        events.append(Event(t - 5, "clinician_command", {"command": "note", "id": "", "source": "clinician",
                                                         "text": note, "applied": True}))
        events.append(Event(t, "session_ended", {"reason": "stopped", "step_index": previous}))
        events.sort(key=lambda e: e.t_s)
        writer = SessionWriter(root / f"{PATIENT}_s{k}", record_meta(loaded, pseudonym=PATIENT, backend="test", seed=k),
                               attachments=record_files(loaded))
        writer.write(events)
        writer.close(events=len(events), ended="stopped")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    write_course(root)
    return root


def test_the_course_numbers(course):
    sessions, problems = _sessions(course, PATIENT)
    assert problems == [] and len(sessions) == 5 and all(s.trust.ok for s in sessions)
    first, second = sessions[0].steps, sessions[1].steps
    assert (first[2].peak, first[2].end, first[2].drop, first[2].hr_peak) == (70, 50, 20, 104)
    assert (second[2].peak, second[2].end, second[2].drop) == (60, 38, 22)
    assert 1 in second and second[1].suds == []             # visited (two minutes), not rated
    assert [s.first_step + 1 for s in sessions] == [2, 2, 4, 6, 7]
    assert [s.highest + 1 for s in sessions] == [3, 4, 6, 7, 7]
    assert [s.hr_baseline for s in sessions] == [71.0, 72.0, 73.0, 74.0, 75.0]
    assert sessions[3].notes == [(355.0, 6, "top step reached")]
    # the thresholds come from the profile kept in each record: suds_at_most 40, and 40 for 'clinician'
    assert sessions[0].thresholds == {i: 40.0 for i in range(7)}


def test_where_the_next_session_starts(course):
    sessions, _ = _sessions(course, PATIENT)
    names = sessions[0].names
    start, why = next_start(sessions[:1], names)
    assert start == 2 and "step 3" in why and "SUDS 50" in why and "advance line of 40" in why
    assert next_start(sessions[:2], names)[0] == 3           # step 4 ended at 48
    assert next_start(sessions[:3], names)[0] == 5           # step 6 ended at 44
    assert next_start(sessions[:4], names)[0] == 6           # step 7 ended at 41
    start, why = next_start(sessions, names)
    assert start == 6 and "hierarchy is complete" in why


def test_the_course_page(course):
    written = course_report(course, PATIENT)
    assert written.trusted
    text = written.path.read_text(encoding="utf-8")
    for heading in ("Where the next session should start", "The hierarchy climbed",
                    "Peak SUDS per step across sessions", "Within-session habituation", "Between-session habituation",
                    "Clinician's notes"):
        assert heading in text, heading
    assert "<b>Step 7: Hostile questions from the front rows</b>" in text
    assert "<td class=\"\">70 / 50 / 104</td>" in text                   # step 3 in session 1: peak / end / HR
    between = text.split('<h2 id="between">')[1].split("<h2")[0]
    assert "70 (s1)" in between and "60 (s2)" in between and ">+10<" in between   # step 3 across sessions
    assert "68 (s4)" in between and "52 (s5)" in between and ">+16<" in between   # step 7
    assert "top step habituated" in text and text.count("data:image/png;base64,") == 2


def test_the_cli_writes_the_course_view(course):
    out = subprocess.run([sys.executable, "-m", "vr", "report", "--patient", PATIENT, str(course)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (course / f"course_{PATIENT}.html").is_file()
