"""Screen backends: an offscreen buffer (no display) or a desktop window, one camera at the head.

Both place Panda3D's camera at the patient's head every frame (session frame = Panda3D frame:
Z up, +Y forward, so no conversion is needed here; OpenXR's frame is converted in its own backend).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from vr.backends.panda import save_screenshot, start_showbase
from vr.sim import HeadPose

FOV_DEG = (90.0, 0.0)  # horizontal; vertical follows the window's aspect ratio
NEAR_M = 0.05


class ScreenBackend:
    """``kind`` 'offscreen' or 'desktop'. ``base`` is the ShowBase it started.

    ``pace_hz``: pace frames as a display refreshing at this rate would (as a headset runtime's
    ``xrWaitFrame`` does): each frame starts at its slot, a frame that overruns its slot misses
    the next ones, and ``frame_stats`` counts the missed slots. None: frames run as they come.
    """

    def __init__(self, kind: str, size: tuple[int, int] = (960, 540), title: str = "vr",
                 pace_hz: float | None = None) -> None:
        self.kind = kind
        self.pace_hz = pace_hz
        self._slot_s: float | None = None     # the next frame's slot (perf_counter seconds)
        self._missed = 0                      # slots missed since the last frame_stats
        self.missed_frames = 0                # slots missed in all
        self.base = start_showbase(kind, size, title)
        self.base.camLens.setFov(FOV_DEG[0])
        self.base.camLens.setNearFar(NEAR_M, 200.0)
        self.alerts: deque[str] = deque()   # a screen has nothing to report; the protocol asks
        self.end_reason = ""

    # A screen has no tracking rig; it paces frames only when asked to (``pace_hz``).
    def begin_frame(self) -> float | None:
        """Wait for this frame's slot; the time since the last frame's slot (None: not paced)."""
        if self.pace_hz is None:
            return None
        period = 1.0 / self.pace_hz
        now = time.perf_counter()
        if self._slot_s is None:
            self._slot_s = now
            return period
        slot = self._slot_s + period
        late = int((now - slot) / period) if now > slot else 0   # the last frame ran past these slots
        if late:
            self._missed += late
            self.missed_frames += late
            slot += late * period
        if slot > now:
            time.sleep(slot - now)   # the display's refresh: nothing to do until the slot
        self._slot_s = slot
        return period * (1 + late)

    def end_frame(self) -> None:
        pass

    def frame_stats(self) -> dict[str, Any]:
        if self.pace_hz is None:
            return {}
        missed, self._missed = self._missed, 0
        return {"missed_frames": missed, "refresh_hz": self.pace_hz}

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
