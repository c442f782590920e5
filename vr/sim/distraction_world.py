"""The distraction session's snapshots: the game, the companion and the world state, and its samples.

Offers ``build_world`` (the ``WorldState`` of a
``vr.sim.distraction.DistractionSession`` now: its ``game``, the procedure phase as its step, the
companion as its one human), ``companion_state`` (that human, seated ahead-left of the patient on
the glide, facing them) and ``sample_event`` (the record's 10 Hz ``sample`` of a world). They
read the session and change nothing. Positions in the scene's frame (metres, Z up); headings in
degrees, 0 facing +Y.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vr.sim.types import Event, GameState, HumansState, WorldState

if TYPE_CHECKING:
    from vr.sim.distraction import DistractionSession

COMPANION_OFFSET_M = (-1.0, 1.3)   # seated ahead-left of the patient on the glide, facing them


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a`` (a snapshot outlives the step that made it)."""
    out = a.copy()
    out.setflags(write=False)
    return out


def companion_state(session: DistractionSession) -> HumansState:
    """The companion (none when the profile has it off) as the world's humans."""
    n = session.n
    g = session.glide
    r = math.radians(g.yaw_deg)
    ox, oy = COMPANION_OFFSET_M
    pos = np.zeros((n, 2))
    if n:
        pos[0] = (g.x_m + math.cos(r) * ox - math.sin(r) * oy, g.y_m + math.sin(r) * ox + math.cos(r) * oy)
    to_patient = np.degrees(math.atan2(-(g.x_m - pos[0, 0]) if n else 0.0, (g.y_m - pos[0, 1]) if n else 1.0)) \
        if n else 0.0
    body_yaw = np.full(n, to_patient)
    head = session.world_head
    target = np.tile(np.asarray(head.position_m, float), (n, 1))
    present = np.full(n, session.mode in ("running", "paused"))
    speaking = np.full(n, session.voice.speaking and present.any())
    return HumansState(
        ids=session.ids, present=_ro(present), position_m=_ro(pos), height_m=_ro(session.height_m),
        body_yaw_deg=_ro(body_yaw), head_yaw_deg=_ro(np.zeros(n)), head_pitch_deg=_ro(np.zeros(n)),
        eye_yaw_deg=_ro(np.zeros(n)), eye_pitch_deg=_ro(np.zeros(n)), gaze_target_m=_ro(target),
        gaze_at_patient=_ro(present.copy()), distance_m=_ro(np.full(n, 1.6)), speed_mps=_ro(np.zeros(n)),
        posture=_ro(np.full(n, 2, np.int8)), mood=_ro(np.full(n, 3, np.int8)), gesture=_ro(np.zeros(n, np.int8)),
        blinking=_ro(np.full(n, (session.t_s % 4.0) < 0.15)), speaking=_ro(speaking),
        seed=_ro(session.human_seed))


def build_world(session: DistractionSession, engaged: bool) -> WorldState:
    """The world state now; ``engaged``: the patient is looking at the game this step."""
    tg, g, b = session.targets, session.glide, session.profile.breathing
    period = 60.0 / b.breaths_per_min
    u = (session.breath_t % period) / period
    breath = (0.5 - 0.5 * math.cos(math.pi * u / b.inhale_share)) if u < b.inhale_share else \
        (0.5 + 0.5 * math.cos(math.pi * (u - b.inhale_share) / (1.0 - b.inhale_share)))
    dwell = np.clip(tg.dwell / session.profile.game.dwell_s, 0.0, 1.0)
    game = GameState(
        rig_position_m=(g.x_m, g.y_m, 0.0), rig_yaw_deg=g.yaw_deg, rig_s_m=g.s_m, speed_mps=g.v_mps,
        target_ids=tuple(f"t{s}" for s in tg.serial), alive=_ro(tg.alive), position_m=_ro(tg.pos),
        radius_m=_ro(tg.radius), kind=_ro(tg.kind), dwell=_ro(dwell), hit_age_s=_ro(tg.hit_age),
        score=tg.score, hits=tg.hits, misses=tg.misses, hit_rate=tg.hit_rate(session.t_s), difficulty=tg.difficulty,
        breathing_on=session.breathing_on, breath=breath, engaged=engaged, phase=session.phase,
        in_phase=session.in_phase)
    phases = session.profile.phases
    name = phases[session.phase].name if session.in_phase else (
        "before the procedure" if session.phase < 0 else
        "after the procedure" if session.phase + 1 >= len(phases) else f"after {phases[session.phase].name}")
    playing = session.mode in ("running", "paused")
    return WorldState(
        t_s=session.t_s, mode=session.mode,
        scene=session.profile.scene if playing else session.profile.safety.safe_scene,
        step_index=session.phase, step_name=name, step_t_s=session.t_s - session.phase_started_s,
        intensity=tg.difficulty, dialogue_intensity=0.0, head=session.world_head, humans=companion_state(session),
        last_suds=session.last["suds"], last_pain=session.last["pain"], rating_prompt=session.prompt, game=game,
        rating_panel=session.panel.state())


def sample_event(world: WorldState) -> Event:
    """The record's ``sample`` of ``world`` (rounded as the record keeps it)."""
    head, game = world.head, world.game
    return Event(world.t_s, "sample", {
        "mode": world.mode, "step_index": world.step_index, "intensity": round(world.intensity, 4),
        "head": {"position_m": [round(float(v), 3) for v in head.position_m],
                 "yaw_deg": round(float(head.yaw_deg), 1), "pitch_deg": round(float(head.pitch_deg), 1)},
        "looking_at": None, "humans": {"id": [], "distance_m": [], "gaze_at_patient": []},
        "game": {"score": game.score, "targets": int(game.alive.sum()), "engaged": int(game.engaged),
                 "speed_mps": round(game.speed_mps, 3), "rig_yaw_deg": round(game.rig_yaw_deg, 2),
                 "difficulty": round(game.difficulty, 3), "breathing": int(game.breathing_on)}})
