"""Tamper evidence: the hash chain names the first altered, missing or reordered line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vr.record import SessionWriter, read_record
from vr.record.verify import verify_events
from vr.sim import Event


@pytest.fixture
def record(tmp_path):
    w = SessionWriter(tmp_path / "s", {"patient": "P-0001"})
    w.write([Event(0.1 * i, "note", {"i": i, "text": f"line {i}"}) for i in range(200)])
    w.close()
    return tmp_path / "s"


def lines_of(record):
    return (record / "events.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(record, lines):
    (record / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def test_an_intact_record_verifies(record):
    v = verify_events(record)
    assert v.ok and v.lines == 200, v.problems
    out = subprocess.run([sys.executable, "-m", "vr", "verify", str(record)], capture_output=True, text=True)
    assert out.returncode == 0 and "hash chain intact" in out.stdout
    assert all("hash" in e for e in read_record(record).events)


@pytest.mark.parametrize("line", [1, 57, 100, 200])
def test_one_changed_byte_names_its_line(record, line):
    data = bytearray((record / "events.jsonl").read_bytes())
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10][:-1]
    at = starts[line - 1] + data[starts[line - 1]:].index(b"line") + 5  # a digit inside the text
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    (record / "events.jsonl").write_bytes(bytes(data))
    v = verify_events(record)
    assert not v.ok and v.first_bad_line == line
    out = subprocess.run([sys.executable, "-m", "vr", "verify", str(record)], capture_output=True, text=True)
    assert out.returncode == 1 and f"events.jsonl:{line}: altered" in out.stderr


def test_a_missing_line_is_named(record):
    lines = lines_of(record)
    del lines[120]
    write_lines(record, lines)
    v = verify_events(record)
    assert v.first_bad_line == 121 and "seq 121 where 120 was expected: lines missing" in v.problems[0]


def test_swapped_lines_are_named(record):
    lines = lines_of(record)
    lines[30], lines[31] = lines[31], lines[30]
    write_lines(record, lines)
    v = verify_events(record)
    assert v.first_bad_line == 31 and "seq 31 where 30 was expected" in v.problems[0]


def test_a_rewritten_line_with_a_recomputed_json_still_breaks_the_chain(record):
    lines = lines_of(record)
    lines[10] = lines[10].replace(b'"i":10', b'"i":11')
    write_lines(record, lines)
    assert verify_events(record).first_bad_line == 11


def as_if_crashed(record):
    """session.json as a crash leaves it: still ``recording``, with none of the end's fields."""
    meta = json.loads((record / "session.json").read_text())
    for key in ("events_written", "last_hash", "ended_utc", "storage"):
        meta.pop(key, None)
    meta["status"] = "recording"
    (record / "session.json").write_text(json.dumps(meta))


def test_torn_tail_after_a_crash_is_reported_not_failed(record):
    as_if_crashed(record)
    with open(record / "events.jsonl", "ab") as f:
        f.write(b'{"seq":200,"t_s":20.0,"kind":"no')
    v = verify_events(record)
    assert v.ok and v.torn_tail and "cut short" in v.text() and "crash" in v.text()


def test_session_json_stores_the_end_of_the_record(record):
    meta = json.loads((record / "session.json").read_text())
    last = lines_of(record)[-1]
    assert meta["status"] == "complete" and meta["events_written"] == 200
    assert meta["last_hash"] == json.loads(last)["hash"]


def test_a_record_cut_to_half_is_named_not_taken_for_a_crash(record):
    write_lines(record, lines_of(record)[:100])
    v = verify_events(record)
    assert not v.ok and v.first_bad_line == 101
    assert "ended (complete) with 200 events" in v.problems[0] and "100 line(s) are missing" in v.problems[0]
    out = subprocess.run([sys.executable, "-m", "vr", "verify", str(record)], capture_output=True, text=True)
    assert out.returncode == 1 and "events.jsonl:101:" in out.stderr and "cut short" in out.stderr


def test_a_record_cut_mid_line_after_a_clean_end_is_named(record):
    data = (record / "events.jsonl").read_bytes()
    (record / "events.jsonl").write_bytes(data[: len(data) // 2])
    v = verify_events(record)
    assert not v.ok and "line(s) are missing" in v.problems[0]


def test_a_crashed_record_cut_at_a_line_boundary_stays_acceptable(record):
    as_if_crashed(record)
    write_lines(record, lines_of(record)[:100])
    v = verify_events(record)
    assert v.ok and v.lines == 100 and "crash" in v.text()


def test_a_torn_line_after_a_clean_end_is_named(record):
    with open(record / "events.jsonl", "ab") as f:
        f.write(b'{"seq":200,"t_s":20.0,"kind":"no')
    v = verify_events(record)
    assert not v.ok and v.first_bad_line == 201 and "after the end" in v.problems[0]


def test_lines_added_after_the_end_are_named(record):
    lines = lines_of(record)
    write_lines(record, lines + lines[-1:])
    v = verify_events(record)
    assert v.first_bad_line == 201 and any("after the end" in p for p in v.problems)


def test_a_record_rewritten_with_a_fresh_chain_is_caught_by_its_end(record):
    from vr.record.chain import SEED, seal, split

    chain, out = SEED, []
    for line in lines_of(record):
        sealed, chain = seal(chain, split(line)[0].replace(b'"i":10,', b'"i":99,'))
        out.append(sealed[:-1])
    write_lines(record, out)   # every line chained correctly to the one before, as many as before
    v = verify_events(record)
    assert not v.ok and v.first_bad_line == 200 and "hash differs" in v.problems[0]


def test_an_ended_record_whose_end_was_removed_from_session_json_is_named(record):
    meta = json.loads((record / "session.json").read_text())
    del meta["events_written"]
    (record / "session.json").write_text(json.dumps(meta))
    v = verify_events(record)
    assert not v.ok and "session.json" in v.problems[0] and "altered" in v.problems[0]


def test_a_missing_session_json_is_named(record):
    (record / "session.json").unlink()
    v = verify_events(record)
    assert not v.ok and "session.json: missing" in v.problems[0]


def test_not_a_record_is_refused(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vr", "verify", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1 and "not a session record" in out.stderr
