"""What the frame loop asks of a display backend: one protocol, every ability declared.

A backend says what it can do through these methods instead of being probed for attributes: a
screen backend answers with the neutral default (no device pacing, no device statistics, no
rig, the window's camera as the mirror's eye) and the headset answers with its own.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vr.sim import HeadPose


@runtime_checkable
class DisplayBackend(Protocol):
    """A display (and, for a headset, tracking) backend as the frame loop uses it."""

    base: Any                     # the ShowBase the backend started
    alerts: deque[str]            # messages for the clinician (panel and record), drained each frame
    end_reason: str               # set when the device ends the run (e.g. the headset session was lost)

    @property
    def overlay(self) -> Any:
        """The node 2D panels attach to."""

    def begin_frame(self) -> float | None:
        """Start a frame; the device's own step in seconds where it paces the loop, else None."""

    def end_frame(self) -> None:
        """Finish a frame (a headset submits what it drew)."""

    def frame_stats(self) -> dict[str, Any]:
        """Device telemetry merged into each second's ``frame_stats`` event ({} for none)."""

    def place_camera(self, head: HeadPose) -> None:
        """Put the eye(s) at the patient's head."""

    def set_rig(self, position_m: tuple[float, float, float], yaw_deg: float) -> None:
        """Carry the tracking space along (the distraction glide); no-op where the camera is the head."""

    def set_clear_color(self, rgba: tuple[float, float, float, float]) -> None:
        """The sky's colour."""

    def screenshot(self, path: Path) -> None:
        """Write what the patient sees to ``path`` (PNG)."""

    def mirror_source(self) -> tuple[Any, Any, tuple[int, int]] | None:
        """The patient's eye camera, its lens and its picture size for the console's mirror, or None
        for the window's own camera."""

    def listener_node(self) -> Any:
        """The node speech is heard from (the patient's head)."""

    def describe(self) -> dict[str, Any]:
        """What the record's ``session.json`` says about the display (renderer, eye sizes, ...)."""

    def close(self) -> None:
        """Let go of the window, the device and Panda3D."""
