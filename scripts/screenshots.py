"""Render the pictures in docs/images/: every scene with its people, a close-up face, the safe room.

    .venv/bin/python scripts/screenshots.py [--out docs/images]

Each picture comes from a real session (the simulation places and poses the humans) rendered
offscreen from the patient's eyes, the way a headset run sees it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOTS = [
    # (file, profile, step index, seconds into the step, look at: crowd | nearest | ahead, camera pitch)
    ("auditorium.png", "public_speaking.yaml", 5, 20.0, "crowd", -4.0),
    ("waiting_room.png", "waiting_room_stranger.yaml", 5, 40.0, "nearest", -2.0),
    ("interview_room.png", "job_interview.yaml", 5, 20.0, "crowd", -6.0),
    ("elevator.png", "crowded_lift.yaml", 7, 25.0, "ahead", -5.0),
    ("subway_car.png", "subway_rush_hour.yaml", 7, 30.0, "ahead", -6.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--size", default="800x450")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.split("x"))

    from panda3d.core import PNMImage

    from vr.backends.panda import start_showbase
    from vr.config import load_profile
    from vr.render.world_view import WorldView
    from vr.sim import Command, FrameInputs, Session

    base = start_showbase("offscreen", size, "screenshots")
    base.camLens.setFov(80)
    base.camLens.setNearFar(0.05, 200)

    def save(name: str) -> None:
        base.graphicsEngine.renderFrame()
        base.graphicsEngine.renderFrame()
        image = PNMImage()
        base.win.getScreenshot(image)
        image.write(str(out / name))
        print(out / name)

    for name, profile_file, step, seconds, toward, pitch in SHOTS:
        loaded = load_profile(ROOT / "exposure_profiles" / profile_file)
        profile = loaded.config
        session = Session(profile, loaded.scene.config, seed=4)
        view = WorldView(base.render, base.render2d, {profile.scene: loaded.scene.config,
                                                      profile.safety.safe_scene: loaded.safe_scene.config},
                         session.human_seed, session.height_m)
        world = None
        for k in range(int(seconds * 30)):
            world, _ = session.step(FrameInputs(session.head, (Command("goto_step", step),) if k == 0 else ()),
                                    1 / 30)
            if k >= int(seconds * 30) - 90:   # the last three seconds drawn too: gait, sitting, gaze settle
                view.apply(world, 1 / 30, world.head.position_m[:2])
        head = world.head
        yaw = head.yaw_deg
        h = world.humans
        if toward != "ahead" and h.present.any():
            if toward == "crowd":
                cx, cy = h.position_m[h.present].mean(axis=0)
            else:
                standing = h.present & (h.posture != 2)
                pick = standing if standing.any() else h.present
                cx, cy = h.position_m[int(np.argmin(np.where(pick, h.distance_m, np.inf)))]
            yaw = math.degrees(math.atan2(-(cx - head.position_m[0]), cy - head.position_m[1]))
        view.apply(world, 1 / 30, head.position_m[:2])
        base.camera.setPosHpr(*head.position_m, yaw, pitch, 0)
        base.win.setClearColor(view.clear_color)
        save(name)
        if name == "interview_room.png":
            # A close-up of the nearest person who is looking at the patient.
            idx = [i for i in np.argsort(h.distance_m) if h.present[i]]
            looking = [i for i in idx if h.gaze_at_patient[i]] or idx
            if view.pose is not None:      # the skinned humans: the posing pass's eye midpoint
                eye = tuple(float(v) for v in view.pose.eye_m[looking[0]])
            else:
                rig = view.slots[looking[0]].shown.rig
                eye = (rig.eyes[0].getPos(base.render) + rig.eyes[1].getPos(base.render)) * 0.5
            base.camera.setPos(*head.position_m)
            base.camera.lookAt(eye)
            base.camLens.setFov(16)
            save("face_closeup.png")
            base.camLens.setFov(80)
        if name == "auditorium.png":
            world, _ = session.step(FrameInputs(session.head, (Command("panic"),)), 1 / 30)
            view.apply(world, 5.0, head.position_m[:2])
            base.camera.setPosHpr(*world.head.position_m, 0, -12, 0)
            base.win.setClearColor(view.clear_color)
            save("calm_room.png")
        view.destroy()
    base.destroy()


if __name__ == "__main__":
    main()
