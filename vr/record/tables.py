"""A session record as tables a researcher can open anywhere (CSV) and the report draws from.

Every CSV file has a last column ``record_verified`` (``yes``/``no``, the same on every row):
a plain column, not a comment line, so every CSV tool still reads the files, and the flag
travels with each row when several sessions' files are merged. ``ratings.csv`` also says per
row whether the value lies on its scale (``value_in_range``); steps' peak and end SUDS only
count ratings that do.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vr.record.files import private_output
from vr.record.reader import SessionRecord
from vr.record.trust import in_range


@dataclass
class StepRow:
    """One visit to one step of the hierarchy."""

    index: int
    name: str
    start_s: float
    end_s: float
    reason: str
    suds: list[float] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Tables:
    """What the report and the CSV files are made of."""

    steps: list[StepRow]
    samples: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    commands: list[dict[str, Any]]
    panics: list[float]
    speech: list[dict[str, Any]]
    length_s: float
    step_names: list[str]
    frames: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def build_tables(record: SessionRecord) -> Tables:
    events = record.events
    length = events[-1]["t_s"] if events else 0.0
    steps: list[StepRow] = []
    names: dict[int, str] = {}
    current: StepRow | None = None
    for e in events:
        kind = e["kind"]
        if kind == "step_started":
            names[e["index"]] = e["name"]
            if current is not None:
                current.end_s = e["t_s"]
            current = StepRow(e["index"], e["name"], e["t_s"], length, e["reason"])
            steps.append(current)
        elif kind in ("safe_scene", "session_ended") and current is not None and current.end_s == length:
            current.end_s = e["t_s"]
        elif kind == "rating" and e.get("scale") == "suds" and current is not None and in_range("suds", e.get("value")):
            current.suds.append(e["value"])
    samples = []
    for e in record.of_kind("sample"):
        h = e["humans"]
        d = h["distance_m"]
        samples.append({
            "t_s": e["t_s"], "mode": e["mode"], "step_index": e["step_index"], "intensity": e["intensity"],
            "head_x_m": e["head"]["position_m"][0], "head_y_m": e["head"]["position_m"][1],
            "head_z_m": e["head"]["position_m"][2], "head_yaw_deg": e["head"]["yaw_deg"],
            "head_pitch_deg": e["head"]["pitch_deg"], "looking_at": e.get("looking_at") or "",
            "humans": len(d), "nearest_m": min(d) if d else "",
            "share_looking_at_patient": round(sum(h["gaze_at_patient"]) / len(d), 3) if d else "",
            "_ids": h["id"], "_dist": d, "_gaze": h["gaze_at_patient"]})
    lines = record.line_numbers or list(range(1, len(events) + 1))
    ratings = [{"t_s": e["t_s"], "scale": e.get("scale"), "value": e.get("value"), "source": e.get("source", ""),
                "in_range": in_range(e.get("scale"), e.get("value")), "line": line}
               for e, line in zip(events, lines) if e["kind"] == "rating"]
    commands = [{"t_s": e["t_s"], "command": e["command"], "applied": e["applied"], "source": e.get("source", ""),
                 "value": e.get("value", ""), "reason": e.get("reason", "")} for e in record.of_kind("clinician_command")]
    # The transcript: what was said (utterances, and the patient's words); bare speaking turns only
    # for a session that ran without dialogue.
    spoken = record.of_kind("utterance", "patient_said")
    speech = [{"t_s": e["t_s"], "speaker": "patient" if e["kind"] == "patient_said" else e.get("speaker", ""),
               "line_id": e.get("line_id", ""), "text": e.get("text", ""),
               "intent": e.get("method", "") if e["kind"] == "utterance" else (f"risk: {e['risk']}" if e.get("risk") else ""),
               "intensity": e.get("band", "")} for e in spoken] if spoken else [
        {"t_s": e["t_s"], "speaker": e.get("human", ""), "line_id": "", "text": "", "intent": e.get("intent", ""),
         "intensity": e.get("dialogue_intensity", "")} for e in record.of_kind("speech_turn")]
    frames = [_frame_row(e) for e in record.of_kind("frame_stats")]
    alerts = [{"t_s": e["t_s"], "reason": e.get("reason", ""), "message": e.get("message", "")}
              for e in record.of_kind("alert")]
    return Tables(steps, samples, ratings, commands, [e["t_s"] for e in record.of_kind("panic")], speech, length,
                  [names.get(i, f"step {i}") for i in range(max(names, default=-1) + 1)], frames, alerts)


FRAME_COLUMNS = ["t_s", "frames", "cpu_ms_median", "cpu_ms_p95", "cpu_ms_max", "over_budget", "display_period_ms",
                 "missed_frames", "not_rendered", "headset_state"]


def _frame_row(e: dict[str, Any]) -> dict[str, Any]:
    """One second of frame timing: CPU time per frame, and the headset's view where there is one."""
    cpu = sorted(e.get("cpu_ms") or [0.0])
    return {"t_s": e["t_s"], "frames": e.get("frames", len(cpu)), "cpu_ms_median": cpu[len(cpu) // 2],
            "cpu_ms_p95": cpu[min(len(cpu) - 1, int(0.95 * len(cpu)))], "cpu_ms_max": cpu[-1],
            "over_budget": e.get("over_budget", 0), "display_period_ms": e.get("display_period_ms", ""),
            "missed_frames": e.get("missed_frames", ""), "not_rendered": e.get("not_rendered", ""),
            "headset_state": e.get("headset_state", "")}


def write_csvs(record: SessionRecord, tables: Tables, folder: Path, *, verified: bool = True) -> list[Path]:
    """samples.csv, humans.csv (one row per human per sample), ratings.csv, steps.csv, frames.csv, events.csv.

    Each is written whole or not at all, 0600; ``verified`` fills every file's ``record_verified``."""
    out = []
    flag = "yes" if verified else "no"

    def write(name: str, header: list[str], rows) -> None:
        path = folder / name
        with private_output(path, newline="") as f:
            w = csv.writer(f)
            w.writerow([*header, "record_verified"])
            w.writerows([*row, flag] for row in rows)
        out.append(path)

    sample_cols = [c for c in (tables.samples[0] if tables.samples else {}) if not c.startswith("_")] or ["t_s"]
    write("samples.csv", sample_cols, ([s[c] for c in sample_cols] for s in tables.samples))
    write("humans.csv", ["t_s", "human", "distance_m", "gaze_at_patient"],
          ([s["t_s"], i, d, g] for s in tables.samples for i, d, g in zip(s["_ids"], s["_dist"], s["_gaze"])))
    write("ratings.csv", ["t_s", "scale", "value", "source", "value_in_range"],
          ([r["t_s"], r["scale"], r["value"], r["source"], "yes" if r["in_range"] else "no"] for r in tables.ratings))
    write("steps.csv", ["index", "name", "start_s", "end_s", "duration_s", "reason", "suds_peak", "suds_end"],
          ([s.index, s.name, s.start_s, s.end_s, round(s.duration_s, 2), s.reason,
            max(s.suds) if s.suds else "", s.suds[-1] if s.suds else ""] for s in tables.steps))
    write("frames.csv", FRAME_COLUMNS, ([f[c] for c in FRAME_COLUMNS] for f in tables.frames))
    write("events.csv", ["seq", "t_s", "kind", "details"],
          ([e["seq"], e["t_s"], e["kind"],
            json.dumps({k: v for k, v in e.items() if k not in ("seq", "t_s", "kind", "hash")}, ensure_ascii=False)]
           for e in record.events if e["kind"] != "sample"))
    return out
