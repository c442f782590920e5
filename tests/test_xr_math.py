"""The frame change between OpenXR and Panda3D, projections from a field of view, eye offsets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vr.backends.xrmath import (
    XR_TO_PANDA,
    Anchor,
    Fov,
    Pose,
    film_from_fov,
    hpr_from_matrix,
    matrix_from_hpr,
    matrix_to_quat,
    mean_pose,
    pose_to_panda,
    position_to_panda,
    position_to_xr,
    projection_matrix,
    quat_to_matrix,
    quat_to_panda,
    quat_to_xr,
    relative,
)

RNG = np.random.default_rng(7)


def random_quats(n: int) -> np.ndarray:
    q = RNG.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_axes_map_as_documented():
    # OpenXR forward (-Z) is Panda's +Y, OpenXR up (+Y) is Panda's +Z, right stays right.
    assert position_to_panda((0, 0, -1)) == (0, 1, 0)
    assert position_to_panda((0, 1, 0)) == (0, 0, 1)
    assert position_to_panda((1, 0, 0)) == (1, 0, 0)
    assert np.isclose(np.linalg.det(XR_TO_PANDA), 1.0)  # a rotation, not a mirror
    for p in RNG.normal(size=(20, 3)):
        assert np.allclose(position_to_xr(position_to_panda(p)), p)


def test_quaternion_conversion_is_conjugation_by_the_frame_change():
    for q in random_quats(200):
        expected = XR_TO_PANDA @ quat_to_matrix(q) @ XR_TO_PANDA.T
        assert np.allclose(quat_to_matrix(quat_to_panda(q)), expected, atol=1e-12)
        assert np.allclose(quat_to_xr(quat_to_panda(q)), q)


def test_a_head_turned_left_in_openxr_has_a_positive_panda_heading():
    # 30 degrees about OpenXR's +Y (up) turns the view to the left.
    half = math.radians(30) / 2
    pose = pose_to_panda((0, 1.6, 0), (0, math.sin(half), 0, math.cos(half)))
    h, p, r = hpr_from_matrix(quat_to_matrix(pose.quat_xyzw))
    assert (h, p, r) == pytest.approx((30.0, 0.0, 0.0), abs=1e-9)
    assert pose.position_m == (0, 0, 1.6)
    # Looking up 20 degrees: about OpenXR's +X.
    half = math.radians(20) / 2
    pose = pose_to_panda((0, 0, 0), (math.sin(half), 0, 0, math.cos(half)))
    assert hpr_from_matrix(quat_to_matrix(pose.quat_xyzw)) == pytest.approx((0.0, 20.0, 0.0), abs=1e-9)


def test_hpr_matches_panda3d_both_ways():
    from panda3d.core import LQuaternion, LVecBase3

    for _ in range(200):
        h, p, r = RNG.uniform(-179, 179), RNG.uniform(-85, 85), RNG.uniform(-179, 179)
        quat = LQuaternion()
        quat.setHpr(LVecBase3(h, p, r))
        ours = matrix_from_hpr(h, p, r)
        theirs = quat_to_matrix((quat.getI(), quat.getJ(), quat.getK(), quat.getR()))
        assert np.allclose(ours, theirs, atol=1e-5)
        assert hpr_from_matrix(ours) == pytest.approx((h, p, r), abs=1e-6)


def test_matrix_to_quat_round_trips_through_every_branch():
    for q in list(random_quats(300)) + [np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0]), np.array([0, 0, 1.0, 0])]:
        back = np.asarray(matrix_to_quat(quat_to_matrix(q)))
        assert np.isclose(abs(back @ q), 1.0)


def test_projection_matrix_matches_analytic_values():
    fov = Fov(left=-0.95, right=0.80, up=0.85, down=-0.90)
    near, far = 0.05, 200.0
    m = projection_matrix(fov, near, far)
    tl, tr, tu, td = (math.tan(a) for a in (fov.left, fov.right, fov.up, fov.down))
    assert m[0, 0] == pytest.approx(2 / (tr - tl))
    assert m[0, 2] == pytest.approx((tr + tl) / (tr - tl))
    assert m[1, 1] == pytest.approx(2 / (tu - td))
    assert m[2, 3] == pytest.approx(-2 * far * near / (far - near))

    def ndc(point):
        clip = m @ np.array([*point, 1.0])
        return clip[:3] / clip[3]

    depth = 3.0  # a point along each frustum edge, 3 m ahead (-Z in OpenXR view space)
    assert ndc((tl * depth, 0, -depth))[0] == pytest.approx(-1.0)
    assert ndc((tr * depth, 0, -depth))[0] == pytest.approx(1.0)
    assert ndc((0, tu * depth, -depth))[1] == pytest.approx(1.0)
    assert ndc((0, td * depth, -depth))[1] == pytest.approx(-1.0)
    assert ndc((0, 0, -near))[2] == pytest.approx(-1.0)
    assert ndc((0, 0, -far))[2] == pytest.approx(1.0)
    # A symmetric fov has no off-centre terms.
    sym = projection_matrix(Fov(-0.8, 0.8, 0.7, -0.7), near, far)
    assert sym[0, 2] == 0.0 and sym[1, 2] == 0.0


def test_panda_lens_built_from_the_film_sees_the_fov_edges_at_the_film_edges():
    from panda3d.core import PerspectiveLens, Point2, Point3

    fov = Fov(left=-0.95, right=0.80, up=0.85, down=-0.90)
    size, offset = film_from_fov(fov)
    lens = PerspectiveLens()
    lens.setFocalLength(1.0)
    lens.setFilmSize(*size)
    lens.setFilmOffset(*offset)
    out = Point2()
    for direction, expected in (((math.tan(fov.left), 1, 0), (-1, 0)), ((math.tan(fov.right), 1, 0), (1, 0)),
                                ((0, 1, math.tan(fov.up)), (0, 1)), ((0, 1, math.tan(fov.down)), (0, -1))):
        point = Point3(*(2.5 * v for v in direction))  # Panda3D camera space: +Y ahead
        assert lens.project(point, out)
        got = (out.x, out.y)
        for g, e, axis in zip(got, expected, (0, 1)):
            if e != 0:
                assert g == pytest.approx(e, abs=1e-5), (direction, axis)


def test_eye_offsets_from_two_located_views():
    ipd = 0.064
    half = math.radians(25) / 2
    q_xr = (0, math.sin(half), 0, math.cos(half))  # head turned 25 degrees left
    rot = quat_to_matrix(q_xr)
    head_xr = np.array([0.3, 1.7, -0.2])
    left_xr = head_xr + rot @ np.array([-ipd / 2, 0, 0])
    right_xr = head_xr + rot @ np.array([ipd / 2, 0, 0])
    left, right = pose_to_panda(left_xr, q_xr), pose_to_panda(right_xr, q_xr)
    head = mean_pose(left, right)
    assert np.allclose(head.position_m, position_to_panda(head_xr))
    for eye, sign in ((left, -1), (right, 1)):
        local = relative(head, eye)
        assert np.allclose(local.position_m, (sign * ipd / 2, 0, 0), atol=1e-12)
        assert np.isclose(abs(np.asarray(local.quat_xyzw) @ np.array([0, 0, 0, 1.0])), 1.0)


def test_recentering_puts_the_head_at_the_patients_place_facing_the_scene():
    half = math.radians(70) / 2
    tracked = pose_to_panda((1.2, 1.1, 0.4), (0, math.sin(half), 0, math.cos(half)))  # seated, turned 70 left
    anchor = Anchor.recenter(tracked, place_m=(3.0, -4.0, 1.25), yaw_deg=180.0)
    world = anchor.apply(tracked)
    assert world.position_m[0] == pytest.approx(3.0)
    assert world.position_m[1] == pytest.approx(-4.0)
    assert world.position_m[2] == pytest.approx(1.1)  # the patient's own height is kept
    h, p, r = hpr_from_matrix(quat_to_matrix(world.quat_xyzw))
    assert abs((h - 180.0 + 180) % 360 - 180) < 1e-9 and abs(p) < 1e-9
    # A LOCAL space (origin at the starting head) gets its floor offset.
    local = Anchor.recenter(pose_to_panda((0, 0, 0), (0, 0, 0, 1)), (0, 0, 0), 0.0, floor_offset_m=1.6)
    assert local.apply(pose_to_panda((0, 0.1, 0), (0, 0, 0, 1))).position_m[2] == pytest.approx(1.7)


def test_pose_matrix_round_trip():
    for q in random_quats(50):
        pose = Pose(tuple(RNG.normal(size=3)), tuple(q))
        back = Pose.from_matrix(pose.matrix())
        assert np.allclose(back.position_m, pose.position_m)
        assert np.isclose(abs(np.asarray(back.quat_xyzw) @ q), 1.0)
