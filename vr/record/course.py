"""``vr report --patient``: one patient's course of treatment across sessions.

The page shows, in the order a clinician planning the next session reads it: where the next
session should start (and the rule that says so), the hierarchy climbed in each session, peak
and end SUDS per step across sessions (and heart rate where it was recorded), habituation within
each session (a step's peak minus its end SUDS) and between sessions (a step's peak in its first
session minus its peak in its latest), and the clinician's notes.

Every session is verified first. A session whose record fails (or holds ratings outside their
scales) stays in the course, since leaving it out would hide it, but is marked: a banner at
the top, a red band over it in the plots, "NOT VERIFIED" and its first bad line in the table.
A folder under the root whose session.json cannot be read is named too (it may be this
patient's).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from vr.record.reader import RecordError, SessionRecord, read_meta, read_record
from vr.record.report import Written, png, table, write_page
from vr.record.tables import Tables, build_tables
from vr.record.trust import Trust, assess
from vr.record.verify import verify_events

DEFAULT_ADVANCE_SUDS = 40   # the habituation line for a step whose profile gives no suds_at_most
PASSING_S = 10.0            # a step left sooner than this was passed through (a clinician's jump), not worked at


@dataclass
class StepCourse:
    """One step in one session: its SUDS (in-range ratings, all visits in order) and heart rate."""

    suds: list[float] = field(default_factory=list)
    hr: list[float] = field(default_factory=list)
    visits: int = 0
    time_s: float = 0.0

    @property
    def peak(self) -> float | None:
        return max(self.suds) if self.suds else None

    @property
    def end(self) -> float | None:
        return self.suds[-1] if self.suds else None

    @property
    def drop(self) -> float | None:
        """Within-session habituation: peak minus end SUDS."""
        return None if not self.suds else self.peak - self.end

    @property
    def hr_peak(self) -> float | None:
        return max(self.hr) if self.hr else None


@dataclass
class CourseSession:
    started: str
    folder: Path
    record: SessionRecord
    tables: Tables
    trust: Trust
    steps: dict[int, StepCourse] = field(default_factory=dict)
    thresholds: dict[int, float] = field(default_factory=dict)   # step index -> its advance SUDS line
    names: list[str] = field(default_factory=list)   # every step of the profile it ran (or those it reached)
    hr_baseline: float | None = None
    notes: list[tuple[float, int, str]] = field(default_factory=list)   # (time, step index, text)

    @property
    def first_step(self) -> int:
        """The step the session worked from: the first after the baseline step that it stayed at."""
        worked = [s.index for s in self.tables.steps[1:] if s.duration_s >= PASSING_S]
        return worked[0] if worked else 0

    @property
    def highest(self) -> int:
        return max((s.index for s in self.tables.steps), default=0)

    @property
    def retreats(self) -> int:
        return sum(1 for s in self.tables.steps if s.reason in ("retreat_rule", "suds_ceiling")
                   or s.reason.endswith("_above_baseline"))


def _step_of(tables: Tables, t_s: float) -> int:
    index = 0
    for s in tables.steps:
        if s.start_s <= t_s:
            index = s.index
    return index


def _profile_steps(folder: Path, reached: list[str]) -> tuple[list[str], dict[int, float]]:
    """Every step's name and advance line from the profile kept in the record (DEFAULT_ADVANCE_SUDS
    where it has none); for a record without a readable profile, the steps it reached."""
    try:
        from vr.record.replay import load_recorded_profile

        steps = load_recorded_profile(folder).config.steps
    except Exception:   # an altered or old record: the report still stands, with the default line
        return list(reached), {i: float(DEFAULT_ADVANCE_SUDS) for i in range(len(reached))}
    lines = {i: float(DEFAULT_ADVANCE_SUDS if st.advance.suds_at_most is None else st.advance.suds_at_most)
             for i, st in enumerate(steps)}
    return [st.name for st in steps], lines


def _course_session(meta_path: Path, meta: dict, record: SessionRecord, tables: Tables) -> CourseSession:
    trust = assess(verify_events(meta_path.parent), tables.ratings)
    s = CourseSession(str(meta.get("started_utc", "")), meta_path.parent, record, tables, trust)
    for row in tables.steps:
        step = s.steps.setdefault(row.index, StepCourse())
        step.visits += 1
        step.time_s += row.duration_s
        step.suds.extend(row.suds)
    for e in record.of_kind("sample"):
        hr = e.get("hr_bpm")
        if isinstance(hr, (int, float)) and math.isfinite(hr) and e.get("mode") == "running":
            s.steps.setdefault(e["step_index"], StepCourse()).hr.append(float(hr))
    for index in [i for i, st in s.steps.items() if st.time_s < PASSING_S and not st.suds]:
        del s.steps[index]   # passed through on the way to another step: nothing to compare
    base = record.of_kind("physio_baseline")
    if base and isinstance(base[0].get("hr_bpm"), (int, float)):
        s.hr_baseline = float(base[0]["hr_bpm"])
    for e in record.of_kind("clinician_command"):
        if e.get("command") == "note" and e.get("text"):
            s.notes.append((e["t_s"], _step_of(tables, e["t_s"]), str(e["text"])))
    s.names, s.thresholds = _profile_steps(meta_path.parent, tables.step_names)
    return s


def _sessions(root: Path, pseudonym: str) -> tuple[list[CourseSession], list[str]]:
    """This patient's sessions under ``root``, and the problems met finding them."""
    found: list[CourseSession] = []
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
            found.append(_course_session(meta_path, meta, record, tables))
        except RecordError as e:
            problems.append(f"{e} (a session of {pseudonym}: it is left out)")
        except (KeyError, TypeError, ValueError, IndexError) as e:
            problems.append(f"{meta_path.parent}: cannot be drawn ({type(e).__name__} {e}): the record was altered "
                            f"or damaged; vr verify {meta_path.parent} names the first bad line (it is left out)")
    found.sort(key=lambda s: (s.started, str(s.folder)))
    return found, problems


