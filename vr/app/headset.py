"""The patient in a headset as the frame's input source: head, controllers, ratings, recenter.

``HeadsetSource.poll`` runs in the frame loop's poll task (sort -35): it asks the backend for the
head and controllers located at this frame's predicted display time and returns one
``FrameInputs``: while a rating is asked, the gaze and the controllers' rays, sticks and triggers
(the session's rating panel decides the answer), else the controllers as the game's aim. Commands raised by the headset itself (pause when the session
is no longer shown) travel with it, so they reach the record like any other command.
"""

from __future__ import annotations

import math

from vr.sim.rating_panel import head_ray
from vr.render.rating_panel import HandsView
from vr.sim import FrameInputs, HeadPose, WorldState
from vr.sim.types import Pointer


class HeadsetSource:
    """Reads an ``OpenXRBackend``; draws the controllers in the scene, buzzes them as the panel says."""

    def __init__(self, backend, start: HeadPose, keys=None) -> None:
        """``keys``: the clinician's keys on the mirror window (a ``ClinicianKeys``), if there is one."""
        self.backend = backend
        self.keys = keys
        self.head = start
        self.hands = HandsView(backend.base.render)
        self._buzzed: dict[str, int] = {}   # the panel's counters already felt (``RatingPanelState``)
        self._answered = 0
        self._menu_down = {"left": False, "right": False}
        self.recenters = 0

    def poll(self, world: WorldState | None, dt_s: float) -> FrameInputs:
        head, controllers = self.backend.track()
        if head is not None:
            self.head = head
        poses = {hand: self.backend.controller_world(state) for hand, state in controllers.items()}
        for hand, state in controllers.items():
            if state.menu and not self._menu_down.get(hand, False):
                self.backend.recenter()  # the next tracked frame puts the patient back at their place
                self.recenters += 1
            self._menu_down[hand] = state.menu
        pointers = []   # controller rays in the scene's frame (the game aims with these)
        for hand, state in controllers.items():
            pose = poses.get(hand)
            if pose is None:
                continue
            forward = _forward(pose.quat_xyzw)
            pointers.append(Pointer(pose.position_m, forward, state.thumbstick[0], state.trigger, hand))
        self._feel(world)
        game = world.game if world is not None else None
        prompt = world.rating_prompt if world is not None else None
        self.hands.update(poses, show_rays=prompt is not None)
        commands = tuple(self.backend.commands)
        self.backend.commands.clear()
        gaze, hands = None, ()
        if prompt is not None:
            # Rays in the session's frame: a distraction session's is the glide's seat, where the panel
            # hangs (placed in the scene, the glide's 2 m of easing to a stop would carry the patient past it).
            seat = (game.rig_position_m, game.rig_yaw_deg) if game is not None else ((0.0, 0.0, 0.0), 0.0)
            gaze = Pointer(*head_ray(self.head))
            hands = tuple(_to_seat(p, *seat) for p in pointers)
        elif game is not None:
            commands += tuple(aim_commands(pointers))
        ratings: tuple = ()
        if self.keys is not None:
            keyed, keyed_ratings = self.keys.drain(world)
            commands, ratings = commands + keyed, ratings + keyed_ratings
        return FrameInputs(self.head, commands, ratings, gaze=gaze, hands=hands)

    def _feel(self, world: WorldState | None) -> None:
        """Buzz a hand for each move of the marker under it, harder for a recorded answer."""
        panel = world.rating_panel if world is not None else None
        if panel is None:
            return
        answered = panel.answers > self._answered
        self._answered = panel.answers
        for hand, count in panel.buzzes:
            if count > self._buzzed.get(hand, 0):
                self._buzzed[hand] = count
                self.backend.pulse(hand, 0.15 if answered else 0.04, 0.7 if answered else 0.3)

    def destroy(self) -> None:
        self.hands.destroy()


def _to_seat(p: Pointer, rig_m: tuple[float, float, float], rig_yaw_deg: float) -> Pointer:
    """A ray in the scene's frame, seen from the glide's seat (at ``rig_m``, turned ``rig_yaw_deg``)."""
    c, s = math.cos(math.radians(rig_yaw_deg)), math.sin(math.radians(rig_yaw_deg))
    x, y, z = (p.origin[i] - rig_m[i] for i in range(3))
    dx, dy, dz = p.direction
    return Pointer((c * x + s * y, -s * x + c * y, z), (c * dx + s * dy, -s * dx + c * dy, dz), p.stick_x, p.trigger,
                   p.hand, p.source)


def _forward(quat_xyzw: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """The +Y axis (Panda3D's forward) of a rotation given as a quaternion."""
    x, y, z, w = quat_xyzw
    f = (2 * (x * y - z * w), 1 - 2 * (x * x + z * z), 2 * (y * z + x * w))
    n = math.sqrt(sum(v * v for v in f)) or 1.0
    return (f[0] / n, f[1] / n, f[2] / n)


def aim_commands(pointers: list[Pointer]) -> list:
    """Controller rays for the distraction game (scene frame), the trigger as a throw."""
    from vr.sim import Command

    out = []
    for p in pointers:
        text = ",".join(f"{v:.4f}" for v in p.origin) + ";" + ",".join(f"{v:.4f}" for v in p.direction)
        out.append(Command("aim", value=1.0 if p.trigger >= 0.7 else 0.0, text=text, source=f"controller_{p.hand}"))
    return out
