"""``vr report --patient``: one patient's course of treatment, peak SUDS per step across sessions.

Every session is verified first. A session whose record fails (or holds ratings outside their
scales) stays in the course, since leaving it out would hide it, but is marked: a banner at
the top, a red band over it in the plot, "NOT VERIFIED" and its first bad line in the table.
A folder under the root whose session.json cannot be read is named too (it may be this
patient's).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from vr.record.reader import RecordError, SessionRecord, read_meta, read_record
from vr.record.report import Written, png, table, write_page
from vr.record.tables import Tables, build_tables
from vr.record.trust import Trust, assess
from vr.record.verify import verify_events


@dataclass
class _Session:
    started: str
    folder: Path
    record: SessionRecord
    tables: Tables
    trust: Trust


def _sessions(root: Path, pseudonym: str) -> tuple[list[_Session], list[str]]:
    """This patient's sessions under ``root``, and the problems met finding them."""
    found: list[_Session] = []
    problems: list[str] = []
    for meta_path in sorted(root.rglob("session.json")):
        try:
            meta = read_meta(meta_path)
        except RecordError as e:
            problems.append(f"{e} (it may be a session of {pseudonym}: it is left out)")
            continue
        if meta.get("patient") != pseudonym:
            continue
        try:
            record = read_record(meta_path.parent)
            tables = build_tables(record)
        except RecordError as e:
            problems.append(f"{e} (a session of {pseudonym}: it is left out)")
            continue
        except (KeyError, TypeError, ValueError, IndexError) as e:
            problems.append(f"{meta_path.parent}: cannot be drawn ({type(e).__name__} {e}): the record was altered "
                            f"or damaged; vr verify {meta_path.parent} names the first bad line (it is left out)")
            continue
        trust = assess(verify_events(meta_path.parent), tables.ratings)
        found.append(_Session(str(meta.get("started_utc", "")), meta_path.parent, record, tables, trust))
    found.sort(key=lambda s: (s.started, str(s.folder)))
    return found, problems


def course_report(root: str | Path, pseudonym: str, out: Path | None = None) -> Written:
    """Compare every session of ``pseudonym`` under ``root``; ``problems`` of the result name the
    sessions that must not be trusted. Raises ``FileNotFoundError`` when there is none."""
    root = Path(root)
    sessions, problems = _sessions(root, pseudonym)
    if not sessions:
        raise FileNotFoundError(f"no sessions of {pseudonym} under {root}"
                                + (f" that could be read: {problems[0]}" if problems else ""))
    for k, s in enumerate(sessions, start=1):
        if not s.trust.ok:
            problems.append(f"session {k} ({s.folder.name}): not verified, first bad line: {s.trust.where()}: "
                            f"{s.trust.problems()[0]}")
    names: list[str] = []
    for s in sessions:
        names.extend(n for n in s.tables.step_names if n not in names)
    peaks = []
    for s in sessions:
        row: dict[str, float] = {}
        for step in s.tables.steps:
            if step.suds:   # in-range ratings only (``vr.record.tables``)
                row[step.name] = max(row.get(step.name, 0), max(step.suds))
        peaks.append(row)
    fig = Figure(figsize=(10, 4), dpi=90)
    ax = fig.add_subplot()
    for k, s in enumerate(sessions, start=1):
        if not s.trust.ok:
            ax.axvspan(k - 0.4, k + 0.4, color="#f5b7b1", lw=0, zorder=0)
            ax.text(k, 98, "not verified", ha="center", va="top", fontsize=8, color="#c0392b")
    for name in names:
        pts = [(k + 1, p[name]) for k, p in enumerate(peaks) if name in p]
        if pts:
            ax.plot(*zip(*pts), "o-", label=name[:40])
    ax.set_xlabel("session")
    ax.set_ylabel("peak SUDS")
    ax.set_ylim(0, 100)
    ax.set_xticks(range(1, len(sessions) + 1))
    ax.legend(fontsize=7, loc="upper right")
    header = ["session", "started (UTC)", "profile", "record", "minutes"] + [n[:28] for n in names]
    rows = [[str(k + 1), s.started, str((s.record.meta.get("profile") or {}).get("name", "?")),
             "verified" if s.trust.ok else f"NOT VERIFIED ({s.trust.where()})", f"{s.tables.length_s / 60:.1f}"]
            + [f"{p[n]:.0f}" if n in p else "-" for n in names]
            for k, (s, p) in enumerate(zip(sessions, peaks))]
    parts = [f"<h1>Course of treatment: {html.escape(pseudonym)}</h1>", _banner(problems),
             f'<p class="meta">{len(sessions)} sessions under {html.escape(root.name)}</p>',
             '<h2 id="peaks">Peak SUDS per step across sessions</h2>', png(fig), table(header, rows, left=4)]
    path = out or (root / f"course_{pseudonym}.html")
    write_page(path, f"Course {pseudonym}", parts)
    return Written(path, problems)


def _banner(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return ('<div class="untrusted" role="alert" id="untrusted"><h2>Do not rely on every session below</h2>'
            f"<ul>{items}</ul><p>A session marked NOT VERIFIED was altered or damaged after it was recorded; "
            "its figures are shown as they are now. vr report on its folder says more.</p></div>")
