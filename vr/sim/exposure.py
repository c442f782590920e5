"""The exposure engine: where in the hierarchy the session is, and why it moves.

Scalar state only (one session, one patient). It applies clinician commands, ratings and the
profile's rules, and reports every change as an event. Holds are timed on the *running* clock,
which stops while the session is paused, so a long pause never triggers a rule by itself.

What it cannot decide itself it returns as typed effects, in order among its events, for the
session to carry out: :class:`TalkAsked` (a command for the humans' talk: a chosen line, a
line of their own, a withheld reply; the talk decides and the command's event is written then)
and :class:`Restage` (the step, the override or the mode changed: the humans follow).
"""

from __future__ import annotations

from dataclasses import dataclass

from vr.config import ProfileConfig, StepConfig
from vr.sim.physiology import BodyMonitor
from vr.sim.types import COMMANDS, RATING_SCALES, Command, Event, Mode, PhysioSample, Rating

TALK_COMMANDS = ("say_line", "speak", "withhold_reply")


@dataclass(frozen=True)
class TalkAsked:
    """A clinician's command for the session's talk. ``record``: its ``clinician_command``
    event's fields so far; the session adds ``applied`` (and ``reason``) from the talk's answer."""

    command: Command
    record: dict
    t_s: float


@dataclass(frozen=True)
class Restage:
    """The step, the clinician's override or the mode changed this update: the humans follow."""


Output = list  # of Event, TalkAsked and Restage, in order


