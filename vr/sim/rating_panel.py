"""Rating in the headset: a slider the patient answers with a controller or by looking.

When the session asks for a rating (``WorldState.rating_prompt``), a panel appears 1.3 m ahead
of the patient, at eye height, facing them. The patient answers in whichever way suits them:

- **controller**: the thumbstick (or trackpad) moves the marker; pointing at a number moves it
  there; the trigger records the value;
- **gaze dwell**: looking at one number for ``DWELL_S`` seconds records it (no hands needed,
  for a patient whose hands are busy or bandaged).

The desktop preview uses the same logic with the mouse (``mouse_pointers``): mouse-look turns the
head, so the screen centre is both the gaze and the pointer, and a click is the trigger.

This is session state: the sources send raw pointing (``FrameInputs.gaze`` and ``hands``, rays in
the session's frame) while a rating is asked; ``RatingPanel.step`` runs inside ``Session.step``
and ``DistractionSession.step``, so the answer is decided by the core, recorded with the inputs
and replayed exactly. The world carries what it decided (``WorldState.rating_panel``); the view
(``vr.render.rating_panel``) only draws that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vr.sim.types import TRIGGER_OFF, TRIGGER_ON, FrameInputs, HeadPose, Pointer, Rating, RatingPanelState

DWELL_S = 2.0
PANEL_DISTANCE_M = 1.3
PANEL_WIDTH_M = 1.1
PANEL_HEIGHT_M = 0.5
STICK_DEADZONE = 0.25


@dataclass(frozen=True)
class Scale:
    name: str
    low: int
    high: int
    tick: int
    question: str
    low_label: str
    high_label: str

    @property
    def ticks(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.tick))

    @property
    def speed_per_s(self) -> float:
        """How fast a fully pushed thumbstick moves the marker: the whole scale in 2.5 s."""
        return (self.high - self.low) / 2.5


SCALES = {
    "suds": Scale("suds", 0, 100, 10, "How anxious do you feel right now?", "0 calm", "100 worst ever"),
    "pain": Scale("pain", 0, 10, 1, "How much pain do you feel right now?", "0 none", "10 worst"),
    "ssq": Scale("ssq", 0, 3, 1, "Any dizziness or nausea?", "0 none", "3 severe"),
}


@dataclass(frozen=True)
class Placement:
    """Where the panel stands: centre (scene frame, metres) and the heading it faces back along."""

    center_m: tuple[float, float, float]
    yaw_deg: float

    @staticmethod
    def ahead_of(head: HeadPose) -> Placement:
        r = math.radians(head.yaw_deg)
        x, y, z = head.position_m
        c = (x - math.sin(r) * PANEL_DISTANCE_M, y + math.cos(r) * PANEL_DISTANCE_M, z - 0.05)
        return Placement(c, head.yaw_deg)

    def hit(self, origin: tuple[float, float, float], direction: tuple[float, float, float]) -> tuple[float, float] | None:
        """Where a ray meets the panel: (u, v) in [0, 1] across and up, or None if it misses."""
        r = math.radians(self.yaw_deg)
        normal = np.array([-math.sin(r), math.cos(r), 0.0])   # the panel faces back towards the patient
        right = np.array([math.cos(r), math.sin(r), 0.0])
        d = np.asarray(direction, dtype=float)
        denom = float(d @ normal)
        if denom <= 1e-6:
            return None  # parallel, or looking away from the panel
        o = np.asarray(origin, dtype=float)
        t = float((np.asarray(self.center_m) - o) @ normal) / denom
        if t <= 0:
            return None
        p = o + t * d - np.asarray(self.center_m)
        u = float(p @ right) / PANEL_WIDTH_M + 0.5
        v = float(p[2]) / PANEL_HEIGHT_M + 0.5
        if not (0.0 <= u <= 1.0 and 0.0 <= v <= 1.0):
            return None
        return u, v


def head_ray(head: HeadPose) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The line of sight from the head (scene frame): origin and unit direction."""
    h, p = math.radians(head.yaw_deg), math.radians(head.pitch_deg)
    return head.position_m, (-math.sin(h) * math.cos(p), math.cos(h) * math.cos(p), math.sin(p))


