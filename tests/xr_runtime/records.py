"""Plain records the test runtime exposes to tests: controller input and submitted frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .poses import IDENTITY_QUAT, Pose, Quat, Vec3

Fov = tuple[float, float, float, float]
"""Field of view as (angle_left, angle_right, angle_up, angle_down), radians; left/down negative."""

Rect = tuple[int, int, int, int]
"""Image rectangle as (x, y, width, height) in swapchain pixels; GL convention, y counted from the bottom row."""


@dataclass
class ControllerState:
    """What one physical controller reports.  Pose is in STAGE space (metres, quaternion x, y, z, w).

    ``select`` stands for the primary button (A/X, select, trackpad or thumbstick click).
    An inactive controller (switched off, out of tracking) makes every action bound to it inactive.
    """

    active: bool = True
    position: Vec3 = (0.0, 1.2, -0.3)
    orientation: Quat = IDENTITY_QUAT
    trigger: float = 0.0
    squeeze: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    menu: bool = False
    select: bool = False

    @property
    def pose(self) -> Pose:
        """Grip/aim pose in STAGE space."""
        return Pose(tuple(self.position), tuple(self.orientation))  # type: ignore[arg-type]


@dataclass(frozen=True)
class InstanceInfo:
    """What the application declared in xrCreateInstance."""

    application_name: str
    application_version: int
    engine_name: str
    engine_version: int
    api_version: tuple[int, int, int]
    extensions: tuple[str, ...]


@dataclass
class SubmittedView:
    """One eye of a projection layer, as the application submitted it.

    ``pose`` and ``fov`` are what the application passed (pose in the layer's space).
    ``pixels`` is uint8 RGBA, shape (height, width, 4), row 0 = top of the image,
    cropped to ``image_rect``; ``None`` unless ``runtime.capture`` was set.
    """

    pose: Pose
    fov: Fov
    image_rect: Rect
    swapchain: int
    image_array_index: int
    pixels: np.ndarray | None = None


@dataclass
class Submission:
    """One projection layer accepted by xrEndFrame.

    ``frame_index`` counts xrWaitFrame calls since xrBeginSession (0 = first frame);
    ``display_time`` is in nanoseconds (XrTime); ``space`` names the layer's space
    ("VIEW", "LOCAL", "STAGE" or "ACTION") and ``space_pose`` its pose offset.
    """

    frame_index: int
    display_time: int
    space: str
    space_pose: Pose
    layer_flags: int
    views: tuple[SubmittedView, ...] = field(default_factory=tuple)
