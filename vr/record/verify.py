"""``vr verify``: check a record's hash chain, numbering and end; name the first line that is wrong.

The chain (``vr.record.chain``) shows a line altered, removed, inserted or moved. Its end is
checked against ``session.json``: a record that ended (status other than ``recording``) stores
``events_written`` and ``last_hash``, so a file cut at a line boundary, or lines added after the
end, are named too. A record whose ``session.json`` still says ``recording`` was ended by a
crash: there a torn last line is expected and ignored, and the end cannot be checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vr.record.chain import SEED, link, split
from vr.record.reader import RecordError, read_bytes, read_meta

ENDS_UNCHECKED_BEFORE = 2   # format_version from which an ended record must carry its end


@dataclass
class Verdict:
    """Result of verifying one record. ``first_bad_line`` counts from 1; 0 when all is well
    (or when what is wrong is not a line: an unreadable file, a damaged ``session.json``)."""

    path: Path
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_line: int = 0
    torn_tail: bool = False
    status: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, number: int, message: str) -> None:
        """Note a problem at line ``number`` of events.jsonl (0: not at a line)."""
        self.problems.append(f"{self.path}:{number}: {message}" if number else message)
        if number and not self.first_bad_line:
            self.first_bad_line = number

    def text(self) -> str:
        if self.ok:
            tail = " (the last line was cut short by a crash and is ignored)" if self.torn_tail else ""
            notes = "".join(f"; {n}" for n in self.notes)
            return f"{self.path}: ok, {self.lines} events, hash chain intact{tail}{notes}"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.problems[0]}{more}"


def verify_events(path: str | Path) -> Verdict:
    """Verify a session folder (or its ``events.jsonl``): the chain line by line, then its end."""
    path = Path(path)
    if path.is_dir():
        path = path / "events.jsonl"
    verdict = Verdict(path)
    try:
        raw = read_bytes(path)
    except RecordError as e:
        verdict.bad(0, str(e))
        return verdict
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()
        verdict.torn_tail = True
    chain = _walk(lines, verdict)
    verdict.lines = len(lines)
    _check_end(verdict, path.parent / "session.json", chain)
    return verdict


def _walk(lines: list[bytes], verdict: Verdict) -> str:
    """Check numbering and chain of every line; returns the last line's hash."""
    chain, expected = SEED, 0
    for number, line in enumerate(lines, start=1):
        parts = split(line)
        if parts is None:
            verdict.bad(number, "no hash field: the line was altered or not written by this toolkit")
            continue
        body, h = parts
        try:
            obj = json.loads(body)
            seq = obj.get("seq") if isinstance(obj, dict) else None
        except ValueError:
            seq = None
        if seq is None:
            verdict.bad(number, "not a valid event: the line was altered")
        elif seq != expected:
            what = "missing" if isinstance(seq, int) and seq > expected else "out of order or repeated"
            verdict.bad(number, f"seq {seq} where {expected} was expected: lines {what}")
        if link(chain, body) != h:
            verdict.bad(number, "altered: its hash does not follow from the line before")
        chain = h
        expected = (seq + 1) if isinstance(seq, int) else expected + 1
    return chain


def _check_end(verdict: Verdict, meta_path: Path, last_hash: str) -> None:
    """Compare the file's end with what ``session.json`` recorded when the session ended."""
    if not meta_path.exists():
        verdict.bad(0, f"{meta_path}: missing, so the end of {verdict.path.name} cannot be checked; "
                       "keep session.json beside events.jsonl")
        return
    try:
        meta: dict[str, Any] = read_meta(meta_path)
    except RecordError as e:
        verdict.bad(0, str(e))
        return
    status = str(meta.get("status", ""))
    verdict.status = status
    if status == "recording":
        verdict.notes.append("session.json still says recording: the session ended in a crash (or is still "
                             "running), so the end of the record cannot be checked")
        return
    expected, last = meta.get("events_written"), meta.get("last_hash")
    if not isinstance(expected, int) or not isinstance(last, str):
        version = meta.get("format_version", 1)
        if isinstance(version, int) and version < ENDS_UNCHECKED_BEFORE:
            verdict.notes.append("an older record: its end is not stored, so a cut at a line boundary "
                                 "cannot be told from a whole record")
        else:
            verdict.bad(0, f"{meta_path}: says the record ended ({status}) but not with how many events "
                           "(events_written, last_hash): session.json was altered")
        return
    ended = f"session.json says the record ended ({status}) with {expected} events"
    if verdict.lines < expected:
        verdict.bad(verdict.lines + 1, f"the file ends here but {ended}: {expected - verdict.lines} line(s) "
                                       "are missing (the record was cut short)")
    elif verdict.lines > expected:
        verdict.bad(expected + 1, f"{verdict.lines - expected} line(s) after the end: {ended}")
    elif last != last_hash:
        verdict.bad(max(expected, 1), f"the last line is not the one {ended} (its hash differs): "
                                      "lines were rewritten")
    if verdict.torn_tail and status == "complete":
        verdict.bad(verdict.lines + 1, f"a cut-short line after the end: {ended} and nothing after it")
    elif status != "complete":
        storage = meta.get("storage") if isinstance(meta.get("storage"), dict) else {}
        verdict.notes.append(f"session.json says {status}: not every event reached the disk "
                             f"({storage.get('events_not_written', 'an unknown number of')} events were not "
                             "written); the lines that are there are intact")