def next_start(sessions: list[CourseSession], names: list[str]) -> tuple[int, str]:
    """Where the next session should start, and why, from the latest (verified, where any is) session.

    The rule: the first step of the latest session whose end SUDS was above that step's advance
    line (its ``suds_at_most``, else DEFAULT_ADVANCE_SUDS): anxiety there had not come down yet.
    When every rated step ended at or below its line, the step after the highest one reached."""
    trusted = [s for s in sessions if s.trust.ok] or sessions
    last = trusted[-1]
    k = sessions.index(last) + 1
    for index in sorted(last.steps):
        step = last.steps[index]
        line = last.thresholds.get(index, DEFAULT_ADVANCE_SUDS)
        if step.end is not None and step.end > line:
            return index, (f"In session {k}, step {index + 1} ({names[index]}) ended at SUDS {step.end:.0f}, above "
                           f"its advance line of {line:.0f}: start there.")
    top = last.highest
    if top + 1 < len(names):
        return top + 1, (f"In session {k}, every rated step ended at or below its advance line; the highest reached "
                         f"was step {top + 1}: start at the next one, step {top + 2} ({names[top + 1]}).")
    return top, (f"In session {k}, the last step ({names[top]}) ended at or below its advance line: the hierarchy is "
                 "complete; repeat the last step to consolidate, or close the course.")


def _mark_untrusted(ax, sessions: list[CourseSession]) -> None:
    for k, s in enumerate(sessions, start=1):
        if not s.trust.ok:
            ax.axvspan(k - 0.4, k + 0.4, color="#f5b7b1", lw=0, zorder=0)
            ax.text(k, 0.98, "not verified", ha="center", va="top", fontsize=8, color="#c0392b",
                    transform=ax.get_xaxis_transform())


def _climb_plot(sessions: list[CourseSession], names: list[str], start: int) -> str:
    fig = Figure(figsize=(10, 3.0), dpi=90)
    ax = fig.add_subplot()
    _mark_untrusted(ax, sessions)
    for k, s in enumerate(sessions, start=1):
        ax.plot([k, k], [s.first_step + 1, s.highest + 1], color="#1f4e8c", lw=8, alpha=0.35, solid_capstyle="butt")
        ax.plot(k, s.highest + 1, "^", color="#1f4e8c", ms=9)
        ax.plot(k, s.first_step + 1, "o", color="#1f4e8c", ms=6)
    n = len(sessions) + 1
    ax.plot(n, start + 1, "*", color="#d35400", ms=14, label="next session starts here")
    ax.set_xticks(range(1, n + 1), [str(k) for k in range(1, n)] + ["next"])
    ax.set_yticks(range(1, len(names) + 1))
    ax.set_ylim(0.5, len(names) + 0.5)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xlabel("session")
    ax.set_ylabel("step")
    ax.set_title("Hierarchy climbed: worked from (circle) to the highest step reached (triangle)")
    ax.legend(fontsize=8, loc="lower right")
    return png(fig)


