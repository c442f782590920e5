"""``vr verify``: check a record's hash chain and numbering; name the first line that is wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from vr.record.chain import SEED, link, split


@dataclass
class Verdict:
    """Result of verifying one record. ``first_bad_line`` counts from 1; 0 when all is well."""

    path: Path
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_line: int = 0
    torn_tail: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            tail = " (the last line was cut short by a crash and is ignored)" if self.torn_tail else ""
            return f"{self.path}: ok, {self.lines} events, hash chain intact{tail}"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.problems[0]}{more}"


def verify_events(path: str | Path) -> Verdict:
    """Walk ``events.jsonl`` (or a session folder) line by line."""
    path = Path(path)
    if path.is_dir():
        path = path / "events.jsonl"
    verdict = Verdict(path)
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()
        verdict.torn_tail = True
    chain, expected = SEED, 0

    def bad(number: int, message: str) -> None:
        verdict.problems.append(f"{path}:{number}: {message}")
        if not verdict.first_bad_line:
            verdict.first_bad_line = number

    for number, line in enumerate(lines, start=1):
        parts = split(line)
        if parts is None:
            bad(number, "no hash field: the line was altered or not written by this toolkit")
            continue
        body, h = parts
        try:
            seq = json.loads(body).get("seq")
        except ValueError:
            seq = None
        if seq is None:
            bad(number, "not a valid event: the line was altered")
        elif seq != expected:
            what = "missing" if isinstance(seq, int) and seq > expected else "out of order or repeated"
            bad(number, f"seq {seq} where {expected} was expected: lines {what}")
        if link(chain, body) != h:
            bad(number, "altered: its hash does not follow from the line before")
        chain = h
        expected = (seq + 1) if isinstance(seq, int) else expected + 1
    verdict.lines = len(lines)
    return verdict
