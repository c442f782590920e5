"""``vr simulate``: the session core and a synthetic patient in a plain loop, no engine, as fast as it goes.

Steps 3-4 of the frame (inputs, ``Session.step``) with the synthetic patient standing in for the
headset, and the recorder writing the same session record a real run writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vr.config import LoadedProfile
from vr.record import SessionWriter
from vr.sim import Event, PatientParams, Session, SyntheticPatient


@dataclass
class StepSummary:
    """What happened in one step of the hierarchy during a run."""

    index: int
    name: str
    time_s: float = 0.0
    visits: int = 0
    suds: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "time_s": round(self.time_s, 1), "visits": self.visits,
                "suds_peak": max(self.suds) if self.suds else None, "suds_end": self.suds[-1] if self.suds else None}


@dataclass
class RunSummary:
    """Figures a clinician reads after a dry run (also written as summary.json)."""

    profile: str
    seconds: float
    seed: int
    steps: list[StepSummary]
    events: int = 0
    panics: int = 0
    alerts: list[str] = field(default_factory=list)
    ended: str = ""
    wall_s: float = 0.0
    highest_step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "simulated_s": self.seconds, "seed": self.seed, "events": self.events,
                "panics": self.panics, "alerts": self.alerts, "ended": self.ended, "wall_s": round(self.wall_s, 2),
                "speed_x": round(self.seconds / self.wall_s, 1) if self.wall_s else None,
                "highest_step": self.highest_step, "steps": [s.row() for s in self.steps]}

    def text(self) -> str:
        lines = [f"{self.profile}: {self.seconds / 60:.1f} simulated min in {self.wall_s:.1f} s "
                 f"({self.seconds / max(self.wall_s, 1e-9):.0f}x), seed {self.seed}, {self.events} events",
                 f"{'step':<4} {'name':<44} {'time':>7} {'peak':>5} {'end':>5}"]
        for s in self.steps:
            peak = f"{max(s.suds):.0f}" if s.suds else "-"
            end = f"{s.suds[-1]:.0f}" if s.suds else "-"
            lines.append(f"{s.index:<4} {s.name[:44]:<44} {s.time_s:>6.0f}s {peak:>5} {end:>5}")
        lines.append(f"highest step {self.highest_step}, panics {self.panics}, ended: {self.ended}")
        lines.extend(f"alert: {a}" for a in self.alerts)
        return "\n".join(lines)


def run_simulation(loaded: LoadedProfile, *, seconds: float, seed: int, out: Path, pseudonym: str,
                   patient: PatientParams | None = None, rate_hz: float = 30.0,
                   commands_at: dict[int, list] | None = None) -> RunSummary:
    """Run ``seconds`` of simulated session time and write the record to ``out``.

    ``commands_at`` maps a step number to clinician commands injected then (tests use it).
    """
    profile, scene = loaded.config, loaded.scene.config
    session = Session(profile, scene, seed)
    player = SyntheticPatient(patient or PatientParams(), seed, session.head)
    dt = 1.0 / rate_hz
    n_steps = int(round(seconds * rate_hz))
    summary = RunSummary(profile.name, n_steps * dt, seed,
                         [StepSummary(i, s.name) for i, s in enumerate(profile.steps)])
    meta = {"patient": pseudonym, "backend": "simulate", "seed": seed, "rate_hz": rate_hz,
            "profile": {"name": profile.name, "file": loaded.path.name, "sha256": loaded.sha256},
            "scene": {"name": profile.scene, "sha256": loaded.scene.sha256},
            "safe_scene": {"name": profile.safety.safe_scene, "sha256": loaded.safe_scene.sha256},
            "synthetic_patient": vars(player.p) if patient is None else vars(patient)}
    writer = SessionWriter(out, meta)
    started = time.perf_counter()
    world = None
    current = 0
    summary.steps[0].visits = 1
    try:
        for k in range(n_steps):
            inputs = player.act(world, dt)
            if commands_at and k in commands_at:
                from dataclasses import replace

                inputs = replace(inputs, commands=inputs.commands + tuple(commands_at[k]))
            world, events = session.step(inputs, dt)
            writer.write(events)
            if world.mode in ("running", "paused"):
                summary.steps[current].time_s += dt
            for e in events:
                _tally(summary, e)
                if e.kind == "step_started" and e.data["reason"] != "start":
                    current = e.data["index"]
                    summary.steps[current].visits += 1
                    summary.highest_step = max(summary.highest_step, current)
                elif e.kind == "rating" and e.data["scale"] == "suds":
                    summary.steps[current].suds.append(e.data["value"])
            if world.mode == "ended":
                break
        final = session.end("run_finished")
        writer.write(final)
        for e in final:
            _tally(summary, e)
    finally:
        summary.wall_s = time.perf_counter() - started
        writer.close(events=summary.events, ended=summary.ended or "interrupted",
                     simulated_s=round(session.t_s, 3))
    return summary


def _tally(summary: RunSummary, e: Event) -> None:
    summary.events += 1
    if e.kind == "panic":
        summary.panics += 1
    elif e.kind == "alert":
        summary.alerts.append(f"{e.t_s:.0f}s {e.data.get('message', '')}")
    elif e.kind == "session_ended":
        summary.ended = e.data["reason"]