class RatingInput:
    """The marker, the dwell timer and the trigger edge for the rating being asked, if any."""

    def __init__(self, still_gaze_waits: bool = False) -> None:
        """``still_gaze_waits``: the number under the gaze when the panel appears answers by dwell only
        once the gaze has left it (the desktop: the panel opens centred under a mouse that may not
        move, and a patient reading the question must not answer mid-scale by keeping still)."""
        self.still_gaze_waits = still_gaze_waits
        self.scale: Scale | None = None
        self.placement: Placement | None = None
        self.value = 0.0
        self.hover: int | None = None      # the number being looked or pointed at
        self.dwell_s = 0.0
        self._trigger_down = True          # a trigger already held when the panel opens does not answer it
        self._unmoved: int | None = None   # with still_gaze_waits: the number looked at since the panel opened
        self.pulses: list[str] = []        # hands to buzz this frame (the marker moved, a rating recorded)
        self.missed_click = False          # a mouse click this frame landed off the row of numbers

    def update(self, prompt: str | None, head: HeadPose, gaze: Pointer, hands: list[Pointer] | tuple[Pointer, ...],
               dt_s: float) -> Rating | None:
        """Advance one frame; returns the rating when the patient gives one.

        A hand whose ``source`` is 'mouse' points only while it is on a number: a click off the row
        records nothing (the desktop patient has no thumbstick to have set the marker, so the click
        would record a value nobody chose) and sets ``missed_click``."""
        self.pulses = []
        self.missed_click = False
        if prompt is None or prompt not in SCALES:
            self.scale = None
            return None
        if self.scale is None or self.scale.name != prompt:
            self.scale = SCALES[prompt]
            self.placement = Placement.ahead_of(head)
            half_ticks = (self.scale.high - self.scale.low) // 2 // self.scale.tick
            self.value = float(self.scale.low + half_ticks * self.scale.tick)  # start mid-scale
            self.hover, self.dwell_s = None, 0.0
            self._trigger_down = any(h.trigger > TRIGGER_OFF for h in hands)
            self._unmoved = self.tick_at(gaze) if self.still_gaze_waits else None
        scale, before = self.scale, self._tick_of(self.value)
        every = list(hands)   # the trigger's state counts every hand, even a mouse off the numbers
        mouse_off = [h for h in every if h.source == "mouse" and self.tick_at(h) is None]
        if mouse_off:
            if any(h.trigger >= TRIGGER_ON for h in mouse_off) and not self._trigger_down:
                self.missed_click = True
            hands = [h for h in every if h not in mouse_off]
        for hand in hands:
            if abs(hand.stick_x) > STICK_DEADZONE:
                self.value = min(scale.high, max(scale.low, self.value + hand.stick_x * scale.speed_per_s * dt_s))
        pointed = [(h, self.tick_at(h)) for h in hands]
        pointed = [(h, t) for h, t in pointed if t is not None]
        for hand, tick in pointed:
            self.value = float(tick)
        gaze_tick = self.tick_at(gaze)
        target = pointed[-1][1] if pointed else gaze_tick  # the hand that set the marker
        if self._unmoved is not None and target != self._unmoved:
            self._unmoved = None  # the gaze has moved: from now on any number it rests on counts
        if target is not None and target == self.hover:
            self.dwell_s += 0.0 if target == self._unmoved else dt_s
        else:
            self.hover, self.dwell_s = target, 0.0
        if self._tick_of(self.value) != before:
            self.pulses += [h.hand for h in hands if h.hand]
        pressing = [h for h in hands if h.trigger >= TRIGGER_ON]
        released = all(h.trigger <= TRIGGER_OFF for h in every)
        answer, via = None, ""
        if pressing and not self._trigger_down:
            answer, via = float(round(self.value)), pressing[0].source or "headset_controller"
        elif self.hover is not None and not pointed and self.dwell_s >= DWELL_S:
            answer, via = float(self.hover), gaze.source or "headset_gaze"
        self._trigger_down = any(h.trigger >= TRIGGER_ON for h in every) or (self._trigger_down and not released)
        if answer is None:
            return None
        self.pulses += [h.hand for h in hands if h.hand]
        self.scale, self.dwell_s, self.hover = None, 0.0, None
        return Rating(prompt, answer, via)

    @property
    def dwell_fraction(self) -> float:
        return min(1.0, self.dwell_s / DWELL_S)

    def _tick_of(self, value: float) -> int:
        s = self.scale
        assert s is not None
        return round((value - s.low) / s.tick) * s.tick + s.low

    def tick_at(self, pointer: Pointer) -> int | None:
        """The number ``pointer`` points at on the panel now, or None (no panel, off the row of numbers)."""
        if self.placement is None or self.scale is None:
            return None
        hit = self.placement.hit(pointer.origin, pointer.direction)
        if hit is None:
            return None
        u, v = hit
        if not (0.2 <= v <= 0.65):  # the row of numbers, not the question above or the hint below
            return None
        ticks = self.scale.ticks
        slot = min(len(ticks) - 1, max(0, int((u - 0.05) / 0.9 * len(ticks))))
        return ticks[slot] if 0.05 <= u <= 0.95 else None


