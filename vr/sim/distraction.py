"""``DistractionSession``: the distraction game's core, stepped like an exposure ``Session``.

The patient sits on a slow glide through the scene (``vr.sim.glide``) and aims at targets
(``vr.sim.game``) with the head or a controller. The clinician marks the procedure's phases and
asks for pain ratings; a companion speaks authored lines now and then and after good throws; a
breathing pacer can be switched on. The world state it returns is a ``WorldState`` (so the frame
loop, panel, record and report work unchanged) whose ``game`` field holds the game, whose
``step_index``/``step_name`` are the procedure phase and whose one human is the companion.

Head inputs are in the glide's frame (the seat: origin on its floor under the patient, +Y the
direction of travel); the world state's ``head`` is the same head in the scene's frame.

Commands: pause, resume, panic, stop, ask_rating, note, resume_dialogue, and ``phase_start`` /
``phase_end`` (the next phase or the current one; ``value`` may name a phase by index) and
``breathing`` (value 1 on, 0 off).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from vr.config import SceneConfig
from vr.config.distraction import DistractionProfileConfig
from vr.sim.model import SessionModel, distraction_model
from vr.sim.rating_panel import RatingPanel, panel_ratings
from vr.sim.companion import CompanionVoice, companion_turns
from vr.sim.distraction_world import COMPANION_OFFSET_M, GameState, build_world, sample_event
from vr.sim.game import Targets
from vr.sim.glide import Glide
from vr.sim.talk import Talk
from vr.sim.types import RATING_SCALES, Command, Event, FrameInputs, HeadPose, WorldState

# Re-exported: callers import these from here.
__all__ = ["COMPANION_OFFSET_M", "DISTRACTION_COMMANDS", "DistractionSession", "GameState"]

SAMPLE_EVERY_S = 0.1
ENGAGED_DEG = 25.0        # the patient is "on the game" when looking within this of a target or the way ahead
DISTRACTION_COMMANDS = ("pause", "resume", "panic", "stop", "ask_rating", "note", "resume_dialogue", "phase_start",
                        "phase_end", "breathing")


class DistractionSession:
    """One distraction session, stepped by the caller like ``Session``."""

    def __init__(self, profile: DistractionProfileConfig, scene: SceneConfig, seed: int,
                 lines: Mapping[str, str] | None = None) -> None:
        self._begin(distraction_model(profile, scene, seed, lines))

    @classmethod
    def from_model(cls, model: SessionModel) -> DistractionSession:
        """A new session (its data at the start) for ``model``; the same model, the same session."""
        self = cls.__new__(cls)
        self._begin(model)
        return self

    def _begin(self, model: SessionModel) -> None:
        if model.kind != "distraction":
            raise ValueError(f"DistractionSession needs a distraction model, got an {model.kind} one")
        self.model = model
        profile = self.profile = model.profile   # the model's fields under the names callers read
        self.scene, self.seed = model.scene, model.seed
        self.n, self.ids, self.height_m, self.human_seed = model.n, model.ids, model.height_m, model.human_seed
        # The data: everything below changes as the session steps.
        self.rng = model.rng()
        g = profile.glide
        self.glide = Glide(g.speed_mps, g.max_accel_mps2, g.max_turn_deg_s)
        self.targets = Targets(profile.game, profile.difficulty, self.rng)
        self.talk = Talk(model.lines)
        self._seen_ids: set[str] = set()
        self.t_s = 0.0
        self.mode = "running"
        self.phase = -1            # the current (or last) phase; -1 before the first
        self.in_phase = False
        self.phase_started_s = 0.0
        self.prompt: str | None = None
        self.panel = RatingPanel()   # the in-scene rating panel, answered by the patient's pointing
        self.last = {"pain": None, "suds": None}
        self.breathing_on = profile.breathing.on_at_start
        self.breath_t = 0.0
        self.engaged_s = 0.0
        self.played_s = 0.0
        self.phase_engaged = {}
        self.voice = CompanionVoice()   # the companion's line, if it speaks
        self._started = False
        self._next_sample = 0.0
        self._next_pain = profile.pain.every_s or None
        self.last_hits = 0   # the companion cheers at every third hit
        self.head = model.start_head   # in the glide's frame
        self.world_head = self.head

    # -- the step ------------------------------------------------------------------------------
    def step(self, inputs: FrameInputs, dt_s: float) -> tuple[WorldState, list[Event]]:
        if not 0.0 < dt_s <= 0.25:
            raise ValueError(f"dt_s must be in (0, 0.25] seconds, got {dt_s!r}")
        events: list[Event] = []
        if not self._started:
            self._started = True
            events.append(Event(0.0, "session_started", {
                "profile": self.profile.name, "kind": "distraction", "scene": self.profile.scene, "seed": self.seed,
                "phases": [p.name for p in self.profile.phases], "human_slots": self.n,
                "safe_scene": self.profile.safety.safe_scene}))
            if self.profile.pain.before:
                events += self._ask("pain", "before")
        self.t_s += dt_s
        t = self.t_s
        self.head = inputs.head
        ratings = panel_ratings(self.panel, self.prompt, inputs, dt_s)   # as asked when the step began
        for cmd in inputs.commands:
            events += self._command(cmd)
        for rating in ratings:
            events += self._rating(rating)
        running = self.mode == "running"
        if running and t >= self.profile.safety.max_session_min * 60.0:
            events += self.end("max_session_time")
            running = False
        self.glide.step(dt_s, running and self.prompt is None)  # the ride eases to a stop while a rating is asked
        self.world_head = self._to_world(self.head)
        fired = any(c.name == "fire" for c in inputs.commands)
        rays = [r for r in self._pointer_rays(inputs)]
        if self.profile.game.aim != "controller":
            rays.insert(0, (np.asarray(self.world_head.position_m, float), self._forward(self.world_head),
                            fired and not rays, "head"))
        events += self.targets.update(t, dt_s, (self.glide.x_m, self.glide.y_m), self.glide.yaw_deg, rays, running)
        events += companion_turns(self, dt_s, events, inputs, running)
        if self.breathing_on:
            self.breath_t += dt_s
        engaged = self._engaged(self.world_head)
        if running:
            self.played_s += dt_s
            self.engaged_s += dt_s * engaged
            key = self.phase if self.in_phase else -1 - (self.phase >= 0)  # -1 before, -2 between/after
            got, total = self.phase_engaged.get(key, (0.0, 0.0))
            self.phase_engaged[key] = (got + dt_s * engaged, total + dt_s)
        if self._next_pain is not None and running and self.in_phase and t >= self._next_pain:
            self._next_pain += self.profile.pain.every_s
            events += self._ask("pain", "schedule")
        world = build_world(self, engaged)
        if t + 1e-9 >= self._next_sample:
            self._next_sample += SAMPLE_EVERY_S
            events.append(sample_event(world))
        return world, events

    # -- frames ------------------------------------------------------------------------------------
    def _to_world(self, head: HeadPose) -> HeadPose:
        """A head pose in the glide's frame, in the scene's frame."""
        g = self.glide
        r = math.radians(g.yaw_deg)
        x, y, z = head.position_m
        wx = g.x_m + math.cos(r) * x - math.sin(r) * y
        wy = g.y_m + math.sin(r) * x + math.cos(r) * y
        return HeadPose((wx, wy, z), head.yaw_deg + g.yaw_deg, head.pitch_deg, head.roll_deg)

    @staticmethod
    def _forward(head: HeadPose) -> np.ndarray:
        yaw, pitch = math.radians(head.yaw_deg), math.radians(head.pitch_deg)
        return np.array([-math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)])

    def _pointer_rays(self, inputs: FrameInputs):
        """Controller or mouse rays arrive as ``aim`` commands (value: trigger pressed, text: 'x,y,z;dx,dy,dz')."""
        for cmd in inputs.commands:
            if cmd.name != "aim" or self.profile.game.aim == "head":
                continue
            try:
                origin, direction = (np.array([float(v) for v in part.split(",")]) for part in cmd.text.split(";"))
            except ValueError:
                continue
            n = float(np.linalg.norm(direction))
            if n > 1e-9 and origin.shape == (3,) and direction.shape == (3,):
                yield (origin, direction / n, bool(cmd.value), cmd.source or "controller")

    def _engaged(self, head: HeadPose) -> bool:
        f = self._forward(head)
        cos_limit = math.cos(math.radians(ENGAGED_DEG))
        g = self.glide
        ahead = np.array([-math.sin(math.radians(g.yaw_deg)), math.cos(math.radians(g.yaw_deg)), 0.0])
        if float(f @ ahead) >= cos_limit:
            return True
        idx = np.flatnonzero(self.targets.alive)
        if not len(idx):
            return False
        to = self.targets.pos[idx] - np.asarray(head.position_m)
        to /= np.maximum(np.linalg.norm(to, axis=1, keepdims=True), 1e-9)
        return bool((to @ f >= cos_limit).any())

    # -- commands, ratings, phases ------------------------------------------------------------
    def _command(self, cmd: Command) -> list[Event]:
        t = self.t_s
        record = {"command": cmd.name, "id": cmd.id, "source": cmd.source}
        if cmd.value is not None:
            record["value"] = cmd.value
        if cmd.text and cmd.name not in ("aim", "fire"):
            record["text"] = cmd.text[:2000]  # a note's words, a scale
        if cmd.name in ("aim", "fire"):
            return []  # the patient playing (a pointer ray, a button), not a clinician command; in the inputs log
        if cmd.id and cmd.id in self._seen_ids:  # a retried command applies once
            return [Event(t, "clinician_command", {**record, "applied": False, "reason": "duplicate id"})]
        if cmd.id:
            self._seen_ids.add(cmd.id)
        if cmd.name not in DISTRACTION_COMMANDS:
            known = ", ".join(DISTRACTION_COMMANDS)
            return [Event(t, "clinician_command", {**record, "applied": False,
                                                   "reason": f"unknown here; use one of {known}"})]
        effects: list[Event] = []
        refusal = None
        phases = self.profile.phases
        if self.mode == "ended":
            refusal = "session has ended"
        elif cmd.name == "panic":
            self.mode = "safe"
            self.targets.clear()
            effects = [Event(t, "panic", {"source": cmd.source, "reason": "panic"}),
                       Event(t, "safe_scene", {"scene": self.profile.safety.safe_scene, "reason": "panic"})]
        elif cmd.name == "stop":
            effects = self.end("stopped_by_clinician")
        elif cmd.name == "pause":
            refusal = None if self.mode == "running" else "not running"
            if refusal is None:
                self.mode = "paused"
                effects = [Event(t, "paused", {})]
        elif cmd.name == "resume":
            refusal = None if self.mode in ("paused", "safe") else "already running"
            if refusal is None:
                self.mode = "running"
                effects = [Event(t, "resumed", {})]
        elif cmd.name == "ask_rating":
            scale = cmd.text or "pain"
            if scale not in RATING_SCALES:
                refusal = f"unknown scale {scale!r}; use pain, suds or ssq"
            else:
                effects = self._ask(scale, "clinician")
        elif cmd.name == "resume_dialogue":
            effects = self.talk.resume(t)
        elif cmd.name == "breathing":
            self.breathing_on = bool(cmd.value) if cmd.value is not None else not self.breathing_on
            self.breath_t = 0.0
            effects = [Event(t, "breathing", {"on": self.breathing_on,
                                              "breaths_per_min": self.profile.breathing.breaths_per_min})]
        elif cmd.name == "phase_start":
            target = int(cmd.value) if cmd.value is not None else (self.phase + 1 if self.phase >= 0 else 0)
            if not 0 <= target < len(phases):
                refusal = f"no phase {target + 1}; the procedure has {len(phases)}"
            else:
                if self.in_phase:  # starting the next phase ends the one running
                    effects += self._end_phase()
                self.phase, self.phase_started_s, self.in_phase = target, t, True
                effects.append(Event(t, "phase_started", {"index": target, "name": phases[target].name,
                                                          "expected_min": phases[target].expected_min}))
        elif cmd.name == "phase_end":
            if not self.in_phase:
                refusal = "no phase is running"
            else:
                effects = self._end_phase()
        return [Event(t, "clinician_command", {**record, "applied": refusal is None,
                                               **({"reason": refusal} if refusal else {})}), *effects]

    def _end_phase(self) -> list[Event]:
        t, phases, index = self.t_s, self.profile.phases, self.phase
        got, total = self.phase_engaged.get(index, (0.0, 0.0))
        self.in_phase = False
        out = [Event(t, "phase_ended", {"index": index, "name": phases[index].name,
                                        "duration_s": round(t - self.phase_started_s, 2),
                                        "expected_min": phases[index].expected_min,
                                        "engagement": round(got / total, 3) if total else None})]
        if index + 1 >= len(phases) and self.profile.pain.after:
            out += self._ask("pain", "after")
        return out

    def _ask(self, scale: str, reason: str) -> list[Event]:
        self.prompt = scale
        return [Event(self.t_s, "rating_prompt", {"scale": scale, "reason": reason})]

    def _rating(self, rating) -> list[Event]:
        lo, hi = RATING_SCALES.get(rating.scale, (None, None))
        if lo is None or not lo <= rating.value <= hi:
            return [Event(self.t_s, "rating_refused", {"scale": rating.scale, "value": rating.value,
                                                        "reason": "unknown scale or out of range"})]
        self.last[rating.scale] = rating.value
        if self.prompt == rating.scale:
            self.prompt = None
        phase = self.profile.phases[self.phase].name if self.in_phase else None
        when = "during" if self.in_phase else ("before" if self.phase < 0 else "after")
        return [Event(self.t_s, "rating", {"scale": rating.scale, "value": rating.value, "source": rating.source,
                                           "phase": phase, "phase_index": self.phase, "when": when})]

    def end(self, reason: str = "finished") -> list[Event]:
        if self.mode == "ended":
            return []
        self.mode = "ended"
        self.targets.clear()
        return [Event(self.t_s, "safe_scene", {"scene": self.profile.safety.safe_scene, "reason": reason}),
                Event(self.t_s, "session_ended", {
                    "reason": reason, "step_index": self.phase, "score": self.targets.score,
                    "hits": self.targets.hits, "misses": self.targets.misses,
                    "engagement": round(self.engaged_s / self.played_s, 3) if self.played_s else None})]
