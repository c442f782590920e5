"""The distraction part of a session report: pain before, during and after, against the phases,
with the patient's engagement in the game and the hits.

Pain ratings outside 0-10 are never drawn or averaged as data: they show as red crosses at the
plot's edge (``vr.record.trust``).

Engagement is the share of time the patient's gaze was on the game (within 25 degrees of a
target or of the way ahead), from the record's 10 Hz samples.
"""

from __future__ import annotations

import html
from typing import Any

from vr.record.reader import SessionRecord
from vr.record.trust import draw_out_of_range, in_range

PHASE_COLORS = ["#dbe8f5", "#f5e6cc", "#dcefdc", "#f2dbe6", "#e8e0f5", "#f5f0cc"]


def phases(record: SessionRecord) -> list[dict[str, Any]]:
    """One row per phase: start, end, expected and actual length, engagement, pain during, hits."""
    rows: list[dict[str, Any]] = []
    ends = {e["index"]: e for e in record.of_kind("phase_ended")}
    length = record.events[-1]["t_s"] if record.events else 0.0
    for e in record.of_kind("phase_started"):
        end = ends.get(e["index"])
        stop = end["t_s"] if end else length
        pains = [r["value"] for r in record.of_kind("rating")
                 if r.get("scale") == "pain" and r.get("when") == "during" and r.get("phase_index") == e["index"]
                 and in_range("pain", r.get("value"))]
        hits = sum(1 for h in record.of_kind("hit") if e["t_s"] <= h["t_s"] < stop)
        rows.append({"index": e["index"], "name": e["name"], "start_s": e["t_s"], "end_s": stop,
                     "expected_min": e["expected_min"], "engagement": end.get("engagement") if end else None,
                     "pain": pains, "hits": hits})
    return rows


def engagement_series(record: SessionRecord, window_s: float = 10.0) -> tuple[list[float], list[float]]:
    """(minutes, share engaged over the last ``window_s``) from the samples."""
    t, share, recent = [], [], []
    for s in record.of_kind("sample"):
        game = s.get("game")
        if game is None or s["mode"] != "running":
            continue
        recent.append((s["t_s"], game["engaged"]))
        while recent and recent[0][0] < s["t_s"] - window_s:
            recent.pop(0)
        t.append(s["t_s"] / 60)
        share.append(sum(v for _, v in recent) / len(recent))
    return t, share


def section(record: SessionRecord, png) -> list[str]:
    """HTML parts for the report (``png`` turns a matplotlib Figure into an inline image)."""
    from matplotlib.figure import Figure

    rows = phases(record)
    every_pain = [r for r in record.of_kind("rating") if r.get("scale") == "pain"]
    pains = [r for r in every_pain if in_range("pain", r.get("value"))]  # the rest: flagged, not data
    fig = Figure(figsize=(10, 3.6), dpi=90)
    ax = fig.add_subplot()
    for k, row in enumerate(rows):
        ax.axvspan(row["start_s"] / 60, row["end_s"] / 60, color=PHASE_COLORS[k % len(PHASE_COLORS)], lw=0, zorder=0)
        ax.text((row["start_s"] + row["end_s"]) / 120, 0.97, str(row["index"] + 1), transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, color="#555")
    colors = {"before": "#1f4e8c", "during": "#b03a2e", "after": "#1e8449"}
    for when, color in colors.items():
        pts = [(r["t_s"] / 60, r["value"]) for r in pains if r.get("when") == when]
        if pts:
            ax.plot(*zip(*pts), "o", color=color, ms=7, label=f"pain {when}", zorder=4)
    draw_out_of_range(ax, [r for r in every_pain if not in_range("pain", r.get("value"))])
    ax.set_ylim(0, 10.5)
    ax.set_ylabel("pain (0-10)")
    ax.set_xlabel("session time (min)")
    bx = ax.twinx()
    t, share = engagement_series(record)
    if t:
        bx.plot(t, share, color="#6c3483", lw=1.0, alpha=0.8, label="engagement")
    bx.set_ylim(0, 1.05)
    bx.set_ylabel("engagement (share of time on the game)", color="#6c3483")
    length = record.events[-1]["t_s"] / 60 if record.events else 0.1
    ax.set_xlim(0, max(length, 0.1))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    ax.set_title("Pain before, during and after, over the procedure's phases (numbered bands), and engagement")
    table = ["<table><tr><th>phase</th><th class=l>name</th><th>minutes (expected)</th><th>engagement</th>"
             "<th>pain during</th><th>hits</th></tr>"]
    for row in rows:
        minutes = (row["end_s"] - row["start_s"]) / 60
        eng = f"{row['engagement']:.0%}" if row["engagement"] is not None else "-"
        pain = ", ".join(f"{p:.0f}" for p in row["pain"]) or "-"
        table.append(f"<tr><td>{row['index'] + 1}</td><td class=l>{html.escape(row['name'])}</td>"
                     f"<td>{minutes:.1f} ({row['expected_min']:g})</td><td>{eng}</td><td>{pain}</td>"
                     f"<td>{row['hits']}</td></tr>")
    table.append("</table>")
    before = [r["value"] for r in pains if r.get("when") == "before"]
    during = [r["value"] for r in pains if r.get("when") == "during"]
    after = [r["value"] for r in pains if r.get("when") == "after"]

    def mean(values: list[float]) -> str:
        return f"{sum(values) / len(values):.1f}" if values else "-"

    ended = record.of_kind("session_ended")
    game = ended[-1] if ended else {}
    summary = (f"<p>Pain (0-10): before {mean(before)}, during {mean(during)} (mean of {len(during)}), "
               f"after {mean(after)}. Game: score {game.get('score', '-')}, {game.get('hits', '-')} hits, "
               f"{game.get('misses', '-')} targets missed; engagement over the session "
               f"{game['engagement']:.0%}." if game.get("engagement") is not None else "")
    summary += "</p>" if summary else ""
    return ['<h2 id="procedure">The procedure: pain, phases and engagement</h2>', summary, png(fig), "".join(table)]
