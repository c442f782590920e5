"""The ``physiology:`` block of an exposure profile: rules on heart rate and skin conductance.

They stand beside the SUDS rules of the steps and are evaluated by the session core
(``vr.sim.physiology``): a resting baseline is taken first, then a sustained rise above it can
step the session down, ask for a SUDS rating or alert the clinician, and a step may wait for
the body to settle before it advances on its own rule. Body rules only ever make the session
gentler or slower; the safety caps stay in force whatever they say.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from vr.config.fields import Model, param

HR_EVIDENCE = ("heart rate rises with social-evaluative threat by roughly 10-30 bpm "
               "(Kudielka et al. 2004, Trier Social Stress Test)")
EDA_EVIDENCE = "skin conductance level follows sympathetic arousal with a lag of seconds (Boucsein 2012)"


class BodyRuleConfig(Model):
    """One body rule: a signal held above the resting baseline, and what the session then does."""

    hr_above_baseline_bpm: float | None = param(
        None, "Heart rate at least this many beats per minute above the resting baseline ...", ge=1.0, le=100.0,
        evidence=HR_EVIDENCE)
    eda_above_baseline_us: float | None = param(
        None, "... or skin conductance at least this many microsiemens above the baseline ...", ge=0.01, le=50.0,
        evidence=EDA_EVIDENCE)
    for_s: float = param(30.0, "... for this long without a break (a shorter spike is ignored).", ge=1.0, le=1800.0)
    then: Literal["step_down", "ask_suds", "alert"] = param(
        "step_down", "step_down (one step lower; at the first step an alert), ask_suds (a SUDS rating) "
        "or alert (tell the clinician only). A rule acts once per rise.")

    @model_validator(mode="after")
    def _one_signal(self) -> BodyRuleConfig:
        given = [k for k in ("hr_above_baseline_bpm", "eda_above_baseline_us") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError("body_rule", "a body rule watches one signal: give hr_above_baseline_bpm "
                                      "or eda_above_baseline_us{extra}; e.g. {{hr_above_baseline_bpm: 25, "
                                      "for_s: 30, then: step_down}}",
                                      {"extra": ", not both" if given else ""})
        return self

    @property
    def signal(self) -> str:
        return "hr" if self.hr_above_baseline_bpm is not None else "eda"

    @property
    def above(self) -> float:
        """How far above the baseline the signal must be (bpm or microsiemens)."""
        return float(self.hr_above_baseline_bpm if self.signal == "hr" else self.eda_above_baseline_us)


class EdaSettledConfig(Model):
    """Skin conductance has settled: its trend over the last ``for_s`` rises no faster than this."""

    slope_us_per_min: float = param(
        0.05, "Settled when EDA's trend (least-squares line over the window) rises at most this much per minute.",
        ge=0.0, le=5.0, evidence=EDA_EVIDENCE)
    for_s: float = param(60.0, "The window, counted within the current step.", ge=10.0, le=1800.0)


class HrSettledConfig(Model):
    """Heart rate has settled: its average over the last ``for_s`` is near the resting baseline."""

    within_baseline_bpm: float = param(
        10.0, "Settled when the average heart rate over the window is at most this far above the baseline.",
        ge=1.0, le=60.0, evidence=HR_EVIDENCE)
    for_s: float = param(60.0, "The window, counted within the current step.", ge=10.0, le=1800.0)


class BodyGateConfig(Model):
    """A step's own advance rule (SUDS settled, or its time) waits for these too."""

    eda_settled: EdaSettledConfig | None = param(None, "{slope_us_per_min: 0.05, for_s: 60}: EDA no longer rising.")
    hr_settled: HrSettledConfig | None = param(None, "{within_baseline_bpm: 10, for_s: 60}: heart rate back near rest.")

    @model_validator(mode="after")
    def _something(self) -> BodyGateConfig:
        if self.eda_settled is None and self.hr_settled is None:
            raise PydanticCustomError("body_gate", "advance_only_when needs eda_settled or hr_settled (or both); "
                                      "e.g. {{eda_settled: {{slope_us_per_min: 0.05, for_s: 60}}}}")
        return self

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(k for k, v in (("eda", self.eda_settled), ("hr", self.hr_settled)) if v is not None)


