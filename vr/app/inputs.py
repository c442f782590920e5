"""Where a frame's inputs come from: the synthetic patient (headless) or keyboard and mouse (desktop).

Each source returns the head pose and whatever ratings or commands the person gave this frame;
the frame loop adds commands queued from elsewhere (a console, a test) and hands one
``FrameInputs`` to the session. On the desktop, the patient answers a rating prompt on the same
panel as in the headset (``vr.sim.rating_panel``): the screen centre points, a click answers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from vr.sim.rating_panel import RatingInput, mouse_pointers
from vr.sim import Command, FrameInputs, HeadPose, Rating, SyntheticPatient, WorldState

if TYPE_CHECKING:
    from panda3d.core import NodePath

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
        from vr.render.rating_panel import RatingPanelView

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
        self.rating = RatingInput(still_gaze_waits=True)  # the panel opens under a still mouse
        # The panel is placed from the head the session is given: in a distraction session that is
        # the glide's frame, so the panel hangs under a node that rides with the glide.
        self.rig = base.render.attachNewNode("rating-rig")
        self.panel = RatingPanelView(self.rig, hint=RatingPanelView.DESKTOP_HINT)
        self.reticle = _reticle(base.aspect2d)
        self._clicks = 0
        self._answered_at: float | None = None

    def _click(self) -> None:
        """The left mouse button: the rating's trigger while a panel is up, else a throw (distraction)."""
        if self.rating.scale is not None:
            self._clicks += 1
        elif self.distraction:
            self.keys.pending.append(tap_command(self.base))

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
        answer = self._rate(world, ratings, dt_s)
        return FrameInputs(self.head, commands, ratings + ((answer,) if answer is not None else ()))

    def _rate(self, world: WorldState | None, keyed: tuple[Rating, ...], dt_s: float) -> Rating | None:
        """Feed the rating panel one frame: the head ray as gaze and pointer, this frame's clicks.
        ``keyed``: the clinician's ratings this frame; one on the asked scale answers the prompt."""
        prompt = world.rating_prompt if world is not None else None
        if world is not None and any(r.scale == prompt for r in keyed):
            self._answered_at = world.t_s
        if world is not None and world.t_s == self._answered_at:
            prompt = None  # no step has run since the answer: the prompt it cleared is still shown
        game = world.game if world is not None else None
        if game is not None:
            self.rig.setPosHpr(*game.rig_position_m, game.rig_yaw_deg, 0.0, 0.0)
        else:
            self.rig.setPosHpr(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        clicked, self._clicks = self._clicks > 0 and prompt is not None, 0
        gaze, hands = mouse_pointers(self.rating, self.head, clicked)
        if clicked and not hands and self.hud is not None:
            self.hud.show_alert("Put the centre of the view on a number, then click", 3.0)
        answer = self.rating.update(prompt, self.head, gaze, hands, dt_s)
        if answer is not None and world is not None:
            self._answered_at = world.t_s
        self.panel.update(self.rating)
        # The distraction game draws its own reticle at the centre of the view.
        if self.rating.scale is not None and game is None:
            self.reticle.show()
        else:
            self.reticle.hide()
        return answer

    def destroy(self) -> None:
        self.panel.destroy()
        self.rig.removeNode()
        self.reticle.removeNode()


def _reticle(aspect2d: NodePath) -> NodePath:
    """A small cross at the centre of the window (the head ray), dark-edged so it reads on any scene."""
    from panda3d.core import LineSegs

    root = aspect2d.attachNewNode("rating-reticle")
    for thickness, color in ((5.0, (0.05, 0.08, 0.12, 0.85)), (2.0, (0.95, 0.96, 1.0, 1.0))):
        lines = LineSegs("reticle")
        lines.setThickness(thickness)
        lines.setColor(*color)
        for a, b in (((-0.04, 0, 0), (-0.012, 0, 0)), ((0.012, 0, 0), (0.04, 0, 0)),
                     ((0, 0, -0.04), (0, 0, -0.012)), ((0, 0, 0.012), (0, 0, 0.04))):
            lines.moveTo(*a)
            lines.drawTo(*b)
        root.attachNewNode(lines.create())
    root.hide()
    return root


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
