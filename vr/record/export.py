"""Session records for a lab's tools: one session as XDF, and many sessions as tidy tables.

``write_xdf(record_dir, out)`` writes the XDF 1.0 format (https://github.com/sccn/xdf/wiki/Specifications),
readable by pyxdf, LabRecorder's readers, EEGLAB and MNE, with three kinds of stream:

- ``vr-markers`` (string, irregular): every event but the samples and frame timings, as JSON;
- ``vr-head-pose`` (float32 x 7 at the step rate): the head's position (m) and orientation
  quaternion (w, x, y, z) from ``inputs.jsonl``, as the live outlet sends it (``vr.backends.lsl``);
- ``vr-physio-hr`` / ``vr-physio-eda`` (float32, irregular): the recorded physiology.

Time stamps are session seconds. When the session ran with lab streams, its ``lsl_clock``
events (session time and LSL time, once a second) become ClockOffset chunks (collected at the
session's seconds: see ``clock_offsets``), so a reader that synchronises clocks (pyxdf's
default) puts every stream on the LSL clock of the session's computer, beside a lab recorder's
own streams of the same session.

``write_tables(root, out_dir)`` writes, for every session under ``root``, long-format tables
(one row per event, sample, human per sample, rating, step visit, physiology sample; each with
``patient``, ``session`` and ``t_s``, and ``record_verified``): CSV always, Parquet as well
where pyarrow is installed.
"""

from __future__ import annotations

import csv
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vr.record.files import private_output
from vr.record.privacy import make_private_dir
from vr.record.reader import RecordError, SessionRecord, read_bytes, read_record

CHUNK_SAMPLES = 512
TAG_FILE, TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK, TAG_FOOTER = 1, 2, 3, 4, 6
NOT_MARKERS = frozenset({"sample", "frame_stats"})
UNITS = {"hr": "bpm", "eda": "microsiemens"}


@dataclass
class Stream:
    """One XDF stream: header fields, samples as (time stamp, values), and clock offsets."""

    name: str
    type: str
    channels: list[tuple[str, str]]      # (label, unit)
    srate: float
    fmt: str                              # 'string' or 'float32'
    stamps: list[float]
    values: list[Any]
    source_id: str = ""


def _varlen(n: int) -> bytes:
    """XDF's variable-length count: one byte saying how many bytes follow (1, 4 or 8), then the count."""
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2 ** 32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def _xml(tag: str, fields: dict[str, Any], desc: str = "") -> bytes:
    from xml.sax.saxutils import escape

    body = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0"?><{tag}>{body}{desc}</{tag}>'.encode("utf-8")


def _header(stream_id: int, s: Stream, session: str) -> bytes:
    from xml.sax.saxutils import escape

    chans = "".join(f"<channel><label>{escape(label)}</label><unit>{escape(unit)}</unit></channel>"
                    for label, unit in s.channels)
    info = _xml("info", {"name": s.name, "type": s.type, "channel_count": len(s.channels), "nominal_srate": s.srate,
                         "channel_format": s.fmt, "source_id": s.source_id or f"{session}-{s.name}",
                         "version": "1.1", "created_at": 0, "uid": f"{session}-{stream_id}", "session_id": session},
                f"<desc><channels>{chans}</channels></desc>")
    return _chunk(TAG_STREAM_HEADER, struct.pack("<I", stream_id) + info)


def _samples(stream_id: int, s: Stream, start: int, stop: int) -> bytes:
    out = [struct.pack("<I", stream_id), _varlen(stop - start)]
    for t, v in zip(s.stamps[start:stop], s.values[start:stop]):
        out.append(struct.pack("<Bd", 8, t))
        if s.fmt == "string":
            for text in v:
                raw = text.encode("utf-8")
                out.append(_varlen(len(raw)) + raw)
        else:
            out.append(struct.pack(f"<{len(v)}f", *v))
    return _chunk(TAG_SAMPLES, b"".join(out))


