"""Offscreen rendering, checked by pixels: humans where the sim puts them, eyes on the patient,
panic shows the safe scene in one frame, and a crowd that does not look cloned."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROOT, make_profile, offscreen_or_skip
from vr.config import load_scene
from vr.sim import Command, FrameInputs, HeadPose, Session
from vr.sim.session import eye_position_m

SCENES = ("auditorium", "waiting_room", "interview_room", "elevator", "subway_car")
SIZE = (480, 320)


@pytest.fixture(scope="module")
def base():
    from vr.backends.panda import start_showbase

    b = offscreen_or_skip(lambda: start_showbase("offscreen", SIZE, "tests"))
    b.camLens.setFov(90)
    b.camLens.setNearFar(0.05, 200)
    yield b
    b.destroy()


def grab_fast(base) -> np.ndarray:
    """Render one frame; the window's image as an (h, w, 3) array in 0-1, top row first."""
    base.graphicsEngine.renderFrame()
    tex = base.win.getScreenshot()
    data = np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8)
    return data.reshape(tex.getYSize(), tex.getXSize(), 3)[::-1] / 255.0  # texture rows run bottom-up


def project(base, point) -> tuple[int, int] | None:
    """Pixel (x, y from the top) where a world point appears, or None when off screen or behind."""
    from panda3d.core import Point2, Point3

    p = base.cam.getRelativePoint(base.render, Point3(*point))
    p2 = Point2()
    if not base.camLens.project(p, p2):
        return None
    w, h = SIZE
    return int((p2.x + 1) / 2 * w), int((1 - p2.y) / 2 * h)


def view_for(base, scene_name: str, humans: int, seed: int = 3, kind: str = "skinned", **step):
    from vr.render.world_view import WorldView

    scene = load_scene(ROOT / "scenes" / f"{scene_name}.yaml").config
    safe = load_scene(ROOT / "scenes" / "calm_room.yaml").config
    profile = make_profile([{"name": "s", "humans": humans, **step}], scene=scene_name,
                           safety={"min_distance_m": 0.5})
    session = Session(profile, scene, seed)
    view = WorldView(base.render, base.render2d, {scene_name: scene, "calm_room": safe},
                     session.human_seed, session.height_m, humans=kind)
    return session, view


def place_camera(base, head: HeadPose, yaw: float | None = None, pitch: float = -5.0) -> None:
    base.camera.setPosHpr(*head.position_m, head.yaw_deg if yaw is None else yaw, pitch, 0)


def step(session, seconds, commands=()):
    world = None
    for k in range(int(seconds * 30)):
        world, _ = session.step(FrameInputs(session.head, tuple(commands) if k == 0 else ()), 1 / 30)
    return world


@pytest.mark.parametrize("scene_name", SCENES)
def test_each_scene_shows_its_humans_where_the_sim_puts_them(base, scene_name):
    count = {"auditorium": 40, "subway_car": 30}.get(scene_name, 6)
    session, view = view_for(base, scene_name, count)
    try:
        world = step(session, 25.0)
        h = world.humans
        idx = np.nonzero(h.present)[0]
        hx, hy, hz = world.head.position_m
        view.apply(world, 1 / 30, (hx, hy))
        base.win.setClearColor(view.clear_color)
        seen, checked, spread = set(), set(), []
        for yaw in (0.0, 90.0, 180.0, 270.0):  # look all around the patient's place
            place_camera(base, world.head, world.head.yaw_deg + yaw)
            with_humans = grab_fast(base)
            view.humans_root.hide()
            empty = grab_fast(base)
            view.humans_root.show()
            spread.append(with_humans.std())
            for i in idx:
                torso = (h.position_m[i, 0], h.position_m[i, 1], 0.75 if h.posture[i] == 2 else 1.2)
                px = project(base, torso)
                if i in checked or px is None or not (4 <= px[0] < SIZE[0] - 4 and 4 <= px[1] < SIZE[1] - 4):
                    continue
                checked.add(i)
                # the torso, and the face at the sim's eye point (a dark jacket can match a dark chair)
                eye = eye_position_m(h.position_m[i:i + 1], h.body_yaw_deg[i:i + 1], h.height_m[i:i + 1],
                                     h.posture[i:i + 1])[0]
                for p in (px, project(base, eye - (0.0, 0.0, 0.04))):
                    if p is None or not (4 <= p[0] < SIZE[0] - 4 and 4 <= p[1] < SIZE[1] - 4):
                        continue
                    window = (slice(p[1] - 3, p[1] + 4), slice(p[0] - 3, p[0] + 4))
                    if np.abs(with_humans[window] - empty[window]).max() > 0.08:
                        seen.add(i)
        assert max(spread) > 0.05, "the scene renders with visible structure"
        assert len(checked) >= 0.8 * len(idx)
        assert len(seen) >= 0.85 * len(checked), f"{len(seen)} of {len(checked)} humans drawn where the sim puts them"
    finally:
        view.destroy()


