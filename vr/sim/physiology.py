"""The body rules: a resting baseline, sustained rises above it, the advance gate, quiet streams.

``BodyMonitor`` keeps the heart rate (``hr``, bpm) and skin conductance (``eda``, microsiemens)
samples that arrive in ``FrameInputs.physio`` and evaluates the profile's ``physiology:`` block
(``vr.config.physiology``) for the exposure engine, which carries out what it finds in the same
way as its SUDS rules (``vr.sim.exposure``). Numbers and the standard library only.

- The *baseline* is the median of each signal over the first step (or the first ``baseline_s``
  seconds, by the samples' own times); it is recorded as a ``physio_baseline`` event. A signal
  without a sample then has no baseline, and its rules stay off for the session (an alert).
- A rule's value is the median of the last ``SMOOTH_S`` seconds of samples (one stray reading
  neither starts nor breaks a hold). Holds are timed on the engine's running clock, so a pause
  never completes one. A rule acts once per rise: after it acted it waits until the signal is
  back under its line; any other change of step starts its clock afresh.
- A watched signal whose samples stop for ``signal_lost_s`` (by arrival, in session time) is
  *lost*: an ``alert`` (reason ``physiology_lost``) tells the clinician, its rules pause and the
  advance gate stops waiting for it, so the session never stalls; when samples return another
  alert (``physiology_back``) says so.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from vr.config.physiology import BodyRuleConfig, PhysiologyConfig
from vr.sim.types import PHYSIO_KINDS, Event, PhysioSample, PhysioState

SMOOTH_S = 5.0          # a rule reads the median of this many seconds of samples
KEEP_S = 1800.0         # samples older than this are forgotten (the longest window a profile may ask for)
MIN_BASELINE = 3        # fewer samples than this make no baseline
NAMES = {"hr": "heart rate", "eda": "skin conductance"}
UNITS = {"hr": "bpm", "eda": "µS"}


@dataclass(frozen=True)
class RuleDue:
    """A body rule whose hold is complete: the engine acts on it (``rule.then``)."""

    index: int
    rule: BodyRuleConfig
    value: float
    baseline: float
    held_s: float

    def alert(self, t_s: float, done: str) -> Event:
        r = self.rule
        return Event(t_s, "alert", {
            "level": "warning" if r.then == "step_down" else "info", "reason": "body_rule", "rule": self.index,
            "signal": r.signal, "value": round(self.value, 3), "baseline": round(self.baseline, 3),
            "above": r.above, "held_s": round(self.held_s, 2), "then": r.then,
            "message": f"{NAMES[r.signal]} {self.value - self.baseline:+.1f} {UNITS[r.signal]} over the resting "
                       f"baseline for {r.for_s:g} s; {done}"})


class BodyMonitor:
    """The body's samples and the profile's body rules for one session (``config`` None: no rules,
    but samples that arrive are still kept, shown and recorded)."""

    def __init__(self, config: PhysiologyConfig | None) -> None:
        self.config = config
        self.watched: tuple[str, ...] = config.signals if config is not None else ()
        self.samples: dict[str, deque[tuple[float, float]]] = {k: deque() for k in PHYSIO_KINDS}
        self.latest: dict[str, float | None] = {k: None for k in PHYSIO_KINDS}
        self.arrived: dict[str, float] = {k: 0.0 for k in PHYSIO_KINDS}
        self.baseline: dict[str, float | None] = {k: None for k in PHYSIO_KINDS}
        self.baseline_taken = False
        self._for_baseline: dict[str, list[float]] = {k: [] for k in PHYSIO_KINDS}
        self.lost: set[str] = set()
        n = len(config.rules) if config is not None else 0
        self._since: list[float | None] = [None] * n
        self._armed = [True] * n
        self._step_start_s = 0.0
        self.seen = False

    @property
    def watching(self) -> bool:
        return self.config is not None

    # -- samples ------------------------------------------------------------------------------
    def take(self, samples: Iterable[PhysioSample], t_s: float, first_step: bool) -> list[Event]:
        """Keep this step's samples (unknown kinds and non-finite values are ignored); a lost
        signal's return is announced. ``first_step``: the session is still in its first step."""
        events = []
        for s in samples:
            if s.kind not in PHYSIO_KINDS or not isinstance(s.value, (int, float)) or not math.isfinite(s.value) \
                    or not math.isfinite(s.t_s):
                continue
            self.seen = True
            k, v = s.kind, float(s.value)
            buf = self.samples[k]
            buf.append((float(s.t_s), v))
            while buf and buf[0][0] < t_s - KEEP_S:
                buf.popleft()
            self.latest[k] = v
            self.arrived[k] = t_s
            if not self.baseline_taken and self.config is not None and (
                    s.t_s <= self.config.baseline_s if self.config.baseline_s is not None else first_step):
                self._for_baseline[k].append(v)
            if k in self.lost:
                self.lost.discard(k)
                events.append(Event(t_s, "alert", {
                    "level": "info", "reason": "physiology_back", "signal": k,
                    "message": f"{NAMES[k]} samples are back; its body rules apply again"}))
        return events

    def watch(self, t_s: float, first_step: bool, exposing: bool) -> list[Event]:
        """The baseline when its time is up, and the watched signals that went quiet."""
        cfg = self.config
        if cfg is None:
            return []
        events = []
        if not self.baseline_taken:
            done = (t_s >= cfg.baseline_s) if cfg.baseline_s is not None else (not first_step or not exposing)
            if done:
                events.extend(self._take_baseline(t_s))
        for k in self.watched:
            if k not in self.lost and t_s - self.arrived[k] >= cfg.signal_lost_s:
                self.lost.add(k)
                for i, rule in enumerate(cfg.rules):
                    if rule.signal == k:
                        self._since[i] = None
                events.append(Event(t_s, "alert", {
                    "level": "warning", "reason": "physiology_lost", "signal": k, "quiet_s": cfg.signal_lost_s,
                    "message": f"no {NAMES[k]} for {cfg.signal_lost_s:g} s: its body rules are paused "
                               "(the SUDS rules go on); check the sensor"}))
        return events

    def _take_baseline(self, t_s: float) -> list[Event]:
        self.baseline_taken = True
        data: dict = {"over": "first_step" if self.config.baseline_s is None else "baseline_s"}
        missing = []
        for k in PHYSIO_KINDS:
            values = sorted(self._for_baseline[k])
            data[f"{k}_samples"] = len(values)
            if len(values) >= MIN_BASELINE:
                mid = len(values) // 2
                self.baseline[k] = values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])
            elif k in self.watched:
                missing.append(k)
        data["hr_bpm"] = None if self.baseline["hr"] is None else round(self.baseline["hr"], 2)
        data["eda_us"] = None if self.baseline["eda"] is None else round(self.baseline["eda"], 4)
        self._for_baseline = {k: [] for k in PHYSIO_KINDS}
        events = [Event(t_s, "physio_baseline", data)]
        for k in missing:
            events.append(Event(t_s, "alert", {
                "level": "warning", "reason": "physiology_no_baseline", "signal": k,
                "message": f"too few {NAMES[k]} samples for a resting baseline: its rules are off this session"}))
        return events

    def _smoothed(self, k: str, t_s: float) -> float | None:
        recent = [v for _, v in self._recent(k, t_s - SMOOTH_S, strict=True)]
        if not recent:
            return self.latest[k]
        recent.sort()
        mid = len(recent) // 2
        return recent[mid] if len(recent) % 2 else 0.5 * (recent[mid - 1] + recent[mid])

    # -- rules and the gate -----------------------------------------------------------------------
    def new_step(self, t_s: float, by_rule: int | None = None) -> None:
        """The step changed at ``t_s``: every hold starts afresh (the rule that acted stays disarmed)."""
        self._step_start_s = t_s
        self._since = [None] * len(self._since)
        for i in range(len(self._armed)):
            if i != by_rule:
                self._armed[i] = True

    def due(self, t_s: float, running_t_s: float) -> RuleDue | None:
        """The first body rule whose hold is complete now (and disarm it), or None."""
        cfg = self.config
        if cfg is None or not self.baseline_taken:
            return None
        found = None
        for i, rule in enumerate(cfg.rules):
            k, base = rule.signal, self.baseline[rule.signal]
            if base is None or k in self.lost:
                continue
            value = self._smoothed(k, t_s)
            if value is None or value < base + rule.above:
                self._since[i] = None
                self._armed[i] = True
                continue
            if self._since[i] is None:
                self._since[i] = running_t_s
            held = running_t_s - self._since[i]
            if self._armed[i] and held >= rule.for_s and found is None:
                self._armed[i] = False
                self._since[i] = None
                found = RuleDue(i, rule, value, base, held)
        return found

    def holding(self, t_s: float) -> list[str]:
        """What the advance gate still waits for (empty: the step may advance on its own rule)."""
        gate = self.config.advance_only_when if self.config is not None else None
        if gate is None:
            return []
        waiting = []
        if gate.eda_settled is not None and "eda" not in self.lost:
            g = gate.eda_settled
            slope = self._slope_per_min("eda", t_s, g.for_s)
            if slope is None or slope > g.slope_us_per_min:
                waiting.append("eda_settled")
        if gate.hr_settled is not None and "hr" not in self.lost and self.baseline["hr"] is not None:
            g = gate.hr_settled
            mean = self._window_mean("hr", t_s, g.for_s)
            if mean is None or mean > self.baseline["hr"] + g.within_baseline_bpm:
                waiting.append("hr_settled")
        return waiting

    def _window(self, k: str, t_s: float, for_s: float) -> list[tuple[float, float]] | None:
        """The samples of the last ``for_s`` seconds, once the step is that old (else None)."""
        if t_s - self._step_start_s < for_s:
            return None
        window = self._recent(k, t_s - for_s)
        return window if len(window) >= 3 else None

    def _recent(self, k: str, start_s: float, strict: bool = False) -> list[tuple[float, float]]:
        """The samples measured after ``start_s`` (newest first; samples arrive about in time order)."""
        out = []
        for t, v in reversed(self.samples[k]):
            if t < start_s or (strict and t == start_s):
                break
            out.append((t, v))
        return out

    def _window_mean(self, k: str, t_s: float, for_s: float) -> float | None:
        window = self._window(k, t_s, for_s)
        return None if window is None else sum(v for _, v in window) / len(window)

    def _slope_per_min(self, k: str, t_s: float, for_s: float) -> float | None:
        window = self._window(k, t_s, for_s)
        if window is None:
            return None
        n = len(window)
        mt = sum(t for t, _ in window) / n
        mv = sum(v for _, v in window) / n
        var = sum((t - mt) ** 2 for t, _ in window)
        if var <= 0.0:
            return None
        return 60.0 * sum((t - mt) * (v - mv) for t, v in window) / var

    def state(self) -> PhysioState | None:
        """What the world shows (None when there are no rules and no sample has come)."""
        if not self.watching and not self.seen:
            return None
        return PhysioState(self.latest["hr"], self.latest["eda"], self.baseline["hr"], self.baseline["eda"],
                           self.baseline_taken, tuple(k for k in self.watched if k in self.lost), self.watching)