def _footer(stream_id: int, s: Stream, offsets: list[tuple[float, float]]) -> bytes:
    clock = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>" for t, v in offsets)
    info = _xml("info", {"first_timestamp": s.stamps[0] if s.stamps else 0.0,
                         "last_timestamp": s.stamps[-1] if s.stamps else 0.0, "sample_count": len(s.stamps),
                         "writer": "vr-exposure"}, f"<clock_offsets>{clock}</clock_offsets>")
    return _chunk(TAG_FOOTER, struct.pack("<I", stream_id) + info)


def head_quaternion(yaw_deg: float, pitch_deg: float, roll_deg: float) -> tuple[float, float, float, float]:
    """(w, x, y, z) of heading about Z, then pitch about X, then roll about Y (Panda3D's HPR order;
    the session frame: Z up, +Y forward): the product of the three half-angle rotations, written out
    (it runs once a frame for the live outlet)."""
    h, p, r = math.radians(yaw_deg) * 0.5, math.radians(pitch_deg) * 0.5, math.radians(roll_deg) * 0.5
    ch, sh, cp, sp, cr, sr = math.cos(h), math.sin(h), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    w, x, y, z = ch * cp, ch * sp, sh * sp, sh * cp
    return (w * cr - y * sr, x * cr - z * sr, w * sr + y * cr, z * cr + x * sr)


def read_inputs(directory: Path) -> list[list[Any]]:
    """``inputs.jsonl``'s rows (a torn last line is left out)."""
    path = directory / "inputs.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in read_bytes(path).split(b"\n"):
        if line:
            try:
                rows.append(json.loads(line))
            except ValueError:
                break
    return rows


def physio_rows(inputs: list[list[Any]]) -> list[tuple[str, float, float, str]]:
    """Every recorded physiology sample as (kind, value, t_s, source), in the order recorded."""
    out = []
    for row in inputs:
        extra = row[7] if len(row) > 7 and isinstance(row[7], dict) else None
        for p in (extra or {}).get("p", ()):
            if isinstance(p, dict):
                out.append((p.get("kind", ""), p.get("value"), p.get("t_s"), p.get("source", "")))
            elif isinstance(p, (list, tuple)) and len(p) >= 3:
                out.append((p[0], p[1], p[2], p[3] if len(p) > 3 else ""))
    return out


def head_rows(inputs: list[list[Any]]) -> tuple[list[float], list[list[float]]]:
    """The head each step consumed, stamped with the session time after that step."""
    stamps, values, t = [], [], 0.0
    for row in inputs:
        t += row[0]
        stamps.append(round(t, 6))
        values.append([row[1], row[2], row[3], *head_quaternion(row[4], row[5], row[6])])
    return stamps, values


def session_streams(record: SessionRecord, inputs: list[list[Any]]) -> list[Stream]:
    """The XDF streams of one record (see the module's docstring)."""
    events = [e for e in record.events if e["kind"] not in NOT_MARKERS]
    markers = Stream("vr-markers", "Markers", [("event", "")], 0.0, "string", [e["t_s"] for e in events],
                     [[json.dumps({k: v for k, v in e.items() if k not in ("seq", "hash")}, ensure_ascii=False,
                                  separators=(",", ":"))] for e in events])
    stamps, values = head_rows(inputs)
    rate = round(len(stamps) / stamps[-1], 3) if stamps and stamps[-1] > 0 else 0.0
    pose = Stream("vr-head-pose", "Mocap", [(f"head_{c}", "m" if c in "xyz" else "")
                                             for c in ("x", "y", "z", "qw", "qx", "qy", "qz")],
                  float(record.meta.get("rate_hz") or rate), "float32", stamps, values)
    streams = [markers, pose]
    physio = physio_rows(inputs)
    for kind in ("hr", "eda"):
        rows = sorted((r for r in physio if r[0] == kind), key=lambda r: r[2])
        if rows:
            streams.append(Stream(f"vr-physio-{kind}", kind.upper(), [(kind, UNITS[kind])], 0.0, "float32",
                                  [r[2] for r in rows], [[r[1]] for r in rows], rows[0][3]))
    return streams