def test_a_skinned_human_looking_at_the_patient_points_eyes_and_head_at_the_camera(base):
    from vr.render.crowd_mesh import SLOT

    session, view = view_for(base, "interview_room", 4, gaze={"at_patient_share": 1.0},
                             dialogue={"lines_per_min": 0})
    try:
        world = step(session, 6.0)
        h = world.humans
        looking = [i for i in np.nonzero(h.present & h.gaze_at_patient)[0] if h.distance_m[i] < 2.5]
        assert looking, "someone at the table looks at the patient"
        i = looking[0]
        place_camera(base, world.head)
        view.apply(world, 1 / 30, world.head.position_m[:2])
        rig, skin = view.poser.rig, view.pose.skin[i]
        cam = np.array(base.camera.getPos(base.render))

        kind = view.crowd.library.kinds[rig.bodies[i]]
        eyes = {p.name[5]: p for near, p, *_ in kind.draws if near and p.name.startswith("eye[")}

        def joint(name: str) -> tuple[np.ndarray, np.ndarray]:
            """Where a joint is (world) and where its rest front now points: for the eyes the axis
            from the eyeball's centre through its pupil (rest, base body), for the head -Y."""
            m = skin[rig.joint_index(name)].astype(np.float64)
            if name.startswith("eye."):
                ball = eyes[name[-1]]        # shaped as the shader shapes it
                shaped = ball.positions + np.einsum("t,vtc->vc", rig.shape_weights[i], ball.deltas[:, :10])
                centre = shaped.mean(axis=0)
                axis = shaped[ball.slot == SLOT["pupil"]].mean(axis=0) - centre
            else:
                centre, axis = rig.joint_heads_m[i, rig.joint_index(name)], np.array([0.0, -1.0, 0.0])
            fwd = m[:, :3] @ axis
            return m[:, :3] @ centre + m[:, 3], fwd / np.linalg.norm(fwd)

        def off_axis_deg(name: str) -> float:
            pos, fwd = joint(name)
            to_cam = (cam - pos) / np.linalg.norm(cam - pos)
            return math.degrees(math.acos(np.clip(fwd @ to_cam, -1, 1)))

        for eye in ("eye.L", "eye.R"):
            assert off_axis_deg(eye) < 6.0, eye
        assert off_axis_deg("head") < 20.0                        # the head follows the eyes
        # In the picture: zoom onto the face; each pupil's centre shows the dark pupil, facing us.
        base.camera.lookAt(*joint("eye.L")[0])
        base.camLens.setFov(12)
        base.win.setClearColor(view.clear_color)
        img = grab_fast(base)
        for eye in ("eye.L", "eye.R"):
            pos, fwd = joint(eye)
            px = project(base, pos + fwd * 0.012 * rig.scale[i])
            assert px is not None
            patch = img[px[1] - 3:px[1] + 4, px[0] - 3:px[0] + 4].mean(axis=2)
            assert patch.min() < 0.2, f"the dark pupil should show at the eye's centre, darkest {patch.min():.2f}"
    finally:
        base.camLens.setFov(90)
        view.destroy()


