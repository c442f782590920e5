"""``vr report``: a self-contained report.html (plots inline, no network) and CSV files per session,
and a course report comparing one patient's sessions.

Plots are drawn with matplotlib's object API (no pyplot, so nothing global is touched) and
embedded as PNG data; the page needs no external file, font or script.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vr.record.reader import read_record
from vr.record.tables import Tables, build_tables, write_csvs

BAND_COLORS = ["#e8eef7", "#dbe8f5", "#cfe0f2", "#f5e6cc", "#f2d9b3", "#efcca0", "#ecbf8c", "#e8b27a", "#e4a467"]
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.meta{color:#555} table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
td,th{border:1px solid #ccc;padding:.25rem .55rem;text-align:right} th{background:#f3f3f3}
td.l,th.l{text-align:left} img{max-width:100%} .note{color:#666;font-size:.88rem}
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", bbox_inches="tight")
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _bands(ax, tables: Tables, numbers: bool = False) -> None:
    for s in tables.steps:
        ax.axvspan(s.start_s / 60, s.end_s / 60, color=BAND_COLORS[s.index % len(BAND_COLORS)], lw=0, zorder=0)
        if numbers and s.duration_s > tables.length_s / 60:
            ax.text((s.start_s + s.end_s) / 120, 0.97, str(s.index + 1), transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=8, color="#555")
    for t in tables.panics:
        ax.axvline(t / 60, color="#c0392b", lw=1.5, zorder=3)


def _suds_plot(tables: Tables) -> str:
    fig = Figure(figsize=(10, 3.6), dpi=90)
    ax = fig.add_subplot()
    _bands(ax, tables, numbers=True)
    for scale, color, axis in (("suds", "#1f4e8c", ax), ("pain", "#b03a2e", None)):
        pts = [(r["t_s"] / 60, r["value"]) for r in tables.ratings if r["scale"] == scale]
        if not pts:
            continue
        if axis is None:
            axis = ax.twinx()
            axis.set_ylim(0, 10)
            axis.set_ylabel("pain (0-10)", color=color)
        axis.plot(*zip(*pts), "o-", color=color, ms=4, lw=1.5, label=scale.upper(), zorder=4)
    for c in tables.commands:
        if c["applied"] and c["command"] in ("step_up", "step_down", "goto_step", "pause", "resume", "set_intensity"):
            ax.axvline(c["t_s"] / 60, color="#555", lw=0.8, ls=":", zorder=2)
    ax.set_ylim(0, 100)
    ax.set_xlim(0, max(tables.length_s / 60, 0.1))
    ax.set_xlabel("session time (min)")
    ax.set_ylabel("SUDS (0-100)")
    ax.set_title("SUDS and pain over the steps (numbered bands: steps; red lines: panic; dotted: clinician)")
    return _png(fig)


def _intensity_plot(tables: Tables) -> str:
    fig = Figure(figsize=(10, 2.2), dpi=90)
    ax = fig.add_subplot()
    _bands(ax, tables)
    t = [s["t_s"] / 60 for s in tables.samples]
    ax.plot(t, [s["intensity"] for s in tables.samples], color="#6c3483", lw=1.5)
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, max(tables.length_s / 60, 0.1))
    ax.set_ylabel("intensity")
    ax.set_xlabel("session time (min)")
    return _png(fig)


def _humans_plot(tables: Tables) -> str:
    fig = Figure(figsize=(10, 4.6), dpi=90)
    ax, bx = fig.subplots(2, 1, sharex=True)
    _bands(ax, tables)
    _bands(bx, tables)
    tracks: dict[str, list[tuple[float, float]]] = {}
    for s in tables.samples:
        for i, d in zip(s["_ids"], s["_dist"]):
            tracks.setdefault(i, []).append((s["t_s"] / 60, d))
    nearest = sorted(tracks, key=lambda i: min(d for _, d in tracks[i]))[:12]
    for i in nearest:
        ax.plot(*zip(*tracks[i]), ".", ms=1.2, alpha=0.7)
    ax.set_ylabel("distance (m)")
    ax.set_title(f"distance to the patient: the {len(nearest)} humans who came nearest")
    t = [s["t_s"] / 60 for s in tables.samples if s["humans"]]
    bx.plot(t, [s["share_looking_at_patient"] for s in tables.samples if s["humans"]], color="#117a65", lw=0.8)
    bx.set_ylim(0, 1)
    bx.set_ylabel("share looking\nat the patient")
    bx.set_xlabel("session time (min)")
    bx.set_xlim(0, max(tables.length_s / 60, 0.1))
    return _png(fig)


def _avoidance(tables: Tables) -> tuple[list[tuple[int, str, float, int]], str]:
    rows = []
    for index, name in enumerate(tables.step_names):
        with_humans = [s for s in tables.samples if s["step_index"] == index and s["humans"] and s["mode"] == "running"]
        if with_humans:
            share = sum(1 for s in with_humans if s["looking_at"]) / len(with_humans)
            rows.append((index, name, share, len(with_humans)))
    fig = Figure(figsize=(10, 2.6), dpi=90)
    ax = fig.add_subplot()
    if rows:
        ax.bar([f"{r[0] + 1}" for r in rows], [r[2] for r in rows], color="#2e86c1")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.set_ylabel("share of time looking\nat a virtual human")
    return rows, _png(fig)


def _summary_rows(tables: Tables) -> list[list[str]]:
    rows = []
    for index, name in enumerate(tables.step_names):
        visits = [s for s in tables.steps if s.index == index]
        suds = [v for s in visits for v in s.suds]
        time_s = sum(s.duration_s for s in visits)
        habituation = (max(suds) - suds[-1]) if suds else None
        rows.append([str(index + 1), name, f"{time_s / 60:.1f}", str(len(visits)),
                     f"{max(suds):.0f}" if suds else "-", f"{suds[-1]:.0f}" if suds else "-",
                     f"{habituation:.0f}" if habituation is not None else "-"])
    return rows


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    head = "".join(f'<th class="{"l" if i < left + 1 and i > 0 else ""}">{html.escape(h)}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if 0 < i <= left else ""}">{html.escape(str(c))}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _frames_summary(tables: Tables) -> str:
    """Frame timing in one paragraph: what makes a session comfortable to sit through in a headset."""
    rows = tables.frames
    if not rows:
        return "<p>No frame timing in this record (a simulation, or shorter than a second).</p>"
    frames = sum(int(r["frames"]) for r in rows)
    over = sum(int(r["over_budget"]) for r in rows)
    medians = sorted(float(r["cpu_ms_median"]) for r in rows)
    worst_p95 = max(float(r["cpu_ms_p95"]) for r in rows)
    text = (f"{frames} frames; CPU time per frame: median of the per-second medians "
            f"{medians[len(medians) // 2]:.1f} ms, worst second's 95th percentile {worst_p95:.1f} ms; "
            f"{over} frame(s) ({over / max(frames, 1):.1%}) over the 90 Hz budget.")
    headset = [r for r in rows if r["display_period_ms"] != ""]
    if headset:
        missed = sum(int(r["missed_frames"]) for r in headset)
        period = headset[-1]["display_period_ms"]
        text += (f" Headset: display period {period} ms ({1000 / float(period):.0f} Hz); {missed} display frame(s) "
                 "missed (the runtime showed an old image again)." if period else "")
    return f"<p>{html.escape(text)} Per second: frames.csv.</p>"


def _distraction(record) -> list[str]:
    from vr.record.distraction_report import section

    return section(record, _png)


def session_report(directory: str | Path) -> Path:
    """Write report.html and the CSV files into the session folder; returns the report's path."""
    directory = Path(directory)
    record = read_record(directory)
    tables = build_tables(record)
    csvs = write_csvs(record, tables, directory)
    meta = record.meta
    avoid_rows, avoid_png = _avoidance(tables)
    panics = len(tables.panics)
    notes = [f"{len(record.problems)} problem(s) reading the record"] if record.problems else []
    if record.torn_tail is not None:
        notes.append("the last line was cut short by a crash and is left out")
    parts = [
        f"<h1>Session report: {html.escape(meta['profile']['name'])}</h1>",
        f'<p class="meta">patient {html.escape(meta["patient"])} · scene {html.escape(meta["scene"]["name"])} · '
        f'started {html.escape(meta.get("started_utc", "?"))} UTC · {tables.length_s / 60:.1f} min · '
        f'backend {html.escape(meta.get("backend", "?"))} · seed {meta.get("seed")} · '
        f'record {html.escape(meta.get("status", "?"))}</p>',
        *(f'<p class="note">{html.escape(n)}</p>' for n in notes),
        '<h2 id="summary">Summary</h2>',
        _table(["step", "name", "minutes", "visits", "peak SUDS", "end SUDS", "habituation (peak-end)"],
               _summary_rows(tables)),
        f"<p>Session length {tables.length_s / 60:.1f} min; panics {panics}; "
        f"SUDS ratings {sum(1 for r in tables.ratings if r['scale'] == 'suds')}; "
        f"pain ratings {sum(1 for r in tables.ratings if r['scale'] == 'pain')}.</p>",
        *(_distraction(record) if record.of_kind("phase_started") or meta.get("kind") == "distraction" else
          ['<h2 id="suds">SUDS and pain over time</h2>', _suds_plot(tables)]),
        '<h2 id="intensity">Intensity</h2>', _intensity_plot(tables),
        '<h2 id="humans">Virtual humans: distance and gaze</h2>', _humans_plot(tables),
        '<h2 id="avoidance">The patient\'s gaze: looking at the humans or away</h2>',
        '<p class="note">Share of the time with humans present that a human was within 12° of the patient\'s '
        'line of sight; lower means more looking away.</p>',
        _table(["step", "name", "looking at humans", "samples"],
               [[str(i + 1), n, f"{share:.0%}", str(k)] for i, n, share, k in avoid_rows]),
        avoid_png,
        '<h2 id="timeline">Clinician commands and panics</h2>',
        _table(["time", "command", "applied", "source", "value", "reason"],
               [[_clock(c["t_s"]), c["command"], "yes" if c["applied"] else "no", c["source"], c["value"],
                 c["reason"]] for c in tables.commands]
               + [[_clock(t), "panic (safe scene)", "yes", "", "", ""] for t in tables.panics]
               + [[_clock(a["t_s"]), f"alert ({a['reason']})", "", "", "", a["message"]] for a in tables.alerts],
               left=1),
        '<h2 id="transcript">Dialogue transcript</h2>',
        _table(["time", "speaker", "line", "text", "how / risk", "band"],
               [[_clock(s["t_s"]), s["speaker"], s["line_id"], s["text"] or "(speaking turn)", s["intent"],
                 s["intensity"]] for s in tables.speech], left=3) if tables.speech else "<p>No one spoke.</p>",
        '<h2 id="frames">Frame timing and comfort</h2>', _frames_summary(tables),
        '<h2 id="files">Data files</h2>',
        "<ul>" + "".join(f'<li><a href="{p.name}">{p.name}</a></li>' for p in csvs) + "</ul>",
        f'<p class="note">Made by vr report on {datetime.now().strftime("%Y-%m-%d %H:%M")}. '
        "The record folder is private: share this page only as the patient's consent allows.</p>",
    ]
    path = directory / "report.html"
    path.write_text(_page(f"Session report {meta['patient']}", parts), encoding="utf-8")
    path.chmod(0o600)
    return path


