"""Read a session record back: metadata, events in order, and what (if anything) is wrong with it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vr.record.writer import FORMAT


class RecordError(Exception):
    """A folder that is not a readable session record."""


@dataclass
class SessionRecord:
    """A loaded record. ``torn_tail`` is set when the last line was cut short (a crash mid-write)."""

    directory: Path
    meta: dict[str, Any]
    events: list[dict[str, Any]]
    torn_tail: str | None = None
    problems: list[str] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] in kinds]


def read_record(directory: str | Path) -> SessionRecord:
    """Load ``directory``; raises ``RecordError`` for a folder that is not a session record."""
    d = Path(directory)
    meta_path, events_path = d / "session.json", d / "events.jsonl"
    if not meta_path.is_file() or not events_path.is_file():
        raise RecordError(f"{d}: not a session record (needs session.json and events.jsonl)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RecordError(f"{meta_path}: unreadable ({e})") from None
    if meta.get("format") != FORMAT:
        raise RecordError(f"{meta_path}: not a {FORMAT} record")
    raw = events_path.read_bytes()
    lines = raw.split(b"\n")
    torn = None
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = lines.pop().decode("utf-8", "replace")  # no newline: the write was cut short
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except ValueError:
            problems.append(f"{events_path}:{number}: not valid JSON")
            continue
        if obj.get("seq") != len(events):
            problems.append(f"{events_path}:{number}: seq {obj.get('seq')} where {len(events)} was expected")
        events.append(obj)
    return SessionRecord(d, meta, events, torn, problems)
