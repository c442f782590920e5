"""``vr report``: a self-contained report.html (plots inline, no network) and CSV files per session.

The record is verified first (``vr.record.verify``); one that fails is still reported, marked
untrustworthy in the page, the CSV files and VERIFY.txt (``vr.record.trust``). The course
report across one patient's sessions is in ``vr.record.course``.

Plots are drawn with matplotlib's object API (no pyplot, so nothing global is touched) and
embedded as PNG data; the page needs no external file, font or script.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vr.record.files import replace_private
from vr.record.reader import RecordError, read_record
from vr.record.tables import Tables, build_tables, write_csvs
from vr.record.trust import assess, draw_out_of_range, write_note
from vr.record.verify import verify_events

BAND_COLORS = ["#e8eef7", "#dbe8f5", "#cfe0f2", "#f5e6cc", "#f2d9b3", "#efcca0", "#ecbf8c", "#e8b27a", "#e4a467"]
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.meta{color:#555} table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
td,th{border:1px solid #ccc;padding:.25rem .55rem;text-align:right} th{background:#f3f3f3}
td.l,th.l{text-align:left} img{max-width:100%} .note{color:#666;font-size:.88rem}
.untrusted{border:3px solid #c0392b;background:#fdecea;color:#611a15;padding:.6rem 1rem;margin:1rem 0}
.untrusted h2{border:0;margin-top:.2rem;color:#c0392b}
"""


def png(fig: Figure) -> str:
    """A matplotlib figure as an inline ``<img>`` (PNG data, nothing to fetch)."""
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
        rows = [r for r in tables.ratings if r["scale"] == scale]
        if not rows:
            continue
        if axis is None:
            axis = ax.twinx()
            axis.set_ylim(0, 10)
            axis.set_ylabel("pain (0-10)", color=color)
        pts = [(r["t_s"] / 60, r["value"]) for r in rows if r["in_range"]]
        if pts:
            axis.plot(*zip(*pts), "o-", color=color, ms=4, lw=1.5, label=scale.upper(), zorder=4)
        draw_out_of_range(axis, [r for r in rows if not r["in_range"]])
    for c in tables.commands:
        if c["applied"] and c["command"] in ("step_up", "step_down", "goto_step", "pause", "resume", "set_intensity"):
            ax.axvline(c["t_s"] / 60, color="#555", lw=0.8, ls=":", zorder=2)
    ax.set_ylim(0, 100)
    ax.set_xlim(0, max(tables.length_s / 60, 0.1))
    ax.set_xlabel("session time (min)")
    ax.set_ylabel("SUDS (0-100)")
    ax.set_title("SUDS and pain over the steps (numbered bands: steps; red lines: panic; dotted: clinician)")
    return png(fig)


def _body_section(record, tables: Tables) -> list[str]:
    """Heart rate and skin conductance over the steps (from the samples), when the session measured them."""
    rows = [(e["t_s"] / 60, e.get("hr_bpm"), e.get("eda_us")) for e in record.of_kind("sample")
            if "hr_bpm" in e or "eda_us" in e]
    if not rows:
        return []
    base = record.of_kind("physio_baseline")
    fig = Figure(figsize=(10, 3.0), dpi=90)
    ax = fig.add_subplot()
    _bands(ax, tables, numbers=True)
    hr = [(t, v) for t, v, _ in rows if isinstance(v, (int, float))]
    if hr:
        ax.plot(*zip(*hr), color="#c0392b", lw=1.0, label="heart rate (bpm)")
        if base and isinstance(base[0].get("hr_bpm"), (int, float)):
            ax.axhline(base[0]["hr_bpm"], color="#c0392b", lw=0.8, ls="--", label="resting baseline")
    ax.set_ylabel("heart rate (bpm)", color="#c0392b")
    eda = [(t, v) for t, _, v in rows if isinstance(v, (int, float))]
    if eda:
        bx = ax.twinx()
        bx.plot(*zip(*eda), color="#117a65", lw=1.0, label="EDA (µS)")
        bx.set_ylabel("skin conductance (µS)", color="#117a65")
    for a in tables.alerts:
        if a["reason"] in ("body_rule", "physiology_lost"):
            ax.axvline(a["t_s"] / 60, color="#7d3c98", lw=1.0, ls=":", zorder=2)
    ax.set_xlim(0, max(tables.length_s / 60, 0.1))
    ax.set_xlabel("session time (min)")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("The body beside SUDS (numbered bands: steps; dotted: body rules and lost signals)")
    return ['<h2 id="body">Heart rate and skin conductance</h2>', png(fig)]


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
    return png(fig)


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
    return png(fig)


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
    return rows, png(fig)


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


def table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """An HTML table, text escaped; columns 1..``left`` aligned left (the rest hold numbers)."""
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

    return section(record, png)


