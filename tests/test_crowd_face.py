"""The skinned humans' faces through the whole path: session, speech audio, posing pass, WorldView, pixels.

A human's speaking turn in the session plays a real espeak-ng line through ``SpeechPlayer`` (with
the null audio library it keeps time from the frames); WorldView reads each speaker's loudness
from it, the posing pass opens the jaw with it, and the picture of the mouth shows it.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from conftest import ROOT, grab_rgb, make_profile, offscreen_or_skip

SIZE = (320, 240)
DT = 1 / 30
LINE = "Well, I have been waiting here for quite a while now, and nobody has told me anything."


@pytest.fixture(scope="module")
def base():
    from vr.render import bodies

    b = offscreen_or_skip(lambda: bodies.picture_studio(SIZE, "tests", far_m=80))
    yield b
    b.destroy()


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    from vr.dialogue.tts import Synthesizer
    from vr.dialogue.voices import Voice

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian/Ubuntu: apt install espeak-ng)")
    synth = Synthesizer(tmp_path_factory.mktemp("voices"))
    assert synth.engine == "espeak-ng"
    return synth.synthesize(LINE, Voice("en-us+f3", 55, 150))


def test_the_mouth_opens_with_the_speech_audio_and_closes_in_its_pauses(base, speech):
    """Frames where the line is loud show the mouth open (a dark hollow between the lips); frames in
    a pause of the same line show it closed; two closed frames differ far less than open from closed."""
    from vr.config import load_scene
    from vr.render import posing
    from vr.render.speech_audio import SpeechPlayer
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs, Session

    scene = load_scene(ROOT / "scenes" / "interview_room.yaml").config
    profile = make_profile([{"name": "s", "humans": 1, "proximity": {"distance_m": 1.6},
                             "gaze": {"at_patient_share": 1.0}, "dialogue": {"lines_per_min": 20}}],
                           scene="interview_room")
    session = Session(profile, scene, 5)
    view = WorldView(base.render, None, {"interview_room": scene}, session.human_seed, session.height_m)
    assert view.humans == "skinned"
    player = SpeechPlayer(base, base.cam)
    jaw = posing.FACE_UNITS.index("jawOpen")
    shots: dict[str, list[np.ndarray]] = {"open": [], "closed": []}
    try:
        was_speaking = np.zeros(1, bool)
        for _ in range(int(60 / DT)):
            world, _ = session.step(FrameInputs(session.head), DT)
            h = world.humans
            for i in np.flatnonzero(h.speaking & ~was_speaking[: len(h.speaking)]):
                player.play(h.ids[i], speech, base.render)     # the line starts with the turn
            was_speaking = h.speaking.copy()
            player.update(DT)
            view.apply(world, DT, world.head.position_m[:2], mouth=player.level)
            if not h.present[0] or h.distance_m[0] > 2.0 or not h.speaking[0]:
                continue
            level, opened = player.level(h.ids[0]), float(view.pose.face[0, jaw])
            kind = "open" if level > 0.6 and opened > 0.4 else "closed" if level == 0.0 and opened < 0.06 else None
            if kind is None or len(shots[kind]) >= 2:
                continue
            eye = view.pose.eye_m[0].astype(float)
            base.cam.setPos(*world.head.position_m)
            base.cam.lookAt(eye[0], eye[1], eye[2] - 0.09)       # the mouth, 9 cm under the eyes
            base.camLens.setFov(5.0 * SIZE[0] / SIZE[1], 5.0)
            base.win.setClearColor(view.clear_color)
            shots[kind].append(grab_rgb(base).astype(int))
            if len(shots["open"]) == 2 and len(shots["closed"]) == 2:
                break
        assert len(shots["open"]) == 2 and len(shots["closed"]) == 2, \
            f"a speaking human's loud and quiet moments within 60 s: {[len(v) for v in shots.values()]}"
        if os.environ.get("VR_TEST_SHOTS"):
            from PIL import Image

            Image.fromarray(np.hstack(shots["closed"][:1] + shots["open"][:1]).astype(np.uint8)).save(
                os.path.join(os.environ["VR_TEST_SHOTS"], "mouth_closed_open.png"))

        def changed(a: np.ndarray, b: np.ndarray) -> int:
            return int((np.abs(a - b).max(axis=2) > 25).sum())

        centre = (slice(60, 200), slice(100, 220))              # the mouth and chin
        open_vs_closed = changed(shots["open"][0][centre], shots["closed"][0][centre])
        closed_vs_closed = changed(shots["closed"][0][centre], shots["closed"][1][centre])
        assert open_vs_closed > 400, open_vs_closed
        assert open_vs_closed > 3 * closed_vs_closed, (open_vs_closed, closed_vs_closed)

        def hollow(image: np.ndarray) -> int:
            """Dark pixels in the mouth region: the open mouth's cavity (drawn dark, vr.render.mouth)."""
            lum = image[centre].sum(axis=2)
            return int((lum < 0.45 * np.median(lum)).sum())

        assert hollow(shots["open"][0]) > 150 and hollow(shots["open"][1]) > 150, [hollow(s) for s in shots["open"]]
        assert max(hollow(s) for s in shots["closed"]) < 0.3 * hollow(shots["open"][0])
    finally:
        player.destroy()
        view.destroy()


