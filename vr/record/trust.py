"""Whether what a report shows can be trusted: the record's verification and its values' ranges.

``vr report`` verifies a record before drawing it. When the hash chain, the numbering or the
end fails (``vr.record.verify``), or a rating lies outside its scale (SUDS 0-100, pain 0-10,
SSQ 0-3), the report still gets written, for whoever must find out what happened, but marked:
a banner at the top of report.html saying what failed and where, a ``record_verified`` column
of ``no`` in every CSV file, ``value_in_range`` of ``no`` for each impossible rating, and a
VERIFY.txt beside them.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vr.record.verify import Verdict
from vr.sim.types import RATING_SCALES

NOTE_NAME = "VERIFY.txt"
SHOWN_PROBLEMS = 5


def in_range(scale: Any, value: Any) -> bool:
    """True for a rating whose value is a number on its scale (an unknown scale is never in range)."""
    bounds = RATING_SCALES.get(scale) if isinstance(scale, str) else None
    if bounds is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return bounds[0] <= value <= bounds[1]


def scale_text(scale: Any) -> str:
    """``0-100`` for suds; what a person reads beside an out-of-range value."""
    bounds = RATING_SCALES.get(scale) if isinstance(scale, str) else None
    return f"{bounds[0]}-{bounds[1]}" if bounds else "no known scale"


@dataclass
class Trust:
    """The verdict on one record, and the ratings outside their scales."""

    verdict: Verdict
    out_of_range: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.out_of_range

    def problems(self) -> list[str]:
        """What is wrong, file paths shown relative to the record's folder (no home folder in a report)."""
        folder = str(self.verdict.path.parent) + os.sep
        found = [p.replace(folder, "") for p in self.verdict.problems]
        found += [f"events.jsonl:{r['line']}: {r['scale']} rating of {r['value']!r} at {r['t_s']:.1f} s lies "
                  f"outside its scale ({scale_text(r['scale'])}); it is not drawn as data"
                  for r in self.out_of_range]
        return found

    def where(self) -> str:
        """The first bad line, in words."""
        if self.verdict.first_bad_line:
            return f"line {self.verdict.first_bad_line} of events.jsonl"
        if self.verdict.problems:
            return "the record's files (see below)"
        return f"line {self.out_of_range[0]['line']} of events.jsonl" if self.out_of_range else ""

    def banner_html(self) -> str:
        """The warning at the top of report.html (empty when the record verified)."""
        if self.ok:
            return ""
        found = self.problems()
        items = "".join(f"<li>{html.escape(p)}</li>" for p in found[:SHOWN_PROBLEMS])
        if len(found) > SHOWN_PROBLEMS:
            items += f"<li>and {len(found) - SHOWN_PROBLEMS} more (vr verify lists the record's)</li>"
        what = "failed verification" if not self.verdict.ok else "holds values outside their scales"
        return ('<div class="untrusted" role="alert" id="untrusted">'
                f"<h2>Do not rely on this report: the record {what}</h2>"
                f"<p>First bad line: <b>{html.escape(self.where())}</b>.</p><ul>{items}</ul>"
                "<p>Everything below is drawn from the record as it is now, which was altered or damaged; "
                "what it said before cannot be told. Ratings outside their scale are drawn as red crosses at "
                "the edge of the plot and left out of the figures. Every CSV file carries "
                "<code>record_verified</code> = <code>no</code>. Use an intact copy of the record "
                "(a backup) for anything that matters.</p></div>")

    def note_text(self, csv_names: list[str]) -> str:
        """VERIFY.txt: the verdict in plain text, beside the CSV files a researcher takes away."""
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
        files = ", ".join(csv_names)
        if self.ok:
            head = (f"VERIFIED on {stamp} by vr report: the hash chain, the numbering and the end of events.jsonl "
                    "are intact and every rating lies on its scale.\n")
            extra = "".join(f"Note: {n}.\n" for n in self.verdict.notes)
            return head + extra + f"\nFiles: {files}. Their column record_verified is 'yes' on every row.\n"
        lines = [f"NOT TRUSTWORTHY (checked on {stamp} by vr report): the record was altered or damaged.",
                 f"First bad line: {self.where()}.", "", *self.problems(), "",
                 f"Files: {files}. Every row of every CSV file has record_verified = no; in ratings.csv, "
                 "value_in_range = no marks a rating outside its scale.",
                 "The column (rather than a comment line) keeps the files readable by any CSV tool and "
                 "travels with each row when sessions are merged.",
                 "Use an intact copy of the record (a backup) for any analysis."]
        return "\n".join(lines) + "\n"


def assess(verdict: Verdict, ratings: list[dict[str, Any]]) -> Trust:
    """A ``Trust`` from a verdict and the report's rating rows (``vr.record.tables``: with ``line``)."""
    return Trust(verdict, [r for r in ratings if not r["in_range"]])


def draw_out_of_range(ax: Any, rows: list[dict[str, Any]]) -> None:
    """Ratings outside their scale: a red cross on the plot's top (or bottom) edge with the value
    written beside it, never a point on the line (the line and the figures leave them out)."""
    edge = ax.get_xaxis_transform()   # x in minutes, y in the axes' height (0 bottom, 1 top)
    for r in rows:
        value = r["value"]
        low = isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0
        y = 0.0 if low else 1.0
        ax.plot([r["t_s"] / 60], [y], "X", color="#c0392b", ms=9, zorder=6, clip_on=False, transform=edge)
        ax.annotate(f"{value!r}: out of range", (r["t_s"] / 60, y), xycoords=edge, textcoords="offset points",
                    xytext=(6, 6 if low else -12), color="#c0392b", fontsize=8, annotation_clip=False)


def write_note(folder: Path, trust: Trust, csv_names: list[str]) -> Path:
    """Write VERIFY.txt (0600) into ``folder``."""
    from vr.record.files import replace_private

    path = folder / NOTE_NAME
    replace_private(path, trust.note_text(csv_names).encode("utf-8"))
    return path
