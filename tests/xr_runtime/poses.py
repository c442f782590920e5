"""Rigid transforms in the OpenXR convention: metres, +Y up, -Z forward, right-handed.

A :class:`Pose` maps points of a child frame into its parent frame: first
rotate by ``orientation`` (unit quaternion x, y, z, w), then translate by
``position``.  ``a.compose(b)`` is the pose of ``b``'s frame in ``a``'s parent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import xr

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

IDENTITY_QUAT: Quat = (0.0, 0.0, 0.0, 1.0)


def quat_multiply(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quat_conjugate(q: Quat) -> Quat:
    """Inverse rotation of a unit quaternion."""
    return (-q[0], -q[1], -q[2], q[3])


def quat_normalize(q: Quat) -> Quat:
    """``q`` scaled to unit length (identity for a zero quaternion)."""
    norm = math.sqrt(sum(c * c for c in q))
    if norm < 1e-12:
        return IDENTITY_QUAT
    return (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm)


def rotate(q: Quat, v: Vec3) -> Vec3:
    """Vector ``v`` rotated by unit quaternion ``q``."""
    x, y, z, _ = quat_multiply(quat_multiply(q, (v[0], v[1], v[2], 0.0)), quat_conjugate(q))
    return (x, y, z)


def yaw_quat(yaw_rad: float) -> Quat:
    """Rotation about +Y by ``yaw_rad`` radians (positive turns -Z towards -X, i.e. to the left)."""
    return (0.0, math.sin(yaw_rad / 2.0), 0.0, math.cos(yaw_rad / 2.0))


@dataclass(frozen=True)
class Pose:
    """Position (metres) and orientation of a child frame in its parent frame."""

    position: Vec3 = (0.0, 0.0, 0.0)
    orientation: Quat = IDENTITY_QUAT

    def compose(self, child: Pose) -> Pose:
        """The pose of ``child`` (given relative to this frame) in this frame's parent."""
        offset = rotate(self.orientation, child.position)
        return Pose(
            (self.position[0] + offset[0], self.position[1] + offset[1], self.position[2] + offset[2]),
            quat_normalize(quat_multiply(self.orientation, child.orientation)),
        )

    def inverse(self) -> Pose:
        """The parent frame's pose expressed in this frame."""
        inv = quat_conjugate(self.orientation)
        p = rotate(inv, self.position)
        return Pose((-p[0], -p[1], -p[2]), inv)

    def relative_to(self, base: Pose) -> Pose:
        """This pose expressed in ``base``'s frame (both given in the same parent)."""
        return base.inverse().compose(self)

    @staticmethod
    def from_xr(posef: xr.Posef) -> Pose:
        """Convert an ``xr.Posef``."""
        o, p = posef.orientation, posef.position
        return Pose((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))

    def write_to(self, posef: xr.Posef) -> None:
        """Store into an ``xr.Posef`` in place."""
        posef.position.x, posef.position.y, posef.position.z = self.position
        o = posef.orientation
        o.x, o.y, o.z, o.w = self.orientation


def as_pose(value: Any) -> Pose:
    """A :class:`Pose` from a Pose or a (position (x, y, z), quaternion (x, y, z, w)) pair."""
    if isinstance(value, Pose):
        return value
    position, orientation = value
    x, y, z = position
    qx, qy, qz, qw = orientation
    return Pose((float(x), float(y), float(z)), (float(qx), float(qy), float(qz), float(qw)))


def is_unit(q: Quat, tolerance: float = 1e-3) -> bool:
    """Whether ``q`` has unit length within ``tolerance`` (the spec rejects others)."""
    return abs(math.sqrt(sum(c * c for c in q)) - 1.0) <= tolerance
