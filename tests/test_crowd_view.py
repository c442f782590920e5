"""The instanced crowd (vr.render.crowd_view), checked by offscreen pixels: humans drawn where their
joint matrices put them and nowhere else, seeds that look different and repeat exactly, a crowd in
a fixed number of draws whatever its size, levels of detail that switch with distance (with
hysteresis), and the assets loaded in well under a few seconds.

Poses here are stand-ins (every joint's matrix the body's own placement: a turn about Z and a
translation), so these tests check the renderer alone; the posing pass has its own tests."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grab_rgb, offscreen_or_skip

from vr.render import bodies
from vr.render import crowd_view as CV

SIZE = (320, 240)
FACE_UNITS = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "mouthSmileRight")


@pytest.fixture(scope="module")
def base():
    b = offscreen_or_skip(lambda: bodies.picture_studio(SIZE, "tests", far_m=80))
    yield b
    b.destroy()


@pytest.fixture(scope="module")
def library():
    return CV.CrowdLibrary(FACE_UNITS)


def crowd(base, library, seeds, kinds=None):
    seeds = np.asarray(seeds)
    kinds = kinds or [bodies.BODY_NAMES[int(s) % 2] for s in seeds]
    weights = np.stack([bodies.target_weights(bodies.shape_for_seed(int(s))) for s in seeds])
    return CV.CrowdView(base.render, library, kinds, seeds, weights, "office")


def stand(xy: np.ndarray, yaw_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """Skin matrices (N, J, 3, 4) standing each body at ``xy`` turned to face ``yaw_deg`` (0: +Y)."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    h = np.radians(np.broadcast_to(yaw_deg, len(xy)) + 180.0)
    m = np.zeros((len(xy), 104, 3, 4), np.float32)
    m[:, :, 0, 0], m[:, :, 0, 1] = np.cos(h)[:, None], -np.sin(h)[:, None]
    m[:, :, 1, 0], m[:, :, 1, 1] = np.sin(h)[:, None], np.cos(h)[:, None]
    m[:, :, 2, 2] = 1.0
    m[:, :, :2, 3] = xy[:, None, :]
    return m


def grab(base) -> np.ndarray:
    return grab_rgb(base).astype(int)


def look_from(base, pos, at, fov=60.0) -> None:
    base.camLens.setFov(fov * SIZE[0] / SIZE[1], fov)
    base.cam.setPos(*pos)
    base.cam.lookAt(*at)


def project(base, point) -> tuple[int, int] | None:
    from panda3d.core import Point2, Point3

    p = base.cam.getRelativePoint(base.render, Point3(*point))
    p2 = Point2()
    if not base.camLens.project(p, p2):
        return None
    return int((1 - p2.y) / 2 * SIZE[1]), int((p2.x + 1) / 2 * SIZE[0])


def figure(image: np.ndarray) -> np.ndarray:
    """Pixels that are not the studio's backdrop."""
    return (np.abs(image - np.array([41, 46, 54])) > 12).any(axis=2)


def test_the_assets_load_in_well_under_a_few_seconds(library):
    assert library.load_cpu_s < 3.0, (library.load_cpu_s, library.load_s)    # about 1 s here (wall time on an idle machine)
    for kind in library.kinds.values():
        near = [p for is_near, p, *_ in kind.draws if is_near]
        far = [p for is_near, p, *_ in kind.draws if not is_near]
        assert np.array_equal(near[0].positions[:13718], kind.asset.vertices)      # the baked skin, then copies
        assert len(near[0].faces) == 27140 and near[0].deltas.shape[1] == 10 + len(FACE_UNITS)
        assert 600 < len(far[0].faces) < 2000 and far[0].deltas.shape[1] == 10    # a decimated skin, shape only


