"""Pictures of the scenes with the skinned crowd, from the patient's place and eye height.

    .venv/bin/python scripts/crowd_pictures.py [docs/images]

Writes scene_waiting_room.png (eight people, the patient seated), scene_auditorium.png (every
seat taken, the patient at the lectern) and scene_lift.png (five people, the patient standing),
1280x720, a 90-degree horizontal view, after 20 s of simulated session so people have walked,
sat down and turned to look; walk_and_sit.png, six frames of a stranger who comes in at the
waiting room's door, walks over and sits down beside the patient's chair, seen by an onlooker
standing by the left wall (the view turned to follow them); face_0.8m.png and face_3m.png, a person in the subway car who
stands 0.8 m and 3 m from the patient, looking at them, through a 40-degree crop of the patient's
view. Prints how long the crowd's assets took to load and a frame to pose.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (1280, 720)
SHOTS = (("waiting_room", "scene_waiting_room.png", 8, 1.6, 0.0),   # scene, file, humans, closest m, turn deg
         ("auditorium", "scene_auditorium.png", 500, 2.0, 0.0),
         ("elevator", "scene_lift.png", 5, 0.6, 0.0))


def main(out_dir: Path) -> None:
    import math

    from vr.backends.panda import start_showbase
    from vr.config import ProfileConfig, load_scene
    from vr.render import posing
    from vr.render.crowd_view import CrowdLibrary
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs, Session

    base = start_showbase("offscreen", SIZE, "crowd pictures")
    base.camLens.setFov(90, math.degrees(2 * math.atan(math.tan(math.radians(45)) * SIZE[1] / SIZE[0])))
    base.camLens.setNearFar(0.05, 200)
    t0 = time.perf_counter()
    library = CrowdLibrary(posing.FACE_UNITS)
    print(f"crowd assets loaded in {time.perf_counter() - t0:.2f} s")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, file, count, distance_m, turn_deg in SHOTS:
        scene = load_scene(ROOT / "scenes" / f"{name}.yaml").config
        profile = ProfileConfig.model_validate({
            "schema_version": 1, "name": "pictures", "scene": name,
            "steps": ({"name": "people", "humans": count, "intensity": 0.5, "proximity": {"distance_m": distance_m},
                       "gaze": {"at_patient_share": 0.5}},)})
        session = Session(profile, scene, seed=4)
        view = WorldView(base.render, base.render2d, {name: scene}, session.human_seed, session.height_m,
                         crowd_library=library)
        world, frame_s = None, []
        for _ in range(20 * 30):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            t = time.perf_counter()
            view.apply(world, 1 / 30, world.head.position_m[:2])
            frame_s.append(time.perf_counter() - t)
        base.win.setClearColor(view.clear_color)
        base.camera.setPosHpr(*world.head.position_m, world.head.yaw_deg + turn_deg, -4.0, 0.0)
        base.graphicsEngine.renderFrame()
        base.graphicsEngine.renderFrame()
        base.win.saveScreenshot(str(out_dir / file))
        frame_s.sort()
        print(f"{out_dir / file}: {int(world.humans.present.sum())} people, eye height "
              f"{world.head.position_m[2]:.2f} m, pose and upload {1000 * frame_s[len(frame_s) // 2]:.1f} ms (median)")
        view.destroy()
    walk_and_sit(base, library, out_dir)
    faces(base, library, out_dir)
    base.destroy()


def _session(name: str, steps: tuple, **top):
    from vr.config import ProfileConfig, load_scene
    from vr.sim import Session

    scene = load_scene(ROOT / "scenes" / f"{name}.yaml").config
    profile = ProfileConfig.model_validate({"schema_version": 1, "name": "pictures", "scene": name,
                                            "steps": steps, **top})
    return scene, Session(profile, scene, seed=4)


def _look_at(base, head, target) -> None:
    base.camera.setPos(*head)
    base.camera.lookAt(*(float(v) for v in target))


CAMERA_M = (-1.9, 0.9, 1.65)   # walk_and_sit: a standing onlooker by the waiting room's left wall


def walk_and_sit(base, library, out_dir: Path) -> None:
    """Six frames of one stranger walking in and sitting beside the patient, tiled 3 x 2."""
    import numpy as np
    from PIL import Image

    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs

    steps = ({"name": "a stranger sits beside", "humans": 1, "intensity": 0.4, "proximity": {"distance_m": 0.7},
              "gaze": {"at_patient_share": 0.6}, "dialogue": {"lines_per_min": 0}},)
    safety = {"min_distance_m": 0.6}
    # First run: when does the stranger walk, stop and sit?
    _, session = _session("waiting_room", steps, safety=safety)
    postures = []
    for _ in range(40 * 30):
        world, _ = session.step(FrameInputs(session.head), 1 / 30)
        postures.append(int(world.humans.posture[0]) if world.humans.present[0] else -1)
    postures = np.array(postures)
    walking = np.flatnonzero(postures == 1)
    sat = int(np.flatnonzero(postures == 2)[0])
    frames = sorted({int(walking[0]) + 30, int(np.percentile(walking, 40)), int(np.percentile(walking, 80)),
                     sat - 8, sat + 16, sat + 75})
    # Second run, the same session, drawn and photographed at those frames.
    scene, session = _session("waiting_room", steps, safety=safety)
    view = WorldView(base.render, base.render2d, {"waiting_room": scene}, session.human_seed, session.height_m,
                     crowd_library=library)
    base.camLens.setFov(46, 46 * 9 / 16)
    base.win.setClearColor(view.clear_color)
    tiles = []
    for k in range(frames[-1] + 1):
        world, _ = session.step(FrameInputs(session.head), 1 / 30)
        view.apply(world, 1 / 30, world.head.position_m[:2])
        if k in frames:
            x, y = world.humans.position_m[0]
            _look_at(base, CAMERA_M, (x, y, 0.65 if world.humans.posture[0] == 2 else 0.85))
            base.graphicsEngine.renderFrame()
            base.graphicsEngine.renderFrame()
            tex = base.win.getScreenshot()
            w, h = tex.getXSize(), tex.getYSize()
            image = np.frombuffer(bytes(tex.getRamImageAs("RGB")), np.uint8).reshape(h, w, 3)[::-1]
            cx = w // 2
            tiles.append(image[:, cx - h * 2 // 5: cx + h * 2 // 5])     # a portrait crop about the person
    view.destroy()
    row = [np.hstack(tiles[:3]), np.hstack(tiles[3:])]
    Image.fromarray(np.vstack(row)).save(out_dir / "walk_and_sit.png")
    print(f"{out_dir / 'walk_and_sit.png'}: frames at {', '.join(f'{f / 30:.1f}' for f in frames)} s "
          f"(sat down at {sat / 30:.1f} s)")


def faces(base, library, out_dir: Path) -> None:
    """A standing person looking at the patient, 0.8 m and 3 m away, in the subway car."""
    import numpy as np

    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs

    for distance_m, count, file in ((0.8, 1, "face_0.8m.png"), (3.0, 8, "face_3m.png")):
        steps = ({"name": "people", "humans": count, "mood": "friendly", "intensity": 0.5,
                  "proximity": {"distance_m": distance_m}, "gaze": {"at_patient_share": 1.0, "mutual_dwell_s": 20},
                  "dialogue": {"lines_per_min": 0}},)
        scene, session = _session("subway_car", steps, safety={"min_distance_m": 0.6})
        view = WorldView(base.render, base.render2d, {"subway_car": scene}, session.human_seed, session.height_m,
                         crowd_library=library)
        world, who = None, -1
        for k in range(40 * 30):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            view.apply(world, 1 / 30, world.head.position_m[:2])
            h = world.humans
            fit = h.present & (h.speed_mps == 0) & (h.posture == 0) & h.gaze_at_patient & ~h.blinking
            off = np.where(fit, np.abs(h.distance_m - distance_m), np.inf)
            if k > 25 * 30 and off.min() < 0.15:
                who = int(np.argmin(off))
                break
        base.camLens.setFov(40, 40 * 9 / 16)
        base.win.setClearColor(view.clear_color)
        eye = view.pose.eye_m[who]
        _look_at(base, world.head.position_m, (eye[0], eye[1], eye[2] - 0.12))
        base.graphicsEngine.renderFrame()
        base.graphicsEngine.renderFrame()
        base.win.saveScreenshot(str(out_dir / file))
        print(f"{out_dir / file}: {float(world.humans.distance_m[who]):.2f} m away")
        view.destroy()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
