"""Read a session record back: metadata, events in order, and what (if anything) is wrong with it."""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vr.record.writer import FORMAT


class RecordError(Exception):
    """A folder that is not a readable session record (the message names the file and what to do)."""


@dataclass
class SessionRecord:
    """A loaded record. ``torn_tail`` is set when the last line was cut short (a crash mid-write)."""

    directory: Path
    meta: dict[str, Any]
    events: list[dict[str, Any]]
    torn_tail: str | None = None
    problems: list[str] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)   # events.jsonl line of each event (from 1)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] in kinds]


def cannot_read(path: Path, error: OSError) -> str:
    """A person's message for a record file that could not be read: which file, why, and what to do."""
    if isinstance(error, IsADirectoryError) or error.errno == errno.EISDIR:
        advice = "a folder stands where this file should be: the record is damaged; use a backup copy"
    elif isinstance(error, PermissionError):
        advice = ("records are readable by their owner only (0600): run this as the user who recorded the "
                  "session, or have them copy it to you")
    elif isinstance(error, FileNotFoundError):
        advice = "the file is missing: the record is incomplete; use a backup copy"
    else:
        advice = "check the disk and the path, then try again"
    return f"{path}: cannot be read ({error.strerror or error}); {advice}"


def read_bytes(path: Path) -> bytes:
    """The whole file, or ``RecordError`` with a message a person can act on."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise RecordError(cannot_read(path, e)) from None


def read_meta(path: Path) -> dict[str, Any]:
    """``session.json`` as a dict, or ``RecordError`` naming the file and what is wrong."""
    raw = read_bytes(path)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        raise RecordError(f"{path}: not valid JSON ({e}); the header was altered or damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RecordError(f"{path}: not a {FORMAT} record header")
    return meta


def read_record(directory: str | Path) -> SessionRecord:
    """Load ``directory``; raises ``RecordError`` for a folder that is not a readable session record."""
    d = Path(directory)
    meta_path, events_path = d / "session.json", d / "events.jsonl"
    if not meta_path.exists() or not events_path.exists():
        raise RecordError(f"{d}: not a session record (needs session.json and events.jsonl)")
    meta = read_meta(meta_path)
    raw = read_bytes(events_path)
    lines = raw.split(b"\n")
    torn = None
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = lines.pop().decode("utf-8", "replace")  # no newline: the write was cut short
    events: list[dict[str, Any]] = []
    numbers: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"{events_path}:{number}: not valid JSON")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str) or not _is_number(obj.get("t_s")):
            problems.append(f"{events_path}:{number}: not an event (needs seq, t_s and kind)")
            continue
        if obj.get("seq") != len(events):
            problems.append(f"{events_path}:{number}: seq {obj.get('seq')} where {len(events)} was expected")
        events.append(obj)
        numbers.append(number)
    return SessionRecord(d, meta, events, torn, problems, numbers)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
