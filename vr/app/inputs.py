"""Where a frame's inputs come from: the synthetic patient (headless) or keyboard and mouse (desktop).

Each source returns the head pose and whatever ratings or commands the person gave this frame;
the frame loop adds commands queued from elsewhere (a console, a test) and hands one
``FrameInputs`` to the session. On the desktop, the patient answers a rating prompt on the same
panel as in the headset (``vr.sim.rating_panel``): the screen centre points, a click answers.
"""

from __future__ import annotations

import math
from collections import deque

from vr.sim.rating_panel import mouse_pointers
from vr.sim import Command, FrameInputs, HeadPose, Rating, SyntheticPatient, WorldState

WALK_MPS = 1.2
MOUSE_DEG_PER_PX = 0.15


class PatientSource:
    """The synthetic patient stands in for a person (offscreen runs and tests)."""

    def __init__(self, patient: SyntheticPatient) -> None:
        self.patient = patient

    def poll(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        return self.patient.act(world, dt_s)


class ClinicianKeys:
    """The clinician's keys on the desktop window: pause, panic, steps, SUDS, help, stop.

    Used by the desktop preview and by the headset's mirror window alike.
    """

    def __init__(self, base, on_help=None, on_quit=None, hud=None, on_words=None, distraction: bool = False,
                 on_click=None) -> None:
        """``hud`` and ``on_words``: T opens a box on the panel for the patient's words.
        ``distraction``: digits are pain (0-9; minus is 10), N starts the next phase, E ends the
        current one, B switches the breathing pacer, the left mouse button (or a tap) throws.
        ``on_click``: the left mouse button calls this instead (it decides whether to throw)."""
        self.pending: deque[Command | Rating] = deque()
        self.mode = "running"
        self.hud = hud
        self._key(base, "space", self._space)
        self._key(base, "p", lambda: self.pending.append(Command("panic", source="keyboard")))
        # F12 panics even while the clinician is typing the patient's words (P is then a letter).
        base.accept("f12", lambda: self.pending.append(Command("panic", source="keyboard")))
        self._key(base, "arrow_up", lambda: self.pending.append(Command("step_up", source="keyboard")))
        self._key(base, "arrow_down", lambda: self.pending.append(Command("step_down", source="keyboard")))
        scale = "pain" if distraction else "suds"
        for digit in range(10):
            value = float(digit) if distraction else float(digit * 10 or 100)
            self._key(base, str(digit), lambda v=value: self.pending.append(Rating(scale, v, "keyboard")))
        if distraction:
            self._key(base, "-", lambda: self.pending.append(Rating("pain", 10.0, "keyboard")))
            self._key(base, "n", lambda: self.pending.append(Command("phase_start", source="keyboard")))
            self._key(base, "e", lambda: self.pending.append(Command("phase_end", source="keyboard")))
            self._key(base, "b", lambda: self.pending.append(Command("breathing", source="keyboard")))
        else:
            self._key(base, "`", lambda: self.pending.append(Rating("suds", 0.0, "keyboard")))
        self._key(base, "r", lambda: self.pending.append(Command("resume_dialogue", source="keyboard")))
        if on_help:
            self._key(base, "h", on_help)
        if hud is not None and on_words is not None:
            self._key(base, "t", lambda: hud.open_words(base, on_words))
        if on_quit:
            self._key(base, "escape", on_quit)
        if on_click is not None:
            self._key(base, "mouse1", on_click)
        elif distraction:
            self._key(base, "mouse1", lambda: self.pending.append(tap_command(base)))

    @property
    def typing(self) -> bool:
        return self.hud is not None and getattr(self.hud, "typing", False)

    def _key(self, base, key: str, action) -> None:
        """A key that does nothing while the clinician types the patient's words (Esc closes the box)."""
        def handler() -> None:
            if self.typing:
                if key == "escape":
                    self.hud.close_words()
                return
            action()

        base.accept(key, handler)

    def _space(self) -> None:
        name = "pause" if self.mode == "running" else "resume"
        self.pending.append(Command(name, source="keyboard"))

    def drain(self, world: WorldState | None) -> tuple[tuple[Command, ...], tuple[Rating, ...]]:
        """The commands and ratings keyed since the last frame."""
        if world is not None:
            self.mode = world.mode
        commands, ratings = [], []
        while self.pending:
            item = self.pending.popleft()
            (commands if isinstance(item, Command) else ratings).append(item)
        return tuple(commands), tuple(ratings)


class DesktopControls:
    """Mouse-look and WASD move the patient's head; keys send the clinician's essentials.

    While the session asks for a rating, the rating panel stands in the scene as in the headset
    and the patient answers with the mouse: the screen centre (the head ray) points at a number,
    a left click records it (source ``mouse``), or looking at one number for 2 s does
    (``desktop_gaze``). The click then goes to the rating, never to a throw.
    """

    KEYS = ("w", "a", "s", "d")

    def __init__(self, base, start: HeadPose, on_help=None, on_quit=None, hud=None, on_words=None,
                 distraction: bool = False) -> None:
        self.base = base
        self.head = start
        self.held: set[str] = set()
        self.distraction = distraction
        self.hud = hud
        self._center = None
        self.keys = ClinicianKeys(base, on_help, on_quit, hud=hud, on_words=on_words, distraction=distraction,
                                  on_click=self._click)
        for key in self.KEYS:
            base.accept(key, lambda k=key: None if self.keys.typing else self.held.add(k))
            base.accept(f"{key}-up", self.held.discard, [key])
        self._clicks: list[Command | None] = []   # since the last poll: each a throw's aim (distraction)

    def _click(self) -> None:
        """The left mouse button: the rating's trigger while a rating is asked, else a throw (distraction).
        Which one is decided at the next poll, with the newest world; the throw's ray is taken now."""
        self._clicks.append(tap_command(self.base) if self.distraction else None)

    def _mouse(self) -> tuple[float, float]:
        win = self.base.win
        if win is None or not self.base.mouseWatcherNode.hasMouse():
            return 0.0, 0.0
        props = win.getProperties()
        cx, cy = props.getXSize() // 2, props.getYSize() // 2
        pointer = win.getPointer(0)
        dx, dy = pointer.getX() - cx, pointer.getY() - cy
        win.movePointer(0, cx, cy)
        if self._center is None:  # the first frame only centres the pointer
            self._center = (cx, cy)
            return 0.0, 0.0
        return dx, dy

    def poll(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        dx, dy = self._mouse()
        yaw = self.head.yaw_deg - dx * MOUSE_DEG_PER_PX
        pitch = max(-80.0, min(80.0, self.head.pitch_deg - dy * MOUSE_DEG_PER_PX))
        fwd = (("w" in self.held) - ("s" in self.held)) * WALK_MPS * dt_s
        side = (("d" in self.held) - ("a" in self.held)) * WALK_MPS * dt_s
        r = math.radians(yaw)
        x, y, z = self.head.position_m
        x += -math.sin(r) * fwd + math.cos(r) * side
        y += math.cos(r) * fwd + math.sin(r) * side
        self.head = HeadPose((x, y, z), yaw, pitch, 0.0)
        commands, ratings = self.keys.drain(world)
        clicks, self._clicks = self._clicks, []
        if world is None or world.rating_prompt is None:
            throws = tuple(c for c in clicks if c is not None)
            return FrameInputs(self.head, commands + throws, ratings)
        # The screen centre points at the panel; a click is the trigger for this frame (the core
        # decides the marker, the dwell and the answer: ``vr.sim.rating_panel``).
        gaze, hands = mouse_pointers(self.head, bool(clicks))
        return FrameInputs(self.head, commands, ratings, gaze=gaze, hands=hands)


def tap_command(base) -> Command:
    """A click or a tap in the window: an ``aim`` with the trigger pressed, along the ray through
    that point (so a tap on a tablet hits the target under the finger); ``fire`` (the reticle)
    when the pointer position is unknown."""
    from panda3d.core import Point3

    watcher = base.mouseWatcherNode
    if watcher is None or not watcher.hasMouse():
        return Command("fire", source="mouse")
    near, far = Point3(), Point3()
    if not base.camLens.extrude(watcher.getMouse(), near, far):
        return Command("fire", source="mouse")
    render = base.render
    origin = render.getRelativePoint(base.cam, near)
    toward = render.getRelativePoint(base.cam, far) - origin
    toward.normalize()
    text = ",".join(f"{v:.4f}" for v in origin) + ";" + ",".join(f"{v:.4f}" for v in toward)
    return Command("aim", value=1.0, text=text, source="mouse")