def clock_offsets(record: SessionRecord) -> list[tuple[float, float]]:
    """(session time, LSL minus session time) from the record's ``lsl_clock`` events.

    The collection times are session seconds, the streams' own clock: readers (pyxdf, EEGLAB's
    loader) fit the offsets against the collection times and evaluate the fit at the streams'
    time stamps, which is exact only when both are on one clock; with an offset of hours
    between the clocks, LSL times there would move a slow drift's fit by seconds."""
    return [(e["t_s"], e["lsl_s"] - e["t_s"]) for e in record.of_kind("lsl_clock") if "lsl_s" in e]


def write_xdf(directory: str | Path, out: str | Path) -> Path:
    """One session as an XDF file (0600, whole or not at all); returns its path.

    Raises ``RecordError`` for a folder that is not a readable record."""
    record = read_record(directory)
    streams = session_streams(record, read_inputs(Path(directory)))
    offsets = clock_offsets(record)
    session = Path(directory).name
    chunks: list[tuple[float, int, bytes]] = []
    for sid, s in enumerate(streams, start=1):
        for start in range(0, len(s.stamps), CHUNK_SAMPLES):
            stop = min(start + CHUNK_SAMPLES, len(s.stamps))
            chunks.append((s.stamps[start], 1, _samples(sid, s, start, stop)))
        for at_s, value in offsets:
            chunks.append((at_s, 0, _chunk(TAG_CLOCK, struct.pack("<Idd", sid, at_s, value))))
    chunks.sort(key=lambda c: (c[0], c[1]))   # interleaved in time, as the format asks
    started = record.meta.get("started_utc", "")
    parts = [b"XDF:", _chunk(TAG_FILE, _xml("info", {"version": "1.0", "datetime": started,
                                                     "session": session, "writer": "vr export"}))]
    parts += [_header(sid, s, session) for sid, s in enumerate(streams, start=1)]
    parts += [c[2] for c in chunks]
    parts += [_footer(sid, s, offsets) for sid, s in enumerate(streams, start=1)]
    path = Path(out)
    with private_output(path, text=False) as f:
        f.write(b"".join(parts))
    return path


# -- tables ----------------------------------------------------------------------------------------
TABLES = {
    "sessions": ["patient", "session", "started_utc", "profile", "scene", "seed", "backend", "status",
                 "length_s", "record_verified"],
    "events": ["patient", "session", "seq", "t_s", "kind", "data", "record_verified"],
    "samples": ["patient", "session", "t_s", "mode", "step_index", "intensity", "head_x_m", "head_y_m", "head_z_m",
                "head_yaw_deg", "head_pitch_deg", "looking_at", "humans", "nearest_m", "share_looking_at_patient",
                "record_verified"],
    "humans": ["patient", "session", "t_s", "human", "distance_m", "gaze_at_patient", "record_verified"],
    "ratings": ["patient", "session", "t_s", "scale", "value", "source", "value_in_range", "record_verified"],
    "steps": ["patient", "session", "t_s", "index", "name", "end_s", "duration_s", "reason", "suds_peak", "suds_end",
              "record_verified"],
    "physio": ["patient", "session", "t_s", "kind", "value", "unit", "source", "record_verified"],
}


def find_records(root: Path) -> list[Path]:
    """Every session folder at or under ``root`` (a folder with session.json and events.jsonl), sorted."""
    if (root / "session.json").exists():
        return [root]
    return sorted(p.parent for p in root.rglob("session.json") if (p.parent / "events.jsonl").exists())