@dataclass
class Written:
    """A report on disk, and what makes it untrustworthy (empty when the records verified)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def trusted(self) -> bool:
        return not self.problems


def session_report(directory: str | Path) -> Written:
    """Verify the record, then write report.html, the CSV files and VERIFY.txt into its folder.

    A record that fails verification (or holds ratings outside their scales) still gets its
    report, marked as untrustworthy (``vr.record.trust``); ``problems`` of the result say why.
    Raises ``RecordError`` for a folder that cannot be read as a record."""
    directory = Path(directory)
    verdict = verify_events(directory)
    record = read_record(directory)
    try:
        tables = build_tables(record)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        first = verdict.problems[0] if verdict.problems else f"{directory / 'events.jsonl'}"
        raise RecordError(f"{first}: the record cannot be drawn (an event lacks a field or holds a value of the "
                          f"wrong type: {type(e).__name__} {e}); it was altered or damaged: vr verify "
                          f"{directory} names the first bad line") from None
    trust = assess(verdict, tables.ratings)
    csvs = write_csvs(record, tables, directory, verified=trust.ok)
    note = write_note(directory, trust, [p.name for p in csvs])
    meta = record.meta
    avoid_rows, avoid_png = _avoidance(tables)
    panics = len(tables.panics)
    notes = [f"{len(record.problems)} problem(s) reading the record"] if record.problems else []
    if record.torn_tail is not None:
        notes.append("the last line was cut short by a crash and is left out")
    notes += [n[0].upper() + n[1:] for n in verdict.notes]
    profile = meta.get("profile") if isinstance(meta.get("profile"), dict) else {}
    scene = meta.get("scene") if isinstance(meta.get("scene"), dict) else {}
    title = f"Session report: {profile.get('name', '?')}" + ("" if trust.ok else " (NOT VERIFIED)")
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        trust.banner_html(),
        f'<p class="meta">patient {html.escape(str(meta.get("patient", "?")))} · '
        f'scene {html.escape(str(scene.get("name", "?")))} · '
        f'started {html.escape(str(meta.get("started_utc", "?")))} UTC · {tables.length_s / 60:.1f} min · '
        f'backend {html.escape(str(meta.get("backend", "?")))} · seed {html.escape(str(meta.get("seed")))} · '
        f'record {html.escape(str(meta.get("status", "?")))} · '
        f'{"verified" if trust.ok else "NOT VERIFIED"}</p>',
        *(f'<p class="note">{html.escape(n)}</p>' for n in notes),
        '<h2 id="summary">Summary</h2>',
        table(["step", "name", "minutes", "visits", "peak SUDS", "end SUDS", "habituation (peak-end)"],
               _summary_rows(tables)),
        f"<p>Session length {tables.length_s / 60:.1f} min; panics {panics}; "
        f"SUDS ratings {sum(1 for r in tables.ratings if r['scale'] == 'suds')}; "
        f"pain ratings {sum(1 for r in tables.ratings if r['scale'] == 'pain')}.</p>",
        *(_distraction(record) if record.of_kind("phase_started") or meta.get("kind") == "distraction" else
          ['<h2 id="suds">SUDS and pain over time</h2>', _suds_plot(tables), *_body_section(record, tables)]),
        '<h2 id="intensity">Intensity</h2>', _intensity_plot(tables),
        '<h2 id="humans">Virtual humans: distance and gaze</h2>', _humans_plot(tables),
        '<h2 id="avoidance">The patient\'s gaze: looking at the humans or away</h2>',
        '<p class="note">Share of the time with humans present that a human was within 12° of the patient\'s '
        'line of sight; lower means more looking away.</p>',
        table(["step", "name", "looking at humans", "samples"],
               [[str(i + 1), n, f"{share:.0%}", str(k)] for i, n, share, k in avoid_rows]),
        avoid_png,
        '<h2 id="timeline">Clinician commands and panics</h2>',
        table(["time", "command", "applied", "source", "value", "reason"],
               [[_clock(c["t_s"]), c["command"], "yes" if c["applied"] else "no", c["source"], c["value"],
                 c["reason"]] for c in tables.commands]
               + [[_clock(t), "panic (safe scene)", "yes", "", "", ""] for t in tables.panics]
               + [[_clock(a["t_s"]), f"alert ({a['reason']})", "", "", "", a["message"]] for a in tables.alerts],
               left=1),
        '<h2 id="transcript">Dialogue transcript</h2>',
        table(["time", "speaker", "line", "text", "how / risk", "band"],
               [[_clock(s["t_s"]), s["speaker"], s["line_id"], s["text"] or "(speaking turn)", s["intent"],
                 s["intensity"]] for s in tables.speech], left=3) if tables.speech else "<p>No one spoke.</p>",
        '<h2 id="frames">Frame timing and comfort</h2>', _frames_summary(tables),
        '<h2 id="files">Data files</h2>',
        "<ul>" + "".join(f'<li><a href="{p.name}">{p.name}</a></li>' for p in [*csvs, note]) + "</ul>",
        f'<p class="note">Made by vr report on {datetime.now().strftime("%Y-%m-%d %H:%M")}. '
        "The record folder is private: share this page only as the patient's consent allows.</p>",
    ]
    path = directory / "report.html"
    write_page(path, f"Session report {meta.get('patient', '?')}", parts)
    return Written(path, [] if trust.ok else trust.problems(), [*csvs, note])


def page(title: str, parts: list[str]) -> str:
    """A self-contained HTML page (inline style, no scripts, nothing to fetch)."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n")


def write_page(path: Path, title: str, parts: list[str]) -> None:
    """Write a page whole or not at all, 0600 from the start."""
    replace_private(path, page(title, parts).encode("utf-8"))


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{seconds % 60:04.1f}"
