"""Pure math between OpenXR's frame and Panda3D's, with no OpenXR or Panda3D import.

Conventions, stated once:

- OpenXR: right-handed, metres, +X right, +Y up, -Z forward. Quaternions as (x, y, z, w).
- Panda3D and the session: right-handed, metres, +X right, +Y forward, +Z up. Headings as
  Panda3D's HPR in degrees: H about +Z (0 = facing +Y, positive turns left), then P about +X
  (positive looks up), then R about +Y (positive tilts the right ear down).
- A field of view is OpenXR's four signed angles in radians: ``left`` and ``down`` negative,
  ``right`` and ``up`` positive for a view that contains its own axis.

The change of frame is a proper rotation of +90 degrees about X: a point ``(x, y, z)`` in OpenXR
is ``(x, -z, y)`` in Panda3D. Rotations carry over by conjugation, which for a quaternion means
rotating its vector part the same way: ``(x, y, z, w)`` becomes ``(x, -z, y, w)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# OpenXR -> Panda3D: p = XR_TO_PANDA @ x.
XR_TO_PANDA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Fov:
    """OpenXR's field of view of one eye: signed angles from the view axis, radians."""

    left: float
    right: float
    up: float
    down: float

    @property
    def horizontal_deg(self) -> float:
        return math.degrees(self.right - self.left)

    @property
    def vertical_deg(self) -> float:
        return math.degrees(self.up - self.down)


@dataclass(frozen=True)
class Pose:
    """A rigid pose in Panda3D's frame: position (metres) and unit quaternion (x, y, z, w)."""

    position_m: tuple[float, float, float]
    quat_xyzw: tuple[float, float, float, float]

    def matrix(self) -> NDArray[np.float64]:
        """The 4x4 column-vector transform (local -> parent)."""
        m = np.eye(4)
        m[:3, :3] = quat_to_matrix(self.quat_xyzw)
        m[:3, 3] = self.position_m
        return m

    @staticmethod
    def from_matrix(m: NDArray[np.float64]) -> Pose:
        return Pose(tuple(float(v) for v in m[:3, 3]), matrix_to_quat(m[:3, :3]))


def position_to_panda(p_xr: ArrayLike) -> tuple[float, float, float]:
    """An OpenXR position (metres) in Panda3D's frame."""
    x, y, z = (float(v) for v in p_xr)
    return (x, -z, y)


def position_to_xr(p_panda: ArrayLike) -> tuple[float, float, float]:
    """A Panda3D position (metres) in OpenXR's frame (the inverse of ``position_to_panda``)."""
    x, y, z = (float(v) for v in p_panda)
    return (x, z, -y)


def quat_to_panda(q_xr: ArrayLike) -> tuple[float, float, float, float]:
    """An OpenXR orientation quaternion (x, y, z, w) as the same rotation in Panda3D's frame."""
    x, y, z, w = (float(v) for v in q_xr)
    return (x, -z, y, w)


def quat_to_xr(q_panda: ArrayLike) -> tuple[float, float, float, float]:
    x, y, z, w = (float(v) for v in q_panda)
    return (x, z, -y, w)


def pose_to_panda(position_xr: ArrayLike, quat_xr: ArrayLike) -> Pose:
    """An OpenXR pose as a ``Pose`` in Panda3D's frame, with the quaternion normalised."""
    q = np.asarray(quat_to_panda(quat_xr))
    n = float(np.linalg.norm(q))
    q = q / n if n > 1e-9 else np.array([0.0, 0.0, 0.0, 1.0])
    return Pose(position_to_panda(position_xr), tuple(float(v) for v in q))