def session_rows(directory: Path) -> dict[str, list[list[Any]]]:
    """One session's rows for every table."""
    from vr.record.tables import build_tables
    from vr.record.verify import verify_events

    record = read_record(directory)
    flag = "yes" if verify_events(directory).ok and not record.problems else "no"
    tables = build_tables(record)
    meta = record.meta
    who = [meta.get("patient", ""), directory.name]
    rows: dict[str, list[list[Any]]] = {name: [] for name in TABLES}
    rows["sessions"].append([*who, meta.get("started_utc", ""), (meta.get("profile") or {}).get("name", ""),
                             (meta.get("scene") or {}).get("name", ""), meta.get("seed", ""),
                             meta.get("backend", ""), meta.get("status", ""), tables.length_s, flag])
    for e in record.events:
        if e["kind"] != "sample":
            data = {k: v for k, v in e.items() if k not in ("seq", "t_s", "kind", "hash")}
            rows["events"].append([*who, e["seq"], e["t_s"], e["kind"], json.dumps(data, ensure_ascii=False), flag])
    for s in tables.samples:
        rows["samples"].append([*who, *(s[c] for c in TABLES["samples"][2:-1]), flag])
        rows["humans"] += [[*who, s["t_s"], i, d, g, flag] for i, d, g in zip(s["_ids"], s["_dist"], s["_gaze"])]
    rows["ratings"] = [[*who, r["t_s"], r["scale"], r["value"], r["source"], "yes" if r["in_range"] else "no", flag]
                       for r in tables.ratings]
    rows["steps"] = [[*who, s.start_s, s.index, s.name, s.end_s, round(s.duration_s, 3), s.reason,
                      max(s.suds) if s.suds else "", s.suds[-1] if s.suds else "", flag] for s in tables.steps]
    rows["physio"] = [[*who, t, kind, value, UNITS.get(kind, ""), source, flag]
                      for kind, value, t, source in physio_rows(read_inputs(directory))]
    return rows


@dataclass
class TablesWritten:
    folder: Path
    sessions: int
    files: list[Path]
    problems: list[str]


def write_tables(root: str | Path, out_dir: str | Path) -> TablesWritten:
    """Every session under ``root`` as long tables in ``out_dir`` (a new folder, 0700; files 0600).

    A record that cannot be read is named in ``problems`` and left out; one that fails its
    verification stays in, with ``record_verified`` = no on its rows."""
    root, out = Path(root), Path(out_dir)
    folders = find_records(root)
    if not folders:
        raise RecordError(f"{root}: no session records found (folders with session.json and events.jsonl)")
    allrows: dict[str, list[list[Any]]] = {name: [] for name in TABLES}
    problems = []
    for folder in folders:
        try:
            rows = session_rows(folder)
        except RecordError as e:
            problems.append(str(e))
            continue
        for name, r in rows.items():
            allrows[name] += r
    make_private_dir(out)
    files = []
    for name, columns in TABLES.items():
        path = out / f"{name}.csv"
        with private_output(path, newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(allrows[name])
        files.append(path)
    files += _parquet(out, allrows)
    return TablesWritten(out, len(folders) - len(problems), files, problems)


def _parquet(out: Path, allrows: dict[str, list[list[Any]]]) -> list[Path]:
    """The same tables as Parquet, where pyarrow is installed (mixed columns become text)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return []
    import io

    files = []
    for name, columns in TABLES.items():
        data = {}
        for k, col in enumerate(columns):
            values = [r[k] for r in allrows[name]]
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) or v == "" for v in values)
            if numeric and any(v != "" for v in values):
                data[col] = pa.array([None if v == "" or (isinstance(v, float) and math.isnan(v)) else float(v)
                                      for v in values], pa.float64())
            else:
                data[col] = pa.array(["" if v is None else str(v) for v in values], pa.string())
        buf = io.BytesIO()
        pq.write_table(pa.table(data), buf)
        path = out / f"{name}.parquet"
        with private_output(path, text=False) as f:
            f.write(buf.getvalue())
        files.append(path)
    return files