def _suds_plot(sessions: list[CourseSession], names: list[str]) -> str:
    with_hr = any(st.hr for s in sessions for st in s.steps.values())
    fig = Figure(figsize=(10, 6.6 if with_hr else 3.8), dpi=90)
    axes = fig.subplots(2, 1, sharex=True) if with_hr else [fig.add_subplot()]
    colors = [f"C{i % 10}" for i in range(len(names))]
    ax = axes[0]
    _mark_untrusted(ax, sessions)
    for i, name in enumerate(names):
        peak = [(k, s.steps[i].peak) for k, s in enumerate(sessions, 1) if i in s.steps and s.steps[i].peak is not None]
        end = [(k, s.steps[i].end) for k, s in enumerate(sessions, 1) if i in s.steps and s.steps[i].end is not None]
        if peak:
            ax.plot(*zip(*peak), "o-", color=colors[i], label=f"{i + 1}. {name[:34]}")
            ax.plot(*zip(*end), "v:", color=colors[i], ms=5)
    ax.set_ylabel("SUDS: peak (o, line)\nend (v, dotted)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Peak and end SUDS per step across sessions")
    if with_hr:
        bx = axes[1]
        _mark_untrusted(bx, sessions)
        for i in range(len(names)):
            pts = [(k, s.steps[i].hr_peak) for k, s in enumerate(sessions, 1) if i in s.steps and s.steps[i].hr]
            if pts:
                bx.plot(*zip(*pts), "o-", color=colors[i])
        base = [(k, s.hr_baseline) for k, s in enumerate(sessions, 1) if s.hr_baseline is not None]
        if base:
            bx.plot(*zip(*base), "s--", color="#555", label="resting baseline")
            bx.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        bx.set_ylabel("peak heart rate (bpm)")
        bx.set_title("Peak heart rate per step (the highest reading while running), and the resting baseline")
    axes[-1].set_xlabel("session")
    axes[-1].set_xticks(range(1, len(sessions) + 1))
    return png(fig)


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.0f}" if signed else f"{v:.0f}"


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
        for i, n in enumerate(s.names):
            if i >= len(names):
                names.append(n)
    start, why = next_start(sessions, names)
    header = ["session", "started (UTC)", "profile", "record", "minutes", "worked from", "highest step",
              "retreats", "panics", "rest HR"]
    rows = [[str(k), s.started, str((s.record.meta.get("profile") or {}).get("name", "?")),
             "verified" if s.trust.ok else f"NOT VERIFIED ({s.trust.where()})", f"{s.tables.length_s / 60:.1f}",
             str(s.first_step + 1), str(s.highest + 1), str(s.retreats), str(len(s.tables.panics)),
             _fmt(s.hr_baseline)] for k, s in enumerate(sessions, start=1)]
    k_all = range(len(sessions))

    def per_step(cell) -> list[list[str]]:
        out = []
        for i, name in enumerate(names):
            cells = [cell(s.steps[i]) if i in s.steps else "-" for s in sessions]
            if any(c != "-" for c in cells):
                out.append([str(i + 1), name, *cells])
        return out

    session_cols = [f"s{k + 1}" for k in k_all]
    between = []
    for i, name in enumerate(names):
        peaks = [(k + 1, s.steps[i].peak) for k, s in enumerate(sessions)
                 if i in s.steps and s.steps[i].peak is not None]
        if len(peaks) >= 2:
            (k0, p0), (k1, p1) = peaks[0], peaks[-1]
            between.append([str(i + 1), name, f"{p0:.0f} (s{k0})", f"{p1:.0f} (s{k1})", _fmt(p0 - p1, signed=True)])
    notes = [[f"s{k}", f"{int(t) // 60:02d}:{t % 60:04.1f}", str(i + 1), text]
             for k, s in enumerate(sessions, start=1) for t, i, text in s.notes]
    has_hr = any(st.hr for s in sessions for st in s.steps.values())
    parts = [f"<h1>Course of treatment: {html.escape(pseudonym)}</h1>", _banner(problems),
             f'<p class="meta">{len(sessions)} sessions under {html.escape(root.name)}</p>',
             '<h2 id="next">Where the next session should start</h2>',
             f'<p class="next"><b>Step {start + 1}: {html.escape(names[start])}</b> (after the baseline step). '
             f"{html.escape(why)}</p>",
             '<p class="note">Rule: the first step of the latest session whose end SUDS was above that step\'s '
             f"advance line (its suds_at_most, else {DEFAULT_ADVANCE_SUDS}); if none, the step after the highest "
             "reached. A suggestion for the clinician, who decides.</p>",
             '<h2 id="sessions">Sessions</h2>', table(header, rows, left=4),
             '<h2 id="climb">The hierarchy climbed</h2>', _climb_plot(sessions, names, start),
             '<h2 id="peaks">Peak SUDS per step across sessions</h2>', _suds_plot(sessions, names),
             '<p class="note">Each cell: peak / end SUDS' + (" / peak heart rate (bpm)" if has_hr else "")
             + ".</p>",
             table(["step", "name", *session_cols],
                   per_step(lambda st: f"{_fmt(st.peak)} / {_fmt(st.end)}"
                            + (f" / {_fmt(st.hr_peak)}" if has_hr else "")), left=1),
             '<h2 id="within">Within-session habituation (peak minus end SUDS)</h2>',
             table(["step", "name", *session_cols], per_step(lambda st: _fmt(st.drop)), left=1),
             '<h2 id="between">Between-session habituation (a step\'s peak SUDS, first session against latest)</h2>',
             table(["step", "name", "first peak", "latest peak", "drop"], between, left=1) if between else
             "<p>No step was rated in two sessions yet.</p>",
             '<h2 id="notes">Clinician\'s notes</h2>',
             table(["session", "time", "step", "note"], notes, left=3) if notes else "<p>No notes.</p>"]
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