def mouse_pointers(head: HeadPose, pressed: bool) -> tuple[Pointer, tuple[Pointer, ...]]:
    """The desktop's pointing while a rating is asked: (gaze, hands) for ``FrameInputs``.

    Mouse-look turns the head, so the screen centre is the head ray: it is the gaze (dwell, source
    ``desktop_gaze``) and, while the left button counts as pressed, a pointer with its trigger
    pressed (source ``mouse``; the core ignores it off the row of numbers). ``head`` is in the
    session's frame, where the panel is placed.
    """
    origin, direction = head_ray(head)
    gaze = Pointer(origin, direction, source="desktop_gaze")
    return gaze, ((Pointer(origin, direction, trigger=1.0, source="mouse"),) if pressed else ())


class RatingPanel:
    """The session's rating panel: a ``RatingInput`` that a still gaze does not answer, stepped
    with the raw pointing of each step, and the counters a source's haptics follow."""

    def __init__(self) -> None:
        self.input = RatingInput(still_gaze_waits=True)
        self._buzzes: dict[str, int] = {}
        self._answers = 0
        self._missed = 0
        self._used = False
        self._last_scale: Scale | None = None

    def step(self, prompt: str | None, inputs: FrameInputs, dt_s: float) -> Rating | None:
        """One step: ``prompt`` is the scale asked now (None: none, or answered this step by other means).
        Without pointing (``inputs.gaze`` None) an open panel holds still, and closes once nothing is asked."""
        r = self.input
        if inputs.gaze is None:
            if prompt is None and r.scale is not None:
                r.update(None, inputs.head, Pointer((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)), (), dt_s)
            return None
        answer = r.update(prompt, inputs.head, inputs.gaze, inputs.hands, dt_s)
        if r.scale is not None:
            self._used, self._last_scale = True, r.scale
        self._missed += r.missed_click
        for hand in dict.fromkeys(r.pulses):
            self._buzzes[hand] = self._buzzes.get(hand, 0) + 1
        if answer is not None:
            self._used = True
            self._answers += 1
        return answer

    def state(self) -> RatingPanelState | None:
        """What the world shows of the panel (None until it is first used)."""
        r, scale = self.input, self.input.scale or self._last_scale
        if not self._used or scale is None:
            return None
        place = r.placement
        return RatingPanelState(
            open=r.scale is not None, scale=scale.name, question=scale.question, low_label=scale.low_label,
            high_label=scale.high_label, ticks=tuple(scale.ticks),
            center_m=place.center_m if place is not None else (0.0, 0.0, 0.0),
            yaw_deg=place.yaw_deg if place is not None else 0.0, value=r.value, hover=r.hover,
            dwell=r.dwell_fraction, buzzes=tuple(sorted(self._buzzes.items())), answers=self._answers,
            missed_clicks=self._missed)


def panel_ratings(panel: RatingPanel, prompt: str | None, inputs: FrameInputs, dt_s: float) -> tuple[Rating, ...]:
    """A step's ratings: the inputs' own (keys, the console, a synthetic patient), then the panel's
    answer. ``prompt`` is the scale the session asks as the step begins; a rating of that scale in
    the inputs answers it, so the panel closes in the same step rather than answering twice."""
    ratings = inputs.ratings
    if inputs.gaze is None and panel.input.scale is None:
        return ratings   # nobody points and nothing is shown: the synthetic patient's and replay's usual step
    asked = None if any(r.scale == prompt for r in ratings) else prompt
    answer = panel.step(asked, inputs, dt_s)
    return ratings + ((answer,) if answer is not None else ())