def quat_to_matrix(q: ArrayLike) -> NDArray[np.float64]:
    """3x3 rotation matrix (column vectors) of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_quat(m: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """The unit quaternion (x, y, z, w) of a 3x3 rotation matrix, with w >= 0."""
    t = float(m[0, 0] + m[1, 1] + m[2, 2])
    if t > 0.0:
        s = math.sqrt(t + 1.0) * 2.0
        q = ((m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2.0
        q = (0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s)
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2.0
        q = ((m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s)
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2.0
        q = ((m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s)
    arr = np.asarray(q, dtype=float)
    arr /= np.linalg.norm(arr)
    if arr[3] < 0.0:
        arr = -arr
    return tuple(float(v) for v in arr)


def hpr_from_matrix(m: NDArray[np.float64]) -> tuple[float, float, float]:
    """Panda3D heading, pitch, roll (degrees) of a 3x3 rotation in Panda3D's frame.

    With R = Rz(h) Rx(p) Ry(r): forward (0,1,0) maps to (-sin h cos p, cos h cos p, sin p),
    the right axis has z = -cos p sin r and the up axis z = cos p cos r.
    """
    fwd = m[:, 1]
    h = math.degrees(math.atan2(-fwd[0], fwd[1]))
    p = math.degrees(math.asin(max(-1.0, min(1.0, float(fwd[2])))))
    r = math.degrees(math.atan2(-float(m[2, 0]), float(m[2, 2])))
    return h, p, r


def matrix_from_hpr(h_deg: float, p_deg: float, r_deg: float) -> NDArray[np.float64]:
    """The 3x3 rotation Rz(h) Rx(p) Ry(r) in Panda3D's frame (inverse of ``hpr_from_matrix``)."""
    h, p, r = (math.radians(v) for v in (h_deg, p_deg, r_deg))
    ch, sh, cp, sp, cr, sr = math.cos(h), math.sin(h), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    rz = np.array([[ch, -sh, 0.0], [sh, ch, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    ry = np.array([[cr, 0.0, sr], [0.0, 1.0, 0.0], [-sr, 0.0, cr]])
    return rz @ rx @ ry


def film_from_fov(fov: Fov) -> tuple[tuple[float, float], tuple[float, float]]:
    """Panda3D lens film size and offset for ``fov`` with a focal length of 1.

    At focal length 1 the film plane sits one unit ahead, so film coordinates are the tangents
    of the angles; an asymmetric view is a film of width tan(right) - tan(left) shifted by the
    mean of the two tangents.
    """
    tl, tr, tu, td = math.tan(fov.left), math.tan(fov.right), math.tan(fov.up), math.tan(fov.down)
    return (tr - tl, tu - td), ((tr + tl) / 2.0, (tu + td) / 2.0)


def projection_matrix(fov: Fov, near_m: float, far_m: float) -> NDArray[np.float64]:
    """OpenGL clip-space projection (column vectors, OpenXR view space: -Z forward) for ``fov``.

    Maps the frustum edges to x, y = +-1 and the near and far planes to z = -1 and +1.
    """
    tl, tr, tu, td = math.tan(fov.left), math.tan(fov.right), math.tan(fov.up), math.tan(fov.down)
    w, h = tr - tl, tu - td
    m = np.zeros((4, 4))
    m[0, 0] = 2.0 / w
    m[0, 2] = (tr + tl) / w
    m[1, 1] = 2.0 / h
    m[1, 2] = (tu + td) / h
    m[2, 2] = -(far_m + near_m) / (far_m - near_m)
    m[2, 3] = -2.0 * far_m * near_m / (far_m - near_m)
    m[3, 2] = -1.0
    return m


def relative(parent: Pose, child: Pose) -> Pose:
    """``child`` expressed in ``parent``'s local frame (both given in one common frame)."""
    return Pose.from_matrix(np.linalg.inv(parent.matrix()) @ child.matrix())


def mean_pose(a: Pose, b: Pose) -> Pose:
    """The pose halfway between two nearby poses (the head between two eyes)."""
    qa, qb = np.asarray(a.quat_xyzw), np.asarray(b.quat_xyzw)
    if float(qa @ qb) < 0.0:
        qb = -qb
    q = qa + qb
    q /= np.linalg.norm(q)
    p = (np.asarray(a.position_m) + np.asarray(b.position_m)) / 2.0
    return Pose(tuple(float(v) for v in p), tuple(float(v) for v in q))


@dataclass(frozen=True)
class Anchor:
    """Where the tracking space sits in the scene: a turn about Z and a shift, Panda3D frame.

    ``world = Rz(yaw_deg) @ tracked + offset_m``. Recentering picks the anchor that puts the
    patient's current head at the scene's place for the patient, facing the scene's direction.
    """

    yaw_deg: float = 0.0
    offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def matrix(self) -> NDArray[np.float64]:
        m = np.eye(4)
        m[:3, :3] = matrix_from_hpr(self.yaw_deg, 0.0, 0.0)
        m[:3, 3] = self.offset_m
        return m

    def apply(self, pose: Pose) -> Pose:
        return Pose.from_matrix(self.matrix() @ pose.matrix())

    @staticmethod
    def recenter(tracked_head: Pose, place_m: tuple[float, float, float], yaw_deg: float,
                 floor_offset_m: float = 0.0) -> Anchor:
        """The anchor that maps ``tracked_head`` onto ``place_m`` (x, y) facing ``yaw_deg``.

        Height is kept as tracked (a seated patient sees from seated height) plus
        ``floor_offset_m``, which is non-zero only for a space whose origin is not the floor.
        """
        head_yaw, _, _ = hpr_from_matrix(quat_to_matrix(tracked_head.quat_xyzw))
        turn = yaw_deg - head_yaw
        rot = matrix_from_hpr(turn, 0.0, 0.0)
        p = rot @ np.asarray(tracked_head.position_m)
        offset = (place_m[0] - p[0], place_m[1] - p[1], floor_offset_m)
        return Anchor(turn, tuple(float(v) for v in offset))
