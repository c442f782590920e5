"""What a clinician reads after a run: time, peak and end SUDS per step, panics, alerts.

``Tally`` follows a run's events as they happen (the same for ``vr simulate`` and ``vr run``),
and ``record_meta`` writes the header every session record carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vr.config import LoadedProfile
from vr.sim import Event, WorldState


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
    scale: str = "suds"        # the rating kept per step: SUDS (exposure) or pain (distraction)
    game: dict[str, Any] = field(default_factory=dict)
    conversation: list[str] = field(default_factory=list)   # the patient's turns and the replies they got

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "simulated_s": self.seconds, "seed": self.seed, "events": self.events,
                "panics": self.panics, "alerts": self.alerts, "ended": self.ended, "wall_s": round(self.wall_s, 2),
                "speed_x": round(self.seconds / self.wall_s, 1) if self.wall_s else None,
                "highest_step": self.highest_step, "steps": [s.row() for s in self.steps],
                **({"rating_scale": self.scale, "game": self.game} if self.scale != "suds" else {}),
                **({"conversation": self.conversation} if self.conversation else {})}

    def text(self) -> str:
        lines = [f"{self.profile}: {self.seconds / 60:.1f} simulated min in {self.wall_s:.1f} s "
                 f"({self.seconds / max(self.wall_s, 1e-9):.0f}x), seed {self.seed}, {self.events} events",
                 f"{'step' if self.scale == 'suds' else 'phase':<4} {'name':<44} {'time':>7} {'peak':>5} {'end':>5}"
                 + ("" if self.scale == "suds" else "   (pain 0-10)")]
        for s in self.steps:
            peak = f"{max(s.suds):.0f}" if s.suds else "-"
            end = f"{s.suds[-1]:.0f}" if s.suds else "-"
            lines.append(f"{s.index:<4} {s.name[:44]:<44} {s.time_s:>6.0f}s {peak:>5} {end:>5}")
        if self.scale == "suds":
            lines.append(f"highest step {self.highest_step}, panics {self.panics}, ended: {self.ended}")
        else:
            g = self.game
            lines.append(f"score {g.get('score', 0)}, hits {g.get('hits', 0)}, missed {g.get('misses', 0)}, "
                         f"engagement {g.get('engagement') if g.get('engagement') is not None else '-'}, "
                         f"panics {self.panics}, ended: {self.ended}")
        lines.extend(f"alert: {a}" for a in self.alerts)
        if self.conversation:
            lines.append("conversation (the patient's turns and the humans' replies):")
            lines.extend(f"  {c}" for c in self.conversation)
        return "\n".join(lines)


class Tally:
    """Accumulates a ``RunSummary`` from each step's world and events."""

    def __init__(self, loaded: LoadedProfile, seed: int) -> None:
        profile = loaded.config
        self.distraction = getattr(loaded, "distraction", False)
        if self.distraction:  # rows: before the procedure, each phase, after it; pain per row
            names = ["before the procedure", *(p.name for p in profile.phases), "after the procedure"]
            self.summary = RunSummary(profile.name, 0.0, seed, [StepSummary(i - 1, n) for i, n in enumerate(names)],
                                      scale="pain")
        else:
            self.summary = RunSummary(profile.name, 0.0, seed,
                                      [StepSummary(i, s.name) for i, s in enumerate(profile.steps)])
        self.summary.steps[0].visits = 1
        self.current = 0
        self._replies: dict[int, int] = {}   # request -> the patient's turn it answers

    def add(self, world: WorldState, events: list[Event], dt_s: float) -> None:
        summary = self.summary
        summary.seconds = world.t_s
        if world.mode in ("running", "paused"):
            summary.steps[self.current].time_s += dt_s
        for e in events:
            _tally(summary, e)
            self._conversation(e)
            if self.distraction:
                self._distraction(e)
                continue
            if e.kind == "step_started" and e.data["reason"] != "start":
                self.current = e.data["index"]
                summary.steps[self.current].visits += 1
                summary.highest_step = max(summary.highest_step, self.current)
            elif e.kind == "rating" and e.data["scale"] == "suds":
                summary.steps[self.current].suds.append(e.data["value"])

    def _conversation(self, e: Event) -> None:
        if e.kind == "patient_said":
            heard = " (heard)" if e.data.get("source") == "microphone" else ""
            risk = f"  [RISK: {e.data['risk']}]" if e.data.get("risk") else ""
            self.summary.conversation.append(f"{e.t_s:6.1f}s patient{heard}: \"{e.data['text'][:160]}\"{risk}")
        elif e.kind == "reply_wanted":
            self._replies[e.data["request"]] = e.data["said"]
        elif e.kind == "utterance" and e.data.get("request") in self._replies:
            said = self._replies.pop(e.data["request"])
            self.summary.conversation.append(f"{e.t_s:6.1f}s {e.data['speaker']} (to turn {said}): "
                                             f"\"{e.data['text'][:160]}\"")

    def _distraction(self, e: Event) -> None:
        rows = self.summary.steps
        if e.kind == "phase_started":
            self.current = e.data["index"] + 1
            rows[self.current].visits += 1
            self.summary.highest_step = max(self.summary.highest_step, e.data["index"])
        elif e.kind == "phase_ended":
            self.current = len(rows) - 1 if e.data["index"] + 1 >= len(rows) - 2 else self.current
        elif e.kind == "rating" and e.data["scale"] == "pain":
            rows[self.current].suds.append(e.data["value"])
        elif e.kind == "session_ended":
            self.summary.game = {k: e.data.get(k) for k in ("score", "hits", "misses", "engagement")}

    def finish(self, events: list[Event]) -> None:
        for e in events:
            _tally(self.summary, e)
            if self.distraction:
                self._distraction(e)


def record_files(loaded: LoadedProfile) -> dict[str, bytes]:
    """The profile and scenes a session ran, kept beside its record so it can be replayed exactly."""
    return {"profile.yaml": loaded.path.read_bytes(), "scene.yaml": loaded.scene.path.read_bytes(),
            "safe_scene.yaml": loaded.safe_scene.path.read_bytes()}


def record_meta(loaded: LoadedProfile, *, pseudonym: str, backend: str, seed: int, **extra: Any) -> dict[str, Any]:
    """The header of a session record (file names and hashes only: no paths, no names)."""
    profile = loaded.config
    return {"patient": pseudonym, "backend": backend, "seed": seed,
            "profile": {"name": profile.name, "file": loaded.path.name, "sha256": loaded.sha256},
            "scene": {"name": profile.scene, "sha256": loaded.scene.sha256},
            "safe_scene": {"name": profile.safety.safe_scene, "sha256": loaded.safe_scene.sha256}, **extra}


def _tally(summary: RunSummary, e: Event) -> None:
    summary.events += 1
    if e.kind == "panic":
        summary.panics += 1
    elif e.kind == "alert":
        summary.alerts.append(f"{e.t_s:.0f}s {e.data.get('message', '')}")
    elif e.kind == "session_ended":
        summary.ended = e.data["reason"]