def test_a_procedural_human_looking_at_the_patient_points_eyes_and_head_at_the_camera(base):
    session, view = view_for(base, "interview_room", 4, gaze={"at_patient_share": 1.0},
                             dialogue={"lines_per_min": 0}, kind="procedural")
    try:
        world = step(session, 6.0)
        h = world.humans
        looking = [i for i in np.nonzero(h.present & h.gaze_at_patient)[0] if h.distance_m[i] < 2.5]
        assert looking, "someone at the table looks at the patient"
        i = looking[0]
        place_camera(base, world.head)
        view.apply(world, 1 / 30, world.head.position_m[:2])
        rig = view.slots[i].shown.rig
        cam = np.array(base.camera.getPos(base.render))
        for eye in rig.eyes:
            pos = np.array(eye.getPos(base.render))
            fwd = np.array(base.render.getRelativeVector(eye, (0, 1, 0)))
            to_cam = (cam - pos) / np.linalg.norm(cam - pos)
            assert math.degrees(math.acos(np.clip(fwd @ to_cam, -1, 1))) < 6.0
        head_fwd = np.array(base.render.getRelativeVector(rig.head, (0, 1, 0)))
        to_cam = cam - np.array(rig.head.getPos(base.render))
        to_cam /= np.linalg.norm(to_cam)
        assert math.degrees(math.acos(np.clip(head_fwd @ to_cam, -1, 1))) < 20.0  # the head follows the eyes
        # In the picture: zoom onto the face; each pupil's centre shows the dark pupil, facing us.
        base.camera.lookAt(rig.eyes[0].getPos(base.render))
        base.camLens.setFov(12)
        base.win.setClearColor(view.clear_color)
        img = grab_fast(base)
        for eye in rig.eyes:
            from panda3d.core import Point3

            pupil = eye.getRelativePoint(eye, Point3(0, 0.0125, 0))
            px = project(base, np.array(base.render.getRelativePoint(eye, pupil)))
            assert px is not None
            patch = img[px[1] - 3:px[1] + 4, px[0] - 3:px[0] + 4].mean(axis=2)
            assert patch.min() < 0.2, f"the dark pupil should show at the eye's centre, darkest {patch.min():.2f}"
    finally:
        base.camLens.setFov(90)
        view.destroy()


def test_panic_shows_the_safe_scene_in_the_next_frame(base):
    session, view = view_for(base, "auditorium", 30)
    try:
        world = step(session, 5.0)
        place_camera(base, world.head, pitch=0)
        view.apply(world, 1 / 30, world.head.position_m[:2])
        base.win.setClearColor(view.clear_color)
        before = grab_fast(base)
        world, events = session.step(FrameInputs(session.head, (Command("panic"),)), 1 / 30)
        assert world.scene == "calm_room"
        view.apply(world, 1 / 30, world.head.position_m[:2])
        base.camera.setPosHpr(*world.head.position_m, 0, 0, 0)
        base.win.setClearColor(view.clear_color)
        after = grab_fast(base)
        # Reference: the calm room once the fade has finished.
        view.apply(world, 5.0, world.head.position_m[:2])
        calm = grab_fast(base)
        assert view.scene_name == "calm_room" and not view.shown.any()
        assert np.abs(after - before).mean() > 0.05, "the picture changed in that frame"
        # The first frame is the calm room, dimmed by the fade: same picture up to brightness.
        corr = np.corrcoef(after.mean(axis=2).ravel(), calm.mean(axis=2).ravel())[0, 1]
        assert corr > 0.9 and after.mean() < calm.mean()
        # And it is the calm room as seen from its own patient place: the safe scene is placed around
        # the patient, wherever they stood in the exposure scene.
        from vr.render.world_view import WorldView

        safe = load_scene(ROOT / "scenes" / "calm_room.yaml").config
        view.root.hide()
        reference = WorldView(base.render, None, {"calm_room": safe}, np.zeros(0, int), np.zeros(0))
        try:
            reference.apply(world, 1 / 30, safe.patient.position_m)
            x, y = safe.patient.position_m
            base.camera.setPosHpr(x, y, world.head.position_m[2], safe.patient.yaw_deg, 0, 0)
            own = grab_fast(base)
        finally:
            reference.destroy()
            view.root.show()
        assert np.abs(own - calm).mean() < 0.02
    finally:
        view.destroy()


