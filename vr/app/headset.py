"""The patient in a headset as the frame's input source: head, controllers, ratings, recenter.

``HeadsetSource.poll`` runs in the frame loop's poll task (sort -35): it asks the backend for the
head and controllers located at this frame's predicted display time, feeds the rating slider,
and returns one ``FrameInputs``. Commands raised by the headset itself (pause when the session
is no longer shown) travel with it, so they reach the record like any other command.
"""

from __future__ import annotations

import math

from vr.app.rating_input import Pointer, RatingInput, head_ray
from vr.render.rating_panel import HandsView, RatingPanelView
from vr.sim import FrameInputs, HeadPose, WorldState


class HeadsetSource:
    """Reads an ``OpenXRBackend``; draws the rating panel and the controllers in the scene."""

    def __init__(self, backend, start: HeadPose, keys=None) -> None:
        """``keys``: the clinician's keys on the mirror window (a ``ClinicianKeys``), if there is one."""
        self.backend = backend
        self.keys = keys
        self.head = start
        self.rating = RatingInput()
        self.panel = RatingPanelView(backend.base.render)
        self.hands = HandsView(backend.base.render)
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
        pointers = []
        for hand, state in controllers.items():
            pose = poses.get(hand)
            if pose is None:
                continue
            forward = _forward(pose.quat_xyzw)
            pointers.append(Pointer(pose.position_m, forward, state.thumbstick[0], state.trigger, hand))
        # The panel lives in the scene: place it from the head in the scene's frame (a distraction
        # session's inputs are in the glide's frame, its world state in the scene's).
        seen = world.head if (world is not None and world.game is not None) else self.head
        origin, direction = head_ray(seen)
        prompt = world.rating_prompt if world is not None else None
        rating = self.rating.update(prompt, seen, Pointer(origin, direction), pointers, dt_s)
        for hand in dict.fromkeys(self.rating.pulses):
            self.backend.pulse(hand, 0.04 if rating is None else 0.15, 0.3 if rating is None else 0.7)
        self.panel.update(self.rating)
        self.hands.update(poses, show_rays=self.rating.scale is not None)
        commands = tuple(self.backend.commands)
        self.backend.commands.clear()
        if world is not None and world.game is not None and prompt is None:
            commands += tuple(aim_commands(pointers))
        ratings = (rating,) if rating is not None else ()
        if self.keys is not None:
            keyed, keyed_ratings = self.keys.drain(world)
            commands, ratings = commands + keyed, ratings + keyed_ratings
        return FrameInputs(self.head, commands, ratings)

    def destroy(self) -> None:
        self.panel.destroy()
        self.hands.destroy()


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
