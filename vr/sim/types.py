"""What goes into a session step and what comes out: immutable inputs, world state, events."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from vr.sim.risk import ScreenScore

Mode = Literal["running", "paused", "safe", "ended"]

COMMANDS = ("pause", "resume", "panic", "stop", "step_up", "step_down", "goto_step",
            "set_intensity", "clear_intensity", "ask_rating", "note", "resume_dialogue", "say_line", "speak",
            "withhold_reply")
RATING_SCALES = {"suds": (0, 100), "pain": (0, 10), "ssq": (0, 3)}


@dataclass(frozen=True)
class HeadPose:
    """The patient's head in the session frame: eye-centre position and heading/pitch/roll (degrees)."""

    position_m: tuple[float, float, float]
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0


@dataclass(frozen=True)
class Command:
    """A clinician's (or patient's panic button's) request, applied in the next step.

    ``value`` carries the step index for ``goto_step``, the level for ``set_intensity``, the
    human's index for ``say_line`` and ``speak`` (None: the nearest); ``text`` carries a scale for
    ``ask_rating``, the words of a ``note`` and the line id for ``say_line``. ``id`` makes retries idempotent.
    """

    name: str
    value: float | None = None
    text: str = ""
    id: str = ""
    source: str = "clinician"


@dataclass(frozen=True)
class Rating:
    """A rating given by the patient: ``scale`` suds (0-100), pain (0-10) or ssq (0-3)."""

    scale: str
    value: float
    source: str = "patient"


@dataclass(frozen=True)
class PatientWords:
    """Something the patient said (typed by the clinician, or from a speech recogniser).

    ``corrects``: the number (``said`` of its ``patient_said`` event) of earlier words these put
    right, e.g. the clinician's correction of a misrecognised turn: that turn's reply is withheld
    and these words are answered instead. 0 for none.
    """

    text: str
    source: str = "clinician"
    corrects: int = 0


@dataclass(frozen=True)
class SpokenLine:
    """A vetted line the dialogue system chose for a human, with its audio's length.

    ``request`` is the number of the session's ``speech_turn`` or ``reply_wanted`` event it
    answers; ``method`` says how it was chosen (model, lexical, generic, opener, fallback).
    The session accepts it only if ``line_id`` is in its vetted bank with exactly this ``text``.
    """

    speaker: str
    line_id: str
    text: str
    band: str
    duration_s: float
    request: int
    similarity: float | None = None
    method: str = "model"


TRIGGER_ON, TRIGGER_OFF = 0.7, 0.3   # a trigger pressed, released (hysteresis, so a half-press does not chatter)


@dataclass(frozen=True)
class Pointer:
    """One frame of the patient's pointing, in the session's frame: a ray, a thumbstick, a trigger.

    ``origin`` (metres) and unit ``direction``; ``stick_x`` the thumbstick or trackpad across
    (-1..1); ``trigger`` 0..1 (a desktop click is 1 while the button is held); ``hand``
    'left'/'right' for a controller (haptics go to it), empty for the gaze or the mouse;
    ``source`` the rating's source when this pointer gives one (empty: ``headset_controller``
    for a hand, ``headset_gaze`` for the gaze).
    """

    origin: tuple[float, float, float]
    direction: tuple[float, float, float]
    stick_x: float = 0.0
    trigger: float = 0.0
    hand: str = ""
    source: str = ""


@dataclass(frozen=True)
class PhysioSample:
    """One physiological measurement from a sensor stream (or the synthetic patient).

    ``kind`` 'hr' (beats per minute) or 'eda' (microsiemens); ``t_s`` the session time it was
    measured at (the source converts its own clock); ``source`` the stream's name, or 'synthetic'.
    """

    kind: str
    value: float
    t_s: float
    source: str = ""


PHYSIO_KINDS = ("hr", "eda")


@dataclass(frozen=True)
class FrameInputs:
    """Everything from outside the core that one step consumes (all of it is logged).

    ``gaze`` and ``hands``: the patient's raw pointing (the head's line of sight, controllers or
    the mouse) while a rating is asked; the core's rating panel (``vr.sim.rating_panel``) turns
    them into the marker, the dwell and the answer. None / empty when the source does not point
    (the synthetic patient rates directly, in ``ratings``).
    """

    head: HeadPose
    commands: tuple[Command, ...] = ()
    ratings: tuple[Rating, ...] = ()
    said: tuple[PatientWords, ...] = ()
    lines: tuple[SpokenLine, ...] = ()
    screens: tuple[ScreenScore, ...] = ()   # meaning checks of earlier words (``vr.sim.risk``)
    patient_speaking: bool = False          # the microphone hears the patient now: the humans yield the turn
    gaze: Pointer | None = None
    hands: tuple[Pointer, ...] = ()
    physio: tuple[PhysioSample, ...] = ()   # body samples that arrived since the last step (``vr.sim.physiology``)

    def then(self, later: FrameInputs) -> FrameInputs:
        """These inputs and ``later``'s as one step's: ``later``'s head and pointing, everything else
        in order; a trigger pressed here and released by ``later`` still counts (its hands are kept)."""
        hands = self.hands if (self.pressing and not later.pressing) else later.hands
        return FrameInputs(later.head, self.commands + later.commands, self.ratings + later.ratings,
                           self.said + later.said, self.lines + later.lines, self.screens + later.screens,
                           self.patient_speaking or later.patient_speaking, later.gaze, hands,
                           self.physio + later.physio)

    def plus(self, *, commands: tuple[Command, ...] = (), ratings: tuple[Rating, ...] = (),
             said: tuple[PatientWords, ...] = (), lines: tuple[SpokenLine, ...] = (),
             screens: tuple[ScreenScore, ...] = (), patient_speaking: bool = False,
             physio: tuple[PhysioSample, ...] = ()) -> FrameInputs:
        """These inputs with more from outside appended (commands queued elsewhere, the worker's answers,
        body samples from the sensor streams)."""
        if not (commands or ratings or said or lines or screens or patient_speaking or physio):
            return self
        return replace(self, commands=self.commands + commands, ratings=self.ratings + ratings,
                       said=self.said + said, lines=self.lines + lines, screens=self.screens + screens,
                       patient_speaking=self.patient_speaking or patient_speaking, physio=self.physio + physio)

    def pointing_only(self) -> FrameInputs:
        """The head and pointing alone: a frame's later steps (its commands and words went with the first)."""
        return FrameInputs(self.head, gaze=self.gaze, hands=self.hands)

    @property
    def pressing(self) -> bool:
        return any(h.trigger >= TRIGGER_ON for h in self.hands)

    @property
    def eventful(self) -> bool:
        """Anything but the head pose: what must never be dropped when a frame runs no step."""
        return bool(self.commands or self.ratings or self.said or self.lines or self.screens or self.patient_speaking
                    or self.pressing or self.physio)