def test_a_crowd_of_thirty_does_not_look_cloned():
    from vr.render.human import Appearance

    looks = [Appearance.from_seed(s, 1.7) for s in range(30)]
    combos = {(a.skin, a.hair, a.hair_style, a.top, a.bottom) for a in looks}
    assert len(combos) == 30
    assert len({a.skin for a in looks}) >= 6 and len({a.hair_style for a in looks}) >= 4
    assert Appearance.from_seed(7, 1.7) == Appearance.from_seed(7, 1.7)


def _animated_session(base, kind: str):
    from vr.render.world_view import WorldView

    scene = load_scene(ROOT / "scenes" / "waiting_room.yaml").config
    profile = make_profile([{"name": "s", "humans": 4, "proximity": {"distance_m": 1.0},
                             "dialogue": {"lines_per_min": 20}}], scene="waiting_room")
    session = Session(profile, scene, 5)
    return session, WorldView(base.render, None, {"waiting_room": scene}, session.human_seed, session.height_m,
                              humans=kind)


def test_skinned_animation_follows_the_sim(base):
    from vr.render import posing

    session, view = _animated_session(base, "skinned")
    try:
        hips, jaws, lids = [], [], []
        leg = view.poser.rig.joint_index("upperleg01.L")
        jaw, blink = posing.FACE_UNITS.index("jawOpen"), posing.FACE_UNITS.index("eyeBlinkLeft")
        for _ in range(int(20 * 30)):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            view.apply(world, 1 / 30, world.head.position_m[:2])
            h, pose = world.humans, view.pose
            assert np.array_equal(view.shown, h.present)
            for i in np.nonzero(h.present)[0]:
                if h.posture[i] == 1:    # the thigh's turn from rest, degrees
                    r = pose.local_rot[i, leg].astype(np.float64)
                    hips.append(math.degrees(math.acos(np.clip((np.trace(r) - 1) / 2, -1, 1))) * np.sign(r[2, 1] - r[1, 2]))
                if h.speaking[i]:
                    jaws.append(pose.face[i, jaw])
                if h.blinking[i] and h.distance_m[i] < 7:
                    lids.append(pose.face[i, blink])
        assert hips and max(hips) - min(hips) > 20, "walkers swing their legs"
        assert jaws and max(jaws) > 0.5, "speakers open their mouths"
        assert lids and max(lids) > 0.8, "blinks close the lids"
    finally:
        view.destroy()


def test_procedural_animation_follows_the_sim(base):
    session, view = _animated_session(base, "procedural")
    try:
        hips, jaws, lids = [], [], []
        for _ in range(int(20 * 30)):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            view.apply(world, 1 / 30, world.head.position_m[:2])
            h = world.humans
            for i in np.nonzero(h.present)[0]:
                rig = view.slots[i].shown.rig
                if h.posture[i] == 1:
                    hips.append(rig.hips[0].getP())
                if h.speaking[i]:
                    jaws.append(rig.jaw.getSz())
                if h.blinking[i] and h.distance_m[i] < 7:
                    lids.append(rig.lids[0].getP())
        assert hips and max(hips) - min(hips) > 20, "walkers swing their legs"
        assert jaws and max(jaws) > 1.5, "speakers open their mouths"
        assert lids and max(lids) < -60, "blinks close the lids"
    finally:
        view.destroy()