def test_the_inside_of_the_mouth_is_dark_and_baked_from_the_mesh():
    """The baked shade is what the mesh gives now (a stale file would show a pale or misplaced
    hollow), it darkens only the cavity behind the lips, and the face around it keeps its colour."""
    from vr.render import bodies, mouth

    for name in bodies.BODY_NAMES:
        a = bodies.load_body(name)
        front = mouth.lips_front(a.vertices, a.regions, a.face_deltas[a.face_units.index("jawOpen")])
        fresh = mouth.shade(a.vertices, a.faces, front)
        assert np.abs(np.round(fresh * 255) / 255 - a.mouth_shade).max() < 1.5 / 255, "re-bake: python -m vr.render.mouth"
        dark = a.mouth_shade < 0.5
        assert 300 < dark.sum() < 1500
        assert (a.vertices[dark, 1] > front[1] + 0.0015).all()          # behind the front of the lips
        assert (np.linalg.norm(a.vertices[dark] - front, axis=1) < 0.11).all()
        assert (a.mouth_shade[a.vertices[:, 2] < front[2] - 0.06] == 1.0).all()   # chin, neck, body untouched


def test_a_stranger_who_sits_down_is_drawn_moving_smoothly_onto_the_seat(base):
    """The session moves a sitting walker from in front of the seat onto it in one step; drawn,
    their eyes travel there with the sitting motion, never jumping, and end over the seat."""
    from conftest import _tuples

    from vr.config import SceneConfig
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs, Session

    scene = SceneConfig.model_validate(_tuples({
        "schema_version": 1, "name": "chair_beside", "kind": "social", "room": {"size_m": [10, 12, 3]},
        "patient": {"position_m": [0, 0], "yaw_deg": 0, "posture": "sitting"},
        "spawns": [{"id": "s", "path_m": [[3.0, 5.0], [1.5, 1.0], [0.7, 0.0]], "sits_at_end": True, "yaw_deg": 90.0}]}))
    profile = make_profile([{"name": "a", "humans": 1, "proximity": {"distance_m": 3.0}}], scene="chair_beside",
                           safety={"min_distance_m": 0.5})
    session = Session(profile, scene, 4)
    view = WorldView(base.render, None, {"chair_beside": scene}, session.human_seed, session.height_m)
    try:
        eyes, postures, jump = [], [], 0.0
        for _ in range(int(25 / DT)):
            world, _ = session.step(FrameInputs(session.head), DT)
            view.apply(world, DT, world.head.position_m[:2])
            eyes.append(view.pose.eye_m[0, :2].astype(float).copy())
            postures.append(int(world.humans.posture[0]))
        eyes, postures = np.array(eyes), np.array(postures)
        sat = int(np.flatnonzero(postures == 2)[0])
        steps = np.linalg.norm(np.diff(eyes[sat - 30: sat + 60], axis=0), axis=1)
        assert steps.max() < 0.03, steps.max()                         # no 0.3 m jump onto the seat
        assert np.linalg.norm(eyes[sat - 1] - eyes[-1]) > 0.2            # they did move back onto it
        assert abs(eyes[-1][0] - 0.7) < 0.15 and abs(eyes[-1][1]) < 0.15  # and sit over the seat
    finally:
        view.destroy()