def course_report(root: str | Path, pseudonym: str, out: Path | None = None) -> Path:
    """Compare every session of ``pseudonym`` under ``root``: peak SUDS per step across sessions."""
    root = Path(root)
    sessions = []
    for meta_path in sorted(root.rglob("session.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("patient") == pseudonym and meta.get("format") == "vr-session":
            record = read_record(meta_path.parent)
            sessions.append((meta.get("started_utc", ""), meta_path.parent, record, build_tables(record)))
    if not sessions:
        raise FileNotFoundError(f"no sessions of {pseudonym} under {root}")
    sessions.sort(key=lambda s: (s[0], str(s[1])))
    names = []
    for *_, tables in sessions:
        for n in tables.step_names:
            if n not in names:
                names.append(n)
    peaks = []
    for *_, tables in sessions:
        row = {}
        for s in tables.steps:
            if s.suds:
                row[s.name] = max(row.get(s.name, 0), max(s.suds))
        peaks.append(row)
    fig = Figure(figsize=(10, 4), dpi=90)
    ax = fig.add_subplot()
    for name in names:
        pts = [(k + 1, p[name]) for k, p in enumerate(peaks) if name in p]
        if pts:
            ax.plot(*zip(*pts), "o-", label=name[:40])
    ax.set_xlabel("session")
    ax.set_ylabel("peak SUDS")
    ax.set_ylim(0, 100)
    ax.set_xticks(range(1, len(sessions) + 1))
    ax.legend(fontsize=7, loc="upper right")
    header = ["session", "started (UTC)", "profile", "minutes"] + [n[:28] for n in names]
    rows = [[str(k + 1), started, rec.meta["profile"]["name"], f"{tables.length_s / 60:.1f}"]
            + [f"{p[n]:.0f}" if n in p else "-" for n in names]
            for k, ((started, _, rec, tables), p) in enumerate(zip(sessions, peaks))]
    parts = [f"<h1>Course of treatment: {html.escape(pseudonym)}</h1>",
             f'<p class="meta">{len(sessions)} sessions under {html.escape(root.name)}</p>',
             '<h2 id="peaks">Peak SUDS per step across sessions</h2>', _png(fig), _table(header, rows, left=3)]
    path = out or (root / f"course_{pseudonym}.html")
    path.write_text(_page(f"Course {pseudonym}", parts), encoding="utf-8")
    path.chmod(0o600)
    return path


def _page(title: str, parts: list[str]) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n")


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{seconds % 60:04.1f}"
