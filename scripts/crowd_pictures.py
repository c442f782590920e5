"""Pictures of the scenes with the skinned crowd, from the patient's place and eye height.

    .venv/bin/python scripts/crowd_pictures.py [docs/images]

Writes scene_waiting_room.png (eight people, the patient seated), scene_auditorium.png (every
seat taken, the patient at the lectern) and scene_lift.png (five people, the patient standing),
1280x720, a 90-degree horizontal view, after 20 s of simulated session so people have walked,
sat down and turned to look. Prints how long the crowd's assets took to load and a frame to pose.
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
    base.destroy()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
