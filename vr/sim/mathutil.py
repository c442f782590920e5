"""Angle and direction helpers in the session's frame.

Conventions (Panda3D's, used everywhere in ``vr.sim``): metres; Z up; +Y forward. A heading
(``yaw_deg``) turns counter-clockwise seen from above, 0 faces +Y and 90 faces -X; pitch is
positive looking up. All functions accept numpy arrays and broadcast.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F = NDArray[np.float64]


def wrap_deg(angle_deg: ArrayLike) -> F:
    """Wrap angles into [-180, 180)."""
    return (np.asarray(angle_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0


def forward_xy(yaw_deg: ArrayLike) -> F:
    """Unit floor-plane direction a heading faces, shape (..., 2)."""
    yaw = np.radians(yaw_deg)
    return np.stack([-np.sin(yaw), np.cos(yaw)], axis=-1)


def direction(yaw_deg: ArrayLike, pitch_deg: ArrayLike) -> F:
    """Unit 3-D view direction for a heading and pitch, shape (..., 3)."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    cp = np.cos(pitch)
    out = np.empty(np.broadcast(yaw, pitch).shape + (3,))
    out[..., 0] = -np.sin(yaw) * cp
    out[..., 1] = np.cos(yaw) * cp
    out[..., 2] = np.sin(pitch)
    return out


def yaw_pitch_to(delta: ArrayLike) -> tuple[F, F]:
    """Heading and pitch (degrees) that look along ``delta`` (..., 3)."""
    d = np.asarray(delta, dtype=np.float64)
    yaw = np.degrees(np.arctan2(-d[..., 0], d[..., 1]))
    pitch = np.degrees(np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1])))
    return yaw, pitch


def approach_deg(current_deg: ArrayLike, target_deg: ArrayLike, max_step_deg: ArrayLike) -> F:
    """Turn from ``current_deg`` toward ``target_deg`` the short way, by at most ``max_step_deg``."""
    cur = np.asarray(current_deg, dtype=np.float64)
    delta = wrap_deg(np.asarray(target_deg, dtype=np.float64) - cur)
    return wrap_deg(cur + np.clip(delta, -max_step_deg, max_step_deg))
