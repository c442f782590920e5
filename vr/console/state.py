"""What the console shows, as plain JSON-ready dicts: the session's fixed facts and its state now.

Pure functions of the session core's objects (no Panda3D, no server), called on the frame thread.
Nothing here carries a name: the record's pseudonym is the only way a session is known.
"""

from __future__ import annotations

import math
from typing import Any

from vr.config import MOOD_NAMES
from vr.config.lines import BANDS, band_for
from vr.sim import WorldState
from vr.sim.types import COMMANDS, RATING_SCALES

# The record's events the console passes on (everything else stays in the record only).
CONSOLE_EVENTS = frozenset({
    "session_started", "step_started", "paused", "resumed", "panic", "safe_scene", "session_ended",
    "hierarchy_completed", "clinician_command", "rating", "rating_prompt", "rating_refused", "alert", "utterance",
    "patient_said", "dialogue_quiet", "dialogue_resumed", "line_dropped", "line_refused", "line_wanted",
    "phase_started", "phase_ended", "breathing"})
CONSOLE_ONLY = ("rating", "say")   # the patient's rating and words, entered on the console
KEEP_ALL = frozenset({"rating", "clinician_command"})   # kept for the whole session (the rest: the latest 1000)
POSTURES = ("standing", "walking", "seated")


def is_distraction(session) -> bool:
    return hasattr(session, "glide")


def cap_band(profile) -> str | None:
    """The harshest band a clinician may pick a line from: the band of the intensity cap."""
    cap = getattr(getattr(profile, "safety", None), "max_intensity", None)
    return band_for(min(cap, 1.0)) if cap is not None else None


def session_info(profile, session, bank, pseudonym: str) -> dict[str, Any]:
    """The facts that do not change during the session (``GET /api/info``)."""
    distraction = is_distraction(session)
    safety = profile.safety
    if distraction:
        from vr.sim.distraction import DISTRACTION_COMMANDS

        commands = list(DISTRACTION_COMMANDS)
        caps = {"max_session_min": safety.max_session_min}
        steps: list[dict] = []
        phases = [{"index": i, "name": p.name, "expected_min": p.expected_min} for i, p in enumerate(profile.phases)]
    else:
        commands = [c for c in COMMANDS if c not in ("say_line", "speak", "withhold_reply") or bank is not None]
        caps = {"max_intensity": safety.max_intensity, "min_distance_m": safety.min_distance_m,
                "suds_ceiling": safety.suds_ceiling, "max_session_min": safety.max_session_min}
        steps = [{"index": i, "name": s.name} for i, s in enumerate(profile.steps)]
        phases = []
    lines = []
    harshest = cap_band(profile)
    if bank is not None and not distraction and harshest is not None:
        allowed = set(BANDS[:BANDS.index(harshest) + 1])
        lines = [{"id": ln.id, "role": ln.role, "band": ln.band, "text": ln.text}
                 for ln in bank.lines if ln.band in allowed]
    return {"kind": "distraction" if distraction else "exposure", "pseudonym": pseudonym, "profile": profile.name,
            "scene": profile.scene, "safe_scene": safety.safe_scene, "steps": steps, "phases": phases, "caps": caps,
            "scales": {k: list(v) for k, v in RATING_SCALES.items() if k in ("suds", "pain")},
            "commands": commands + list(CONSOLE_ONLY), "lines": lines, "humans": list(session.ids)
            if hasattr(session, "ids") else []}


def _num(v: float | None, digits: int = 2) -> float | None:
    if v is None:
        return None
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


def snapshot(world: WorldState, session, *, seq: int, frame: int, dialogue: bool, viewers: int,
             ended: str | None) -> dict[str, Any]:
    """The session now (``GET /api/state``)."""
    distraction = is_distraction(session)
    h = world.humans
    humans = [{"id": h.ids[i], "distance_m": _num(h.distance_m[i]), "gaze_at_patient": bool(h.gaze_at_patient[i]),
               "mood": MOOD_NAMES[int(h.mood[i])] if 0 <= int(h.mood[i]) < len(MOOD_NAMES) else "neutral",
               "speaking": bool(h.speaking[i]), "posture": POSTURES[int(h.posture[i])] if 0 <= h.posture[i] < 3 else ""}
              for i in range(len(h.ids)) if h.present[i]]
    if distraction:
        count = len(session.profile.phases)
        override = None
        g = world.game
        game = None if g is None else {
            "phase_running": bool(g.in_phase), "score": int(g.score), "hits": int(g.hits), "misses": int(g.misses),
            "hit_rate": _num(g.hit_rate, 3), "difficulty": _num(g.difficulty, 3), "breathing_on": bool(g.breathing_on),
            "engaged": bool(g.engaged)}
    else:
        count = len(session.profile.steps)
        override = _num(session.engine.intensity_override, 3)
        game = None
    return {
        "seq": seq, "t_s": _num(world.t_s, 2), "frame": frame, "mode": world.mode, "scene": world.scene,
        "ended": ended,
        "step": {"index": world.step_index, "name": world.step_name, "count": count, "t_s": _num(world.step_t_s, 1)},
        "intensity": _num(world.intensity, 3), "intensity_override": override,
        "dialogue_intensity": _num(world.dialogue_intensity, 3), "band": band_for(world.dialogue_intensity),
        "ratings": {"suds": _num(world.last_suds, 1), "pain": _num(world.last_pain, 1), "prompt": world.rating_prompt},
        "humans": humans, "dialogue": {"enabled": dialogue, "quiet": bool(session.talk.quiet)}, "game": game,
        "timers": {"session_s": _num(world.t_s, 1), "step_s": _num(world.step_t_s, 1)}, "viewers": viewers}