@dataclass(frozen=True)
class RatingPanelState:
    """The rating panel as the view draws it (``vr.sim.rating_panel`` decides it; session frame).

    Present once the panel has been used: ``open`` says whether it is shown now. ``ticks`` the numbers in a row, ``value`` the marker, ``hover`` the number looked or pointed at
    (None: none) with ``dwell`` 0..1 of the 2 s that answer it. ``buzzes``: per hand, how many
    times the marker has moved under it since the session began, and ``answers`` how many ratings
    the panel has given: counters, so a source pulses each hand once per change even when a frame
    runs several steps; ``missed_clicks`` counts desktop clicks that landed off the row of numbers.
    """

    open: bool
    scale: str
    question: str
    low_label: str
    high_label: str
    ticks: tuple[int, ...]
    center_m: tuple[float, float, float]
    yaw_deg: float
    value: float
    hover: int | None
    dwell: float
    buzzes: tuple[tuple[str, int], ...]
    answers: int
    missed_clicks: int = 0


@dataclass(frozen=True)
class Event:
    """Something that happened at session time ``t_s``; the recorder numbers it."""

    t_s: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HumansState:
    """Every virtual-human slot as read-only arrays of length N (``present`` says who is in the scene).

    Positions are floor points (metres); headings are world headings (degrees); the eye angles are
    relative to the head; ``posture`` is 0 standing, 1 walking, 2 seated.
    """

    ids: tuple[str, ...]
    present: NDArray[np.bool_]
    position_m: NDArray[np.float64]
    height_m: NDArray[np.float64]
    body_yaw_deg: NDArray[np.float64]
    head_yaw_deg: NDArray[np.float64]
    head_pitch_deg: NDArray[np.float64]
    eye_yaw_deg: NDArray[np.float64]
    eye_pitch_deg: NDArray[np.float64]
    gaze_target_m: NDArray[np.float64]
    gaze_at_patient: NDArray[np.bool_]
    distance_m: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    posture: NDArray[np.int8]
    mood: NDArray[np.int8]
    gesture: NDArray[np.int8]
    blinking: NDArray[np.bool_]
    speaking: NDArray[np.bool_]
    seed: NDArray[np.int64]
    # The scene place (``vr.config.expand_spawns`` order) each slot stands at, -1 absent; None where
    # a world has no places (distraction). The renderer draws a place's own avatar from it.
    place: NDArray[np.int64] | None = None

    @property
    def count(self) -> int:
        return int(self.present.sum())


@dataclass(frozen=True)
class GameState:
    """The game as the view draws it (read-only arrays; positions in the scene's frame)."""

    rig_position_m: tuple[float, float, float]
    rig_yaw_deg: float
    rig_s_m: float             # distance travelled along the path
    speed_mps: float
    target_ids: tuple[str, ...]
    alive: np.ndarray
    position_m: np.ndarray
    radius_m: np.ndarray
    kind: np.ndarray
    dwell: np.ndarray          # 0..1 of the dwell needed, per target
    hit_age_s: np.ndarray      # seconds since hit (for the burst), inf if not hit
    score: int
    hits: int
    misses: int
    hit_rate: float | None
    difficulty: float
    breathing_on: bool
    breath: float              # 0 (empty) .. 1 (full): the pacer's size now
    engaged: bool
    phase: int                 # the current or last phase; -1 before the first
    in_phase: bool


@dataclass(frozen=True)
class PhysioState:
    """The body as the session sees it (``vr.sim.physiology``): the latest heart rate (bpm) and skin
    conductance (microsiemens), None before any sample; the resting baselines once taken; ``lost``
    the watched signals that have gone quiet (their rules paused); ``watching`` whether the profile
    has body rules."""

    hr_bpm: float | None
    eda_us: float | None
    hr_baseline_bpm: float | None
    eda_baseline_us: float | None
    baseline_taken: bool
    lost: tuple[str, ...]
    watching: bool


@dataclass(frozen=True)
class WorldState:
    """A snapshot after one step; views and the recorder read it, nothing writes it."""

    t_s: float
    mode: Mode
    scene: str
    step_index: int
    step_name: str
    step_t_s: float
    intensity: float
    dialogue_intensity: float
    head: HeadPose
    humans: HumansState
    last_suds: float | None
    last_pain: float | None
    rating_prompt: str | None
    game: GameState | None = None   # a distraction session's game; None in exposure
    rating_panel: RatingPanelState | None = None   # shown while the patient answers a rating in the scene
    physio: PhysioState | None = None   # heart rate and EDA, once watched or measured; None otherwise