class PhysiologyConfig(Model):
    """Rules on the body (heart rate, skin conductance) next to the SUDS rules (explained at the end of this page)."""

    baseline_s: float | None = param(
        None, "Resting baseline: the median heart rate and EDA over the first this many seconds; none: over the "
        "first step.", ge=10.0, le=1800.0,
        evidence="resting baselines of 2-5 minutes are usual in psychophysiology (Berntson et al. 1997)")
    signal_lost_s: float = param(
        15.0, "A watched signal with no sample for this long: its rules pause and the clinician is alerted; "
        "they resume when samples return (the SUDS rules go on throughout).", ge=2.0, le=600.0)
    rules: tuple[BodyRuleConfig, ...] = param(
        (), "Body rules, checked in order after the SUDS ceiling and before the steps' SUDS rules.", max_length=10)
    advance_only_when: BodyGateConfig | None = param(
        None, "Hold every step's own advance until the body has settled too (a lost signal never holds it).")

    @property
    def signals(self) -> tuple[str, ...]:
        """The signals the rules and the gate watch (their streams are checked for silence)."""
        used = {r.signal for r in self.rules} | set(self.advance_only_when.signals if self.advance_only_when else ())
        return tuple(k for k in ("hr", "eda") if k in used)


GUIDE = """\
## Body rules, explained (`physiology:`)

An exposure profile may watch the patient's heart rate (`hr`, beats per minute, e.g. a chest
strap) and skin conductance (`eda`, microsiemens), streamed over Lab Streaming Layer, or sent
by the synthetic patient in `vr simulate`. The block sits beside `steps:`; its rules apply to
every step, after the safety ceiling and before the steps' own SUDS rules:

```yaml
physiology:
  # baseline_s: 120             # leave out: the resting baseline is taken over the first step
  signal_lost_s: 15             # a sensor quiet this long: its rules pause, the clinician is alerted
  rules:
    - hr_above_baseline_bpm: 25 # heart rate 25 bpm over the resting baseline ...
      for_s: 30                 # ... for 30 s without a break ...
      then: step_down           # ... steps the session down one step
    - eda_above_baseline_us: 3.0
      for_s: 20
      then: ask_suds            # or alert: tell the clinician only
  advance_only_when:            # a step's own advance (SUDS settled, or its time) waits for these
    eda_settled: {slope_us_per_min: 0.05, for_s: 60}
    # hr_settled: {within_baseline_bpm: 10, for_s: 60}
```

- **Baseline.** The median of each signal over the first step (make it a calm one, such as an
  empty room), or over the first `baseline_s` seconds. It is recorded as a `physio_baseline`
  event. A signal with fewer than 3 samples then has no baseline, and its rules are off for the
  session (an alert says so).
- **Rules.** A rule reads the median of the last 5 s of samples, so one stray reading neither
  starts nor breaks a hold; the hold is timed on the session's running clock (a pause never
  completes it). A rule acts once per rise: after it acted it waits until the signal is back
  under its line; any other change of step starts its clock afresh. Every action is an `alert`
  (reason `body_rule`) followed by what the SUDS rules would write: `step_started` (reason
  `hr_above_baseline` or `eda_above_baseline`) or `rating_prompt`.
- **The advance gate.** When a step's own rule says "advance", `advance_only_when` holds it
  until EDA's trend over the last `for_s` seconds of the step rises no faster than
  `slope_us_per_min` (`eda_settled`) and/or the average heart rate over the window is within
  `within_baseline_bpm` of the baseline (`hr_settled`). The hold is recorded once per step
  (`advance_held`, with what it waits for); the step advances as soon as the body settles.
- **Safety.** Body rules only make a session gentler or slower: they step down (at the first
  step: an alert only), ask, alert or wait. The caps in `safety:` (ceiling, intensity,
  distance, session length, panic) apply whatever the body rules say.
- **A quiet sensor never stalls a session.** A watched signal with no sample for
  `signal_lost_s` raises an alert (reason `physiology_lost`) and its rules pause; the advance
  gate stops waiting for it; the SUDS rules go on. When samples return, another alert
  (`physiology_back`) says so and its rules apply again.
- **Shown and recorded.** The latest heart rate and EDA are in every `sample` event (`hr_bpm`,
  `eda_us`) once any sample has come, so the session report plots them beside SUDS and
  `vr report --patient` compares peak heart rate per step across sessions.
"""
