"""Re-run a recorded session from its seed and logged inputs (``vr replay --verify`` and replay views).

A record keeps the profile and scenes it ran (``profile.yaml``, ``scene.yaml``,
``safe_scene.yaml``, checked against the hashes in ``session.json``) and every step's inputs
(``inputs.jsonl``). Feeding those inputs to a new ``Session`` with the same seed reproduces the
session exactly; ``verify_replay`` compares every event the session produced with the record.
Events that do not come from the session (frame timings, storage alerts) are left out of the
comparison.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vr.config import load_profile
from vr.config.load import LoadedProfile
from vr.record.reader import RecordError, read_record
from vr.record.writer import decode_pointer
from vr.sim import Command, Event, FrameInputs, HeadPose, PatientWords, Rating, SpokenLine, WorldState
from vr.sim.types import PhysioSample
from vr.sim.risk import ScreenScore

# The app's own events carry ``app: true`` (telemetry, the recogniser's figures, its alerts); records
# written before that tag existed are told apart by these kinds and alert reasons.
NOT_FROM_SESSION = {"frame_stats", "speech_heard"}
APP_ALERTS = {"record_storage", "headset", "dialogue", "console", "listening"}


def from_the_app(e: dict) -> bool:
    """Whether a recorded event is the app's own rather than the session core's."""
    return bool(e.get("app")) or e["kind"] in NOT_FROM_SESSION or (e["kind"] == "alert" and e.get("reason") in APP_ALERTS)


def load_inputs(directory: Path) -> list[tuple[FrameInputs, float]]:
    """Every step's inputs and time step, in order (a torn last line is ignored)."""
    path = directory / "inputs.jsonl"
    if not path.is_file():
        raise RecordError(f"{directory}: no inputs.jsonl (recorded by an older version?); cannot re-run it")
    out = []
    raw = path.read_bytes().split(b"\n")
    for line in raw[:-1]:
        row = json.loads(line)
        dt, x, y, z, yaw, pitch, roll = row[:7]
        commands: tuple[Command, ...] = ()
        ratings: tuple[Rating, ...] = ()
        said: tuple[PatientWords, ...] = ()
        lines: tuple[SpokenLine, ...] = ()
        screens: tuple[ScreenScore, ...] = ()
        speaking = False
        gaze, hands = None, ()
        physio: tuple[PhysioSample, ...] = ()
        if len(row) > 7:
            commands = tuple(Command(n, v, t, i, s) for n, v, t, i, s in row[7]["c"])
            ratings = tuple(Rating(sc, v, s) for sc, v, s in row[7]["r"])
            said = tuple(PatientWords(*fields) for fields in row[7].get("w", ()))
            lines = tuple(SpokenLine(*fields) for fields in row[7].get("l", ()))
            screens = tuple(ScreenScore(*fields) for fields in row[7].get("s", ()))
            speaking = bool(row[7].get("v"))
            gaze = decode_pointer(row[7]["g"]) if "g" in row[7] else None
            hands = tuple(decode_pointer(fields) for fields in row[7].get("h", ()))
            physio = tuple(PhysioSample(*fields) for fields in row[7].get("p", ()))
        out.append((FrameInputs(HeadPose((x, y, z), yaw, pitch, roll), commands, ratings, said, lines, screens,
                                speaking, gaze, hands, physio), dt))
    return out


def load_recorded_profile(directory: Path) -> LoadedProfile:
    """The profile and scenes kept in the record, checked against ``session.json``'s hashes."""
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    for name, key in (("profile.yaml", "profile"), ("scene.yaml", "scene"), ("safe_scene.yaml", "safe_scene")):
        path = directory / name
        if not path.is_file():
            raise RecordError(f"{directory}: {name} is missing; cannot re-run the session")
        if hashlib.sha256(path.read_bytes()).hexdigest() != meta[key]["sha256"]:
            raise RecordError(f"{path}: differs from the file the session ran (sha256 mismatch)")
    # The profile names its scenes; give the record's copies those names in a private scratch folder.
    with tempfile.TemporaryDirectory(prefix="vr-replay-") as scratch:
        folder = Path(scratch)
        for name, key in (("scene.yaml", "scene"), ("safe_scene.yaml", "safe_scene")):
            shutil.copyfile(directory / name, folder / f"{meta[key]['name']}.yaml")
        return load_profile(directory / "profile.yaml", scene_dirs=[folder], avatars=False)   # avatar files stay behind


def recorded_lines(directory: Path, meta: dict[str, Any]) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The vetted line bank the session ran with (kept in the record as lines.yaml): line id -> text
    and line id -> band, or (None, None)."""
    path = directory / "lines.yaml"
    if "lines" not in meta:
        return None, None
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != meta["lines"]["sha256"]:
        raise RecordError(f"{path}: missing or differs from the line bank the session ran (sha256 mismatch)")
    from vr.config.load import load_lines

    bank = load_lines(path).config
    return {line.id: line.text for line in bank.lines}, {line.id: line.band for line in bank.lines}


def resimulate(directory: str | Path, end_reason: str | None = None) -> Iterator[tuple[WorldState | None, list[Event]]]:
    """Step a new session through the recorded inputs, yielding each step's world and events; then,
    if ``end_reason`` is given, the events of ending it that way (as the recorded run did)."""
    directory = Path(directory)
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    loaded = load_recorded_profile(directory)
    from vr.sim.procedure import new_session

    texts, bands = recorded_lines(directory, meta)
    session = new_session(loaded, int(meta["seed"]), lines=texts, bands=bands)
    for inputs, dt in load_inputs(directory):
        yield session.step(inputs, dt)
    if end_reason:
        yield None, session.end(end_reason)


def _digest(kind: str, t_s: float, data: dict[str, Any]) -> str:
    body = json.dumps({"t_s": round(t_s, 4), "kind": kind, **data}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class ReplayVerdict:
    events: int
    same: bool
    digest: str
    message: str


def verify_replay(directory: str | Path) -> ReplayVerdict:
    """Re-run the session and compare each session event with the record, in order."""
    directory = Path(directory)
    record = read_record(directory)
    recorded = [e for e in record.events if not from_the_app(e)]
    ended = record.of_kind("session_ended")
    total = hashlib.sha256()
    k = 0
    for _world, events in resimulate(directory, ended[-1]["reason"] if ended else None):
        for e in events:
            if k >= len(recorded):
                return ReplayVerdict(k, False, "", f"the re-run produced more events than the record ({len(recorded)})")
            rec = recorded[k]
            data = {key: v for key, v in rec.items() if key not in ("seq", "t_s", "kind", "hash")}
            want = _digest(rec["kind"], rec["t_s"], data)
            got = _digest(e.kind, e.t_s, json.loads(json.dumps(e.data)))
            if want != got:
                return ReplayVerdict(k, False, "", f"event seq {rec['seq']} ({rec['kind']} at {rec['t_s']} s) differs "
                                                   f"from the re-run ({e.kind} at {round(e.t_s, 4)} s)")
            total.update(want.encode("ascii"))
            k += 1
    if k != len(recorded):
        return ReplayVerdict(k, False, "", f"the re-run produced {k} events, the record holds {len(recorded)}")
    return ReplayVerdict(k, True, total.hexdigest()[:32],
                         f"{directory}: re-run from seed {record.meta['seed']} and the logged inputs gives the same "
                         f"{k} events (digest {total.hexdigest()[:32]})")