def test_humans_stand_where_their_matrices_put_them_and_absent_ones_nowhere(base, library):
    xy = np.array([[-2.0, 6.0], [0.0, 8.0], [2.0, 6.0], [1.0, 10.0]])
    view = crowd(base, library, [5, 6, 7, 8])
    try:
        visible = np.array([True, True, False, True])
        view.update(stand(xy), None, visible, xy, (0.0, 0.0))
        look_from(base, (0, 0, 1.6), (0, 8, 1.0), fov=50)
        view.root.hide()
        empty = grab(base)
        view.root.show()
        image = (np.abs(grab(base) - empty) > 4).any(axis=2)     # dark clothes too
        for i, (x, y) in enumerate(xy):
            hits = []
            for z in (0.95, 1.1, 1.25):             # hips, belly, chest of a body centred on (x, y)
                r, c = project(base, (x, y, z))
                hits.append(image[r - 1:r + 2, c - 1:c + 2].all())
            if visible[i]:
                assert all(hits), (i, hits)
            else:
                r, c = project(base, (x, y, 0.9))
                assert not image[r - 6:r + 7, c - 6:c + 7].any(), "an absent human draws nothing"
        view.update(stand(xy + [0.5, 0.0]), None, visible, xy, (0.0, 0.0))   # moved half a metre
        moved = (np.abs(grab(base) - empty) > 4).any(axis=2)
        r, c = project(base, (xy[1, 0] + 0.5, xy[1, 1], 1.0))
        assert moved[r - 1:r + 2, c - 1:c + 2].all() and (moved != image).sum() > 200
    finally:
        view.destroy()


def test_two_seeds_look_different_and_one_seed_the_same(base, library):
    look_from(base, (0, -3.2, 1.3), (0, 0, 0.95), fov=40)
    images = []
    for seed in (3, 4, 3):
        view = crowd(base, library, [seed], ["female"])
        view.update(stand([[0.0, 0.0]], 180.0), None, np.ones(1, bool), np.zeros((1, 2)), (0.0, -3.2))
        images.append(grab(base))
        view.destroy()
    assert np.array_equal(images[0], images[2])
    assert (np.abs(images[0] - images[1]).max(axis=2) > 30).sum() > 0.1 * figure(images[0]).sum()


