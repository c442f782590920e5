"""``Session``: the pure, deterministic core that one frame loop (headset, desktop, simulation) drives.

``step(inputs, dt_s)`` applies the frame's inputs, advances every model by ``dt_s`` and returns
an immutable ``WorldState`` and the events of that step. Everything random comes from one
``numpy.random.Generator`` seeded at construction, drawn in a fixed order, so the same profile,
scene, seed, inputs and time steps give the same world and the same events, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vr.config import ProfileConfig, SceneConfig
from vr.config.lines import band_for
from vr.sim.crowd import POSTURE_SEATED, Crowd, Places
from vr.sim.exposure import ExposureEngine, TalkAsked
from vr.sim.gaze import Gaze
from vr.sim.model import SessionModel, exposure_model
from vr.sim.params import StepParams, resolve
from vr.sim.rating_panel import RatingPanel, panel_ratings
from vr.sim.social import Social
from vr.sim.talk import NEUTRAL, Talk
from vr.sim.types import Event, FrameInputs, HeadPose, HumansState, WorldState

SAMPLE_EVERY_S = 0.1          # the record's contract: samples at 10 Hz or more
LOOKING_AT_DEG = 12.0         # the patient looks at a human whose eyes are this close to the head's direction
MAX_DT_S = 0.25


def _ro(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.setflags(write=False)
    return out


EYE_FORWARD_M = 0.095         # the eyes' front sits this far in front of the body's vertical axis


def eye_height_m(height_m: np.ndarray, posture: np.ndarray) -> np.ndarray:
    """Eye height above the floor for a body height; seated eyes are about 1.2 m up."""
    return np.where(posture == POSTURE_SEATED, 0.30 + 0.52 * height_m, 0.935 * height_m)


def eye_position_m(position_m: np.ndarray, body_yaw_deg: np.ndarray, height_m: np.ndarray,
                   posture: np.ndarray) -> np.ndarray:
    """Midpoint between each human's eyes (N, 3), with the head facing the body's way.

    The renderer builds its humans so that their eyes sit exactly here; gaze angles are computed
    from this point, so a human that looks at the patient looks at them in the picture too."""
    yaw = np.radians(body_yaw_deg)
    out = np.empty((len(height_m), 3))
    out[:, 0] = position_m[:, 0] - np.sin(yaw) * EYE_FORWARD_M
    out[:, 1] = position_m[:, 1] + np.cos(yaw) * EYE_FORWARD_M
    out[:, 2] = eye_height_m(height_m, posture)
    return out


class Session:
    """One exposure session: hierarchy, virtual humans and safety caps, stepped by the caller."""

    def __init__(self, profile: ProfileConfig, scene: SceneConfig, seed: int,
                 lines: Mapping[str, str] | None = None, line_bands: Mapping[str, str] | None = None) -> None:
        """``lines``: the vetted bank (line id -> text); spoken lines outside it are refused.
        ``line_bands``: line id -> band, for the lines a clinician picks (``say_line``)."""
        self._begin(exposure_model(profile, scene, seed, lines, line_bands))

    @classmethod
    def from_model(cls, model: SessionModel) -> Session:
        """A new session (its data at the start) for ``model``; the same model, the same session."""
        self = cls.__new__(cls)
        self._begin(model)
        return self

    def _begin(self, model: SessionModel) -> None:
        if model.kind != "exposure":
            raise ValueError(f"Session needs an exposure model, got a {model.kind} one")
        self.model = model
        # The model's fields under the names callers read (they are never written).
        self.profile, self.scene, self.seed, self.places = model.profile, model.scene, model.seed, model.places
        self.n, self.ids, self.height_m, self.human_seed = model.n, model.ids, model.height_m, model.human_seed
        # The data: everything below changes as the session steps.
        self.rng = model.rng()
        self.crowd = Crowd(self.places, self.n, self.rng)
        self.gaze = Gaze(self.n)
        self.social = Social(self.n, self.rng)
        self.engine = ExposureEngine(self.profile)
        self.panel = RatingPanel()   # the in-scene rating panel, answered by the patient's pointing
        self.talk = Talk(model.lines, model.line_bands)
        self._distance = np.full(self.n, np.inf)
        self.params: StepParams = resolve(self.profile.steps[0], self.profile.safety)
        self.t_s = 0.0
        self._started = False
        self._next_sample_s = 0.0
        self.head = model.start_head

    @property
    def min_distance_m(self) -> float:
        return self.profile.safety.min_distance_m

    def _apply_changes(self, events: list[Event]) -> None:
        """Bring the humans in line with the engine's step, override and mode (same step as the change)."""
        engine = self.engine
        exposing = engine.mode in ("running", "paused")
        self.params = resolve(engine.step, self.profile.safety, engine.intensity_override)
        count = self.params.humans if exposing else 0
        before = self.crowd.present.copy()
        arrived, left = self.crowd.assign(count, self.params.distance_m, self.min_distance_m)
        if left:
            self.social.clear(left)
        if arrived:
            self.gaze.reset(np.asarray(arrived), self.crowd.body_yaw, self.rng)
        changed = bool(arrived) or not np.array_equal(before, self.crowd.present)
        if changed or exposing:
            self.social.assign_moods(self.crowd.present, self.params.mood_shares, self.rng)
            if self.talk.quiet:  # after a risk alert the humans stay calm whatever the step says
                self.social.silence(self.crowd.present, NEUTRAL)
        if changed:
            events.append(Event(self.t_s, "humans_changed", {
                "arrived": [self.ids[i] for i in arrived], "left": [self.ids[i] for i in left],
                "present": int(self.crowd.present.sum())}))
        events.append(Event(self.t_s, "intensity", {
            "intensity": round(self.params.intensity, 4), "override": engine.intensity_override is not None,
            "distance_m": round(self.params.distance_m, 3), "dialogue_intensity": round(self.params.dialogue_intensity, 4)}))

    def step(self, inputs: FrameInputs, dt_s: float) -> tuple[WorldState, list[Event]]:
        """Advance the session by ``dt_s`` seconds with this frame's inputs."""
        if not 0.0 < dt_s <= MAX_DT_S:
            raise ValueError(f"dt_s must be in (0, {MAX_DT_S}] seconds, got {dt_s!r}")
        events: list[Event] = []
        if not self._started:
            self._started = True
            events.append(Event(0.0, "session_started", {
                "profile": self.profile.name, "scene": self.profile.scene, "seed": self.seed,
                "steps": len(self.profile.steps), "human_slots": self.n,
                "safe_scene": self.profile.safety.safe_scene}))
            events.extend(self.engine.start(0.0))
        self.t_s += dt_s
        self.head = inputs.head
        restage = False
        for item in self.engine.update(self.t_s, dt_s, inputs.commands,
                                       panel_ratings(self.panel, self.engine.prompt, inputs, dt_s), inputs.physio):
            if isinstance(item, Event):
                events.append(item)
            elif isinstance(item, TalkAsked):   # the humans' talk decides, in the command's place
                events.extend(self._talk_asked(item))
            else:                               # Restage: the humans follow the change, this step
                restage = True
        if any(c.name == "resume_dialogue" for c in inputs.commands):
            events.extend(self.talk.resume(self.t_s))
        if restage:
            self._apply_changes(events)
        active = self.engine.mode == "running"
        head_xy = np.asarray(self.head.position_m[:2], dtype=np.float64)
        p = self.params
        distance = self._distance = self.crowd.update(dt_s, head_xy, p.approach_speed_mps, p.max_accel_mps2, self.min_distance_m,
                                     active)
        present = self.crowd.present
        talk = self.talk
        if inputs.said:
            events.extend(talk.heard(inputs.said, self.t_s, self.ids, present, distance, p.dialogue_intensity, active,
                                     self.social))
        if inputs.screens or talk.pending:  # before lines: a risk found by meaning drops the reply
            events.extend(talk.screened(inputs.screens, self.t_s, present, self.social))
        if inputs.lines:
            events.extend(talk.lines(inputs.lines, self.t_s, self.ids, present, active, self.social))
        if inputs.patient_speaking:
            events.extend(talk.yield_turn(True, self.t_s, self.ids, self.social))
        lines_per_min = 0.0 if (talk.quiet or inputs.patient_speaking) else p.lines_per_min
        events.extend(talk.number_turns(self.social.update(dt_s, self.t_s, present, distance, self.ids, lines_per_min,
                                                           p.dialogue_intensity, active, self.rng)))
        eye_pos = eye_position_m(self.crowd.pos, self.crowd.body_yaw, self.height_m, self.crowd.posture)
        self.gaze.update(dt_s, self.t_s, present, eye_pos, np.asarray(self.head.position_m, dtype=np.float64),
                         self.crowd.body_yaw, self.social.mood, p.at_patient_share, p.mutual_dwell_s,
                         p.saccade_interval_s, p.head_follow_deg, self.social.speaking(), self.social.eyes_down(),
                         active, self.rng)
        world = self._world(distance)
        if self.t_s + 1e-9 >= self._next_sample_s:
            self._next_sample_s += SAMPLE_EVERY_S
            events.append(self._sample(world))
        return world, events

    def _talk_asked(self, asked: TalkAsked) -> list[Event]:
        """A clinician's talk command, decided by the talk: its ``clinician_command`` event, then its effects."""
        effects, refusal = self._talk_command(asked.command, asked.t_s)
        record = {**asked.record, "applied": refusal is None}
        if refusal is not None:
            record["reason"] = refusal
        return [Event(asked.t_s, "clinician_command", record), *effects]

    def _talk_command(self, cmd, t_s: float) -> tuple[list[Event], str | None]:
        """``say_line`` (a chosen vetted line), ``speak`` (a line of the human's own, at the step's band) or
        ``withhold_reply`` (no answer to a turn of the patient's)."""
        if cmd.name == "withhold_reply":
            return self.talk.clinician_withhold(cmd, t_s, self.social)
        if cmd.name == "speak":
            return self.talk.clinician_turn(cmd, t_s, self.ids, self.crowd.present, self._distance,
                                            self.params.dialogue_intensity, self.social)
        cap = band_for(min(self.profile.safety.max_intensity, 1.0))
        return self.talk.clinician_line(cmd, t_s, self.ids, self.crowd.present, self._distance, cap, self.social)

    def end(self, reason: str = "finished") -> list[Event]:
        """Close the session in the safe scene (the caller's run is over)."""
        return self.engine.end(self.t_s, reason)

    def _world(self, distance: np.ndarray) -> WorldState:
        c, g, s, e = self.crowd, self.gaze, self.social, self.engine
        humans = HumansState(
            ids=self.ids, present=_ro(c.present), position_m=_ro(c.pos), height_m=_ro(self.height_m),
            body_yaw_deg=_ro(c.body_yaw), head_yaw_deg=_ro(g.head_yaw), head_pitch_deg=_ro(g.head_pitch),
            eye_yaw_deg=_ro(g.eye_rel_yaw), eye_pitch_deg=_ro(g.eye_rel_pitch), gaze_target_m=_ro(g.target),
            gaze_at_patient=_ro(g.on_patient & c.present), distance_m=_ro(distance), speed_mps=_ro(np.abs(c.v)),
            posture=_ro(c.posture), mood=_ro(s.mood), gesture=_ro(s.gesture),
            blinking=_ro(g.blinking(self.t_s) & c.present), speaking=_ro(s.speaking() & c.present),
            seed=_ro(self.human_seed), place=_ro(c.place))
        exposing = e.mode in ("running", "paused")
        return WorldState(
            t_s=self.t_s, mode=e.mode, scene=self.profile.scene if exposing else self.profile.safety.safe_scene,
            step_index=e.step_index, step_name=e.step.name, step_t_s=e.step_t_s,
            intensity=self.params.intensity if exposing else 0.0,
            dialogue_intensity=self.params.dialogue_intensity if exposing else 0.0,
            head=self.head, humans=humans, last_suds=e.last["suds"], last_pain=e.last["pain"],
            rating_prompt=e.prompt, rating_panel=self.panel.state(), physio=e.body.state())

    def _looking_at(self, world: WorldState, idx: np.ndarray) -> str | None:
        """The human whose eyes are nearest the patient's line of sight (within LOOKING_AT_DEG), if any."""
        if len(idx) == 0:
            return None
        h, head = world.humans, world.head
        eyes = eye_position_m(h.position_m[idx], h.body_yaw_deg[idx], h.height_m[idx], h.posture[idx])
        to = eyes - np.asarray(head.position_m)
        to /= np.maximum(np.linalg.norm(to, axis=1, keepdims=True), 1e-9)
        yaw, pitch = np.radians(head.yaw_deg), np.radians(head.pitch_deg)
        forward = np.array([-np.sin(yaw) * np.cos(pitch), np.cos(yaw) * np.cos(pitch), np.sin(pitch)])
        cos = to @ forward
        best = int(np.argmax(cos))
        return self.ids[int(idx[best])] if cos[best] >= np.cos(np.radians(LOOKING_AT_DEG)) else None

    def _sample(self, world: WorldState) -> Event:
        h = world.humans
        idx = np.nonzero(h.present)[0]
        head = world.head
        body = {}
        if world.physio is not None:   # only once watched or measured, so older records keep their bytes
            if world.physio.hr_bpm is not None:
                body["hr_bpm"] = round(world.physio.hr_bpm, 1)
            if world.physio.eda_us is not None:
                body["eda_us"] = round(world.physio.eda_us, 3)
        return Event(world.t_s, "sample", {
            "mode": world.mode, "step_index": world.step_index, "intensity": round(world.intensity, 4),
            "head": {"position_m": [round(float(v), 3) for v in head.position_m],
                     "yaw_deg": round(float(head.yaw_deg), 1), "pitch_deg": round(float(head.pitch_deg), 1)},
            "looking_at": self._looking_at(world, idx),
            "humans": {"id": [self.ids[i] for i in idx.tolist()],
                       "distance_m": np.round(h.distance_m[idx], 2).tolist(),
                       "gaze_at_patient": h.gaze_at_patient[idx].astype(int).tolist()}, **body})
