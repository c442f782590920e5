"""Screen backends: an offscreen buffer (no display) or a desktop window, one camera at the head.

Both place Panda3D's camera at the patient's head every frame (session frame = Panda3D frame:
Z up, +Y forward, so no conversion is needed here; OpenXR's frame is converted in its own backend).
"""

from __future__ import annotations

from pathlib import Path

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