def test_a_crowd_draws_in_a_fixed_number_of_draws_whatever_its_size(base, library):
    counts = {}
    for n in (10, 60):
        seeds = np.arange(100, 100 + n)
        xy = np.stack([(np.arange(n) % 10 - 4.5) * 0.7, 6.0 + np.arange(n) // 10 * 1.2], axis=1)
        view = crowd(base, library, seeds)
        view.update(stand(xy), None, np.ones(n, bool), xy, (0.0, 0.0))
        look_from(base, (0, 0, 1.6), (0, 9, 1.0), fov=60)
        grab(base)
        shown = [p for p in base.render.findAllMatches("**/crowd/+GeomNode") if not p.isHidden()]
        report = view.report()
        counts[n] = report["draws"]
        assert len(shown) == report["draws"]
        assert report["instances"] >= 4 * n          # a body, shoes, brows and hair or a scalp each
        view.destroy()
    assert counts[60] <= 2 * len(CV.crowd_mesh.SLOTS) + 10, counts   # per body kind and piece, not per human
    assert counts[60] <= counts[10] + 8


def test_the_level_of_detail_switches_with_distance_with_hysteresis(base, library):
    view = crowd(base, library, [9], ["male"])
    try:
        looked = []
        for distance, near in ((3.0, True), (4.2, True), (4.5, False), (3.9, False), (3.6, True)):
            xy = np.array([[0.0, distance]])
            view.update(stand(xy, 180.0), None, np.ones(1, bool), xy, (0.0, 0.0))
            assert bool(view.near[0]) is near, (distance, near)
            names = {p.getName().split("-")[1] for p in base.render.findAllMatches("**/crowd/+GeomNode")
                     if not p.isHidden()}
            assert names == {"near" if near else "far"}
            if distance in (4.2, 4.5):
                look_from(base, (0, 0, 1.6), (0, distance, 1.0), fov=40)
                looked.append(grab(base))
        # the same person at about the same place either way; the far one is coarser
        a, b = figure(looked[0]), figure(looked[1])
        assert a.sum() > 1500 and b.sum() > 1200 and (a & b).sum() > 0.7 * b.sum()
    finally:
        view.destroy()


def test_face_units_move_the_near_face_only(base, library):
    view = crowd(base, library, [12], ["female"])
    try:
        xy = np.array([[0.0, 0.0]])
        camera = (0.0, -0.7)
        look_from(base, (0, -0.7, 1.55), (0, 0, 1.52), fov=16)
        face = np.zeros((1, len(FACE_UNITS)), np.float32)
        view.update(stand(xy, 180.0), face, np.ones(1, bool), xy, camera)
        rest = grab(base)
        face[0, FACE_UNITS.index("jawOpen")] = 1.0
        view.update(stand(xy, 180.0), face, np.ones(1, bool), xy, camera)
        opened = grab(base)
        assert (np.abs(opened - rest).max(axis=2) > 30).sum() > 100
        view.update(stand(xy, 180.0), face, np.ones(1, bool), xy, (0.0, -20.0))   # far: no face units
        far_open = grab(base)
        face[:] = 0.0
        view.update(stand(xy, 180.0), face, np.ones(1, bool), xy, (0.0, -20.0))
        assert np.array_equal(grab(base), far_open)
    finally:
        view.destroy()


def test_lights_come_from_the_scene(base, library):
    view = crowd(base, library, [2], ["female"])
    try:
        xy = np.zeros((1, 2))
        view.update(stand(xy, 180.0), None, np.ones(1, bool), xy, (0.0, -3.0))
        look_from(base, (0, -3.0, 1.3), (0, 0, 1.0), fov=40)
        lit = grab(base)
        lights = base.render.findAllMatches("**/+DirectionalLight")
        colours = [light.node().getColor() for light in lights]
        for light in lights:
            light.node().setColor((0, 0, 0, 1))
        try:
            dark = grab(base)
        finally:
            for light, colour in zip(lights, colours):
                light.node().setColor(colour)
        fig = figure(lit)
        assert lit[fig].mean() > dark[fig].mean() + 20
    finally:
        view.destroy()


def test_a_posed_blink_closes_the_eyes_in_the_picture(base, library):
    """Through the session, the posing pass and WorldView: a near human's eyes show dark iris and
    pupil while open and hardly any in a frame where the posing pass closes the lids."""
    from conftest import ROOT, make_profile

    from vr.config import load_scene
    from vr.render import posing
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs, Session

    scene = load_scene(ROOT / "scenes" / "interview_room.yaml").config
    profile = make_profile([{"name": "s", "humans": 3, "gaze": {"at_patient_share": 1.0},
                             "dialogue": {"lines_per_min": 0}}], scene="interview_room")
    session = Session(profile, scene, 4)
    view = WorldView(base.render, None, {"interview_room": scene}, session.human_seed, session.height_m,
                     crowd_library=library if library.face_units == posing.FACE_UNITS else None)
    blink = posing.FACE_UNITS.index("eyeBlinkLeft")
    try:
        shots: dict[bool, np.ndarray] = {}
        who = None
        for _ in range(30 * 30):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            view.apply(world, 1 / 30, world.head.position_m[:2])
            h, pose = world.humans, view.pose
            near = [i for i in np.flatnonzero(h.present & h.gaze_at_patient) if h.distance_m[i] < 2.5]
            if who is None and near:
                who = near[0]
            if who is None or not h.present[who]:
                continue
            closed = bool(pose.face[who, blink] > 0.9)
            if closed in shots or (not closed and pose.face[who, blink] > 0.05):
                continue
            base.cam.setPos(*world.head.position_m)
            base.cam.lookAt(*(pose.eye_m[who].astype(float)))
            base.camLens.setFov(6.0 * SIZE[0] / SIZE[1], 6.0)
            base.win.setClearColor(view.clear_color)
            base.graphicsEngine.renderFrame()
            tex = base.win.getScreenshot()
            image = np.frombuffer(bytes(tex.getRamImageAs("RGB")), np.uint8).reshape(SIZE[1], SIZE[0], 3).astype(int)
            shots[closed] = image
            if len(shots) == 2:
                break
        assert len(shots) == 2, "a near human looking at the patient blinked within 30 s"

        def dark(image: np.ndarray) -> int:
            """Iris and pupil pixels in the band through the eyes (the picture's centre; brows and hair above it)."""
            lum = image[110:131, 80:240].sum(axis=2)
            return int((lum < 0.5 * np.median(lum)).sum())

        assert dark(shots[False]) > 100, dark(shots[False])
        assert dark(shots[True]) < 0.4 * dark(shots[False]), (dark(shots[True]), dark(shots[False]))
    finally:
        view.destroy()
