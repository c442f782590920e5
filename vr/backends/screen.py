"""Screen backends: an offscreen buffer (no display) or a desktop window, one camera at the head.

Both place Panda3D's camera at the patient's head every frame (session frame = Panda3D frame:
Z up, +Y forward, so no conversion is needed here; OpenXR's frame is converted in its own backend).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from vr.backends.panda import save_screenshot, start_showbase
from vr.sim import HeadPose

FOV_DEG = (90.0, 0.0)  # horizontal; vertical follows the window's aspect ratio
NEAR_M = 0.05


class ScreenBackend:
    """``kind`` 'offscreen' or 'desktop'. ``base`` is the ShowBase it started."""

    def __init__(self, kind: str, size: tuple[int, int] = (960, 540), title: str = "vr") -> None:
        self.kind = kind
        self.base = start_showbase(kind, size, title)
        self.base.camLens.setFov(FOV_DEG[0])
        self.base.camLens.setNearFar(NEAR_M, 200.0)
        self.alerts: deque[str] = deque()   # a screen has nothing to report; the protocol asks
        self.end_reason = ""

    # A screen neither paces frames nor has device telemetry or a tracking rig.
    def begin_frame(self) -> float | None:
        return None

    def end_frame(self) -> None:
        pass

    def frame_stats(self) -> dict[str, Any]:
        return {}

    def set_rig(self, position_m: tuple[float, float, float], yaw_deg: float) -> None:
        pass

    def mirror_source(self) -> None:
        return None   # the window's camera

    def listener_node(self):
        return self.base.camera

    def describe(self) -> dict[str, Any]:
        return {"renderer": self.base.win.getGsg().getDriverRenderer()}

    @property
    def overlay(self):
        return self.base.render2d

    def place_camera(self, head: HeadPose) -> None:
        self.base.camera.setPosHpr(*head.position_m, head.yaw_deg, head.pitch_deg, head.roll_deg)

    def set_clear_color(self, rgba: tuple[float, float, float, float]) -> None:
        self.base.win.setClearColor(rgba)

    def screenshot(self, path: Path) -> None:
        save_screenshot(self.base.win, path)

    def close(self) -> None:
        self.base.destroy()