class ExposureEngine:
    """Mode (running / paused / safe / ended), step index, clinician override and rating rules."""

    def __init__(self, profile: ProfileConfig, talk: bool = True) -> None:
        """``talk``: the session has talk to hand the humans' commands to (say_line, speak,
        withhold_reply); without it they are refused."""
        self.profile = profile
        self.talk = talk
        self.safety = profile.safety
        self.mode: Mode = "running"
        self.step_index = 0
        self.step_t_s = 0.0
        self.running_t_s = 0.0
        self.intensity_override: float | None = None
        self.last: dict[str, float | None] = {"suds": None, "pain": None, "ssq": None}
        self.prompt: str | None = None
        self._advance_since: float | None = None
        self._retreat_since: float | None = None
        self._ceiling_since: float | None = None
        self._completed = False
        self._seen_ids: set[str] = set()
        every = profile.ratings
        self._next_prompt = {"suds": every.suds_every_s or None, "pain": every.pain_every_s or None}
        self._restage = True  # the step, override or mode changed since the last update's Restage
        self.body = BodyMonitor(profile.physiology)   # the body rules (``vr.sim.physiology``)
        self._held_said = False   # the advance gate's hold was announced in this step

    @property
    def step(self) -> StepConfig:
        return self.profile.steps[self.step_index]

    def start(self, t_s: float) -> list[Event]:
        return [Event(t_s, "step_started", {"index": 0, "name": self.step.name, "reason": "start", "from": None})]

    # -- moving through the hierarchy ---------------------------------------------------------
    def _goto(self, index: int, reason: str, t_s: float, by_rule: int | None = None) -> list[Event]:
        last = len(self.profile.steps) - 1
        events = []
        if index > last:
            if not self._completed:
                self._completed = True
                events.append(Event(t_s, "hierarchy_completed", {"index": last}))
            return events
        index = max(index, 0)
        if index == self.step_index and reason not in ("clinician", "resume_after_safe"):
            return events
        previous = self.step_index
        self.step_index, self.step_t_s = index, 0.0
        self.intensity_override = None
        self._advance_since = self._retreat_since = None
        self._restage = True
        self._held_said = False
        self.body.new_step(t_s, by_rule)
        events.append(Event(t_s, "step_started", {"index": index, "name": self.step.name, "reason": reason,
                                                  "from": previous}))
        return events

    def _to_safe(self, t_s: float, why: str, source: str) -> list[Event]:
        self.mode = "safe"
        self.prompt = None
        self._restage = True
        return [Event(t_s, "panic", {"source": source, "reason": why}),
                Event(t_s, "safe_scene", {"scene": self.safety.safe_scene, "reason": why})]

    def end(self, t_s: float, reason: str) -> list[Event]:
        """End the session in the safe scene (stop, maximum length, end of a run)."""
        events = []
        if self.mode == "ended":
            return events
        if self.mode != "safe":
            events.append(Event(t_s, "safe_scene", {"scene": self.safety.safe_scene, "reason": reason}))
        self.mode = "ended"
        self.prompt = None
        self._restage = True
        events.append(Event(t_s, "session_ended", {"reason": reason, "step_index": self.step_index}))
        return events

    # -- commands -------------------------------------------------------------------------------
    def _command(self, cmd: Command, t_s: float) -> list[Event]:
        record = {"command": cmd.name, "id": cmd.id, "source": cmd.source}
        if cmd.value is not None:
            record["value"] = cmd.value
        if cmd.text:
            record["text"] = cmd.text[:2000]
        if cmd.id and cmd.id in self._seen_ids:
            return [Event(t_s, "clinician_command", {**record, "applied": False, "reason": "duplicate id"})]
        if cmd.id:
            self._seen_ids.add(cmd.id)
        if self._for_talk(cmd):
            return [TalkAsked(cmd, record, t_s)]
        effects, refusal, extra = self._apply(cmd, t_s)
        record["applied"] = refusal is None
        if refusal is not None:
            record["reason"] = refusal
        record.update(extra)
        return [Event(t_s, "clinician_command", record), *effects]

    def _for_talk(self, cmd: Command) -> bool:
        """Whether the session's talk decides ``cmd``: a talk command the engine lets through."""
        if not self.talk or cmd.name not in TALK_COMMANDS:
            return False
        return cmd.name == "withhold_reply" or self.mode == "running"

    def _apply(self, cmd: Command, t_s: float) -> tuple[list[Event], str | None, dict]:
        name, mode = cmd.name, self.mode
        if name not in COMMANDS:
            return [], f"unknown command; use one of {', '.join(COMMANDS)}", {}
        if name == "panic":
            if mode == "ended":
                return [], "session already ended in the safe scene", {}
            return self._to_safe(t_s, "panic", cmd.source), None, {}
        if name == "stop":
            return self.end(t_s, "stopped"), None, {}
        if name in ("note", "resume_dialogue"):  # resume_dialogue takes effect in the session's talk
            return [], None, {}
        if name == "withhold_reply":  # in any mode (see _for_talk): a misheard turn is never answered
            return [], "this session has no dialogue", {}
        if mode == "ended":
            return [], "session has ended", {}
        if name == "pause":
            if mode != "running":
                return [], f"cannot pause while {mode}", {}
            self.mode = "paused"
            return [Event(t_s, "paused", {})], None, {}
        if name == "resume":
            if mode == "paused":
                self.mode = "running"
                return [Event(t_s, "resumed", {"step_index": self.step_index})], None, {}
            if mode == "safe":
                # Back to exposure one step lower than where panic struck: de-escalate by default.
                self.mode = "running"
                return [Event(t_s, "resumed", {"from_safe_scene": True}),
                        *self._goto(self.step_index - 1, "resume_after_safe", t_s)], None, {}
            return [], "already running", {}
        if name == "ask_rating":
            scale = cmd.text or "suds"
            if scale not in RATING_SCALES:
                return [], f"unknown scale {scale!r}; use suds, pain or ssq", {}
            self.prompt = scale
            return [Event(t_s, "rating_prompt", {"scale": scale, "reason": "clinician"})], None, {}
        if mode == "safe":
            return [], "in the safe scene; resume first", {}
        if name in ("say_line", "speak"):
            if mode != "running":
                return [], f"cannot have a human speak while {mode}", {}
            return [], "this session has no dialogue", {}   # (with talk, _for_talk hands it over)
        if name in ("step_up", "step_down", "goto_step"):
            if name == "goto_step":
                if cmd.value is None or cmd.value != int(cmd.value) or not 0 <= cmd.value < len(self.profile.steps):
                    return [], f"goto_step needs a step index from 0 to {len(self.profile.steps) - 1}", {}
                target = int(cmd.value)
            else:
                target = self.step_index + (1 if name == "step_up" else -1)
            if target < 0:
                return [], "already at the first step", {}
            if target >= len(self.profile.steps):
                return [], "already at the last step", {}
            return self._goto(target, "clinician", t_s), None, {}
        if name == "set_intensity":
            if cmd.value is None:
                return [], "set_intensity needs a value from 0 to 1", {}
            level = min(max(float(cmd.value), 0.0), self.safety.max_intensity)
            self.intensity_override = level
            self._restage = True
            return [], None, {"clamped_to": level} if level != cmd.value else {}
        # clear_intensity
        self.intensity_override = None
        self._restage = True
        return [], None, {}

    # -- ratings and rules ------------------------------------------------------------------------
    def _rating(self, rating: Rating, t_s: float) -> list[Event]:
        lo, hi = RATING_SCALES.get(rating.scale, (None, None))
        if lo is None or not lo <= rating.value <= hi:
            return [Event(t_s, "rating_refused", {"scale": rating.scale, "value": rating.value,
                                                  "reason": "unknown scale or out of range"})]
        self.last[rating.scale] = float(rating.value)
        if self.prompt == rating.scale:
            self.prompt = None
        if rating.scale == "suds":
            v, now = rating.value, self.running_t_s
            rule, retreat = self.step.advance, self.step.retreat_when
            if rule.suds_at_most is not None:
                self._advance_since = (self._advance_since if self._advance_since is not None else now) \
                    if v <= rule.suds_at_most else None
            if retreat is not None:
                self._retreat_since = (self._retreat_since if self._retreat_since is not None else now) \
                    if v >= retreat.suds_at_least else None
            self._ceiling_since = (self._ceiling_since if self._ceiling_since is not None else now) \
                if v > self.safety.suds_ceiling else None
        return [Event(t_s, "rating", {"scale": rating.scale, "value": rating.value, "source": rating.source})]

    def _rules(self, t_s: float) -> list[Event]:
        now = self.running_t_s
        if self._ceiling_since is not None and now - self._ceiling_since >= self.safety.ceiling_hold_s:
            self._ceiling_since = None  # one step down per rating above the ceiling
            self.prompt = "suds"
            alert = {"level": "warning", "reason": "suds_ceiling", "suds": self.last["suds"],
                     "ceiling": self.safety.suds_ceiling}
            if self.step_index == 0:
                return [Event(t_s, "alert", {**alert, "message": "SUDS above the ceiling at the first step; "
                                             "consider the safe scene"}),
                        Event(t_s, "rating_prompt", {"scale": "suds", "reason": "ceiling"})]
            return [Event(t_s, "alert", {**alert, "message": "SUDS above the ceiling; stepped down"}),
                    *self._goto(self.step_index - 1, "suds_ceiling", t_s),
                    Event(t_s, "rating_prompt", {"scale": "suds", "reason": "ceiling"})]
        due = self.body.due(t_s, now)
        if due is not None:
            return self._body_rule(due, t_s)
        retreat = self.step.retreat_when
        if retreat is not None and self._retreat_since is not None and now - self._retreat_since >= retreat.held_s:
            if self.step_index > 0:
                return self._goto(self.step_index - 1, "retreat_rule", t_s)
            self._retreat_since = None
        rule = self.step.advance
        reason = None
        if rule.after_s is not None and self.step_t_s >= rule.after_s:
            reason = "after_time"
        elif (rule.suds_at_most is not None and self._advance_since is not None
                and now - self._advance_since >= rule.held_s and self.step_t_s >= rule.min_s):
            reason = "suds_settled"
        if reason is None or self.step_index == len(self.profile.steps) - 1 and self._completed:
            return []
        waiting = self.body.holding(t_s)
        if waiting:   # the body has not settled: the step waits (said once per step)
            if self._held_said:
                return []
            self._held_said = True
            return [Event(t_s, "advance_held", {"index": self.step_index, "rule": reason, "waiting_for": waiting})]
        return self._goto(self.step_index + 1, reason, t_s)

    def _body_rule(self, due, t_s: float) -> list[Event]:
        """A body rule's hold is complete: step down, ask for SUDS or alert (never anything stronger)."""
        then = due.rule.then
        reason = f"{due.rule.signal}_above_baseline"
        if then == "step_down" and self.step_index > 0:
            return [due.alert(t_s, "stepped down"), *self._goto(self.step_index - 1, reason, t_s, by_rule=due.index)]
        if then == "step_down":
            return [due.alert(t_s, "at the first step: consider the safe scene")]
        if then == "ask_suds":
            self.prompt = "suds"
            return [due.alert(t_s, "SUDS asked"), Event(t_s, "rating_prompt", {"scale": "suds", "reason": reason})]
        return [due.alert(t_s, "no change made")]

    def update(self, t_s: float, dt_s: float, commands: tuple[Command, ...],
               ratings: tuple[Rating, ...], physio: tuple[PhysioSample, ...] = ()) -> Output:
        """Advance by ``dt_s`` at session time ``t_s``; returns the events and effects, in order
        (a :class:`Restage` last, when the humans must follow a change). ``physio``: the body
        samples that arrived since the last update."""
        events = self._update(t_s, dt_s, commands, ratings, physio)
        if self._restage:
            self._restage = False
            events.append(Restage())
        return events

    def _update(self, t_s: float, dt_s: float, commands: tuple[Command, ...],
                ratings: tuple[Rating, ...], physio: tuple[PhysioSample, ...]) -> Output:
        events: Output = []
        first = self.step_index == 0 and self.mode in ("running", "paused")
        if physio:
            events.extend(self.body.take(physio, t_s, first))
        for cmd in commands:
            events.extend(self._command(cmd, t_s))
        for rating in ratings:
            events.extend(self._rating(rating, t_s))
        if self.mode != "ended" and t_s >= self.safety.max_session_min * 60.0:
            events.extend(self.end(t_s, "max_session_length"))
        if self.body.watching and self.mode != "ended":
            events.extend(self.body.watch(t_s, self.step_index == 0, self.mode in ("running", "paused")))
        if self.mode != "running":
            return events
        self.running_t_s += dt_s
        self.step_t_s += dt_s
        events.extend(self._rules(t_s))
        for scale, due in self._next_prompt.items():
            if due is not None and self.running_t_s >= due:
                every = self.profile.ratings.suds_every_s if scale == "suds" else self.profile.ratings.pain_every_s
                self._next_prompt[scale] = due + every
                self.prompt = scale
                events.append(Event(t_s, "rating_prompt", {"scale": scale, "reason": "schedule"}))
        return events
