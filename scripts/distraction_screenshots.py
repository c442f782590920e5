"""Render docs/images/snowy_canyon.png and docs/images/reef.png: the distraction game in play.

    .venv/bin/python scripts/distraction_screenshots.py [--out docs/images] [--size 1280x720] [--seconds 40]

Each distraction profile is played headless by the simulated player (skill 0.6) for about
``--seconds`` of session time; the picture is rendered offscreen from the patient's head at the
moment that shows the most targets alive together with one fresh hit burst.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOTS = (("snowy_canyon.png", "burn_dressing_snow.yaml", (0.4, 0.6)),
         ("reef.png", "needle_reef.yaml", (0.15, 0.45)))
DT_S = 1 / 30
SEEDS = range(1, 7)     # sessions tried; the picture comes from the best moment of any


def play(profile_file: str, seconds: float, seed: int):
    """The world after every step of a session played by ``GamePlayer``, with the glide's distance."""
    from vr.config import load_profile
    from vr.sim.distraction import DistractionSession
    from vr.sim.player import GamePlayer, PlayerParams

    loaded = load_profile(ROOT / "exposure_profiles" / profile_file)
    session = DistractionSession(loaded.config, loaded.scene.config, seed)
    player = GamePlayer(PlayerParams(skill=0.6), seed, session.head)
    world, frames = None, []
    for _ in range(int(seconds / DT_S)):
        world, _ = session.step(player.act(world, DT_S), DT_S)
        frames.append((world, session.glide.s_m))
    return loaded, frames


def in_view(world, point: np.ndarray, half_deg: float = 38.0) -> bool:
    """Whether ``point`` is within ``half_deg`` of where the head looks."""
    head = world.head
    yaw, pitch = np.radians(head.yaw_deg), np.radians(head.pitch_deg)
    forward = np.array([-np.sin(yaw) * np.cos(pitch), np.cos(yaw) * np.cos(pitch), np.sin(pitch)])
    d = point - np.asarray(head.position_m)
    return float(d @ forward) > np.cos(np.radians(half_deg)) * float(np.linalg.norm(d))


def moment_score(world, burst_age: tuple[float, float]) -> float:
    """Targets in view (more, and larger on screen), one fresh burst in view and near enough to see,
    and no two targets drawn on top of each other."""
    g = world.game
    seen = [i for i in np.flatnonzero(g.alive) if in_view(world, g.position_m[i])]
    eye = np.asarray(world.head.position_m)
    bursts = [i for i in np.flatnonzero((g.hit_age_s >= burst_age[0]) & (g.hit_age_s < burst_age[1]))
              if in_view(world, g.position_m[i]) and np.linalg.norm(g.position_m[i] - eye) < 13.0]
    shown = seen + bursts
    crowded = any(np.linalg.norm(g.position_m[a] - g.position_m[b]) < 1.5 * (g.radius_m[a] + g.radius_m[b])
                  for k, a in enumerate(shown) for b in shown[k + 1:])
    near = any(np.linalg.norm(g.position_m[i] - eye) < 5.0 for i in shown)
    size = sum(g.radius_m[i] / np.linalg.norm(g.position_m[i] - eye) for i in seen)   # radians on screen
    return len(seen) + 40.0 * size + (10.0 if len(bursts) == 1 else 0.0) - (20.0 if crowded or near else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.split("x"))

    from vr.backends.screen import ScreenBackend
    from vr.render.game_view import GameView
    from vr.render.landscape import LandscapeView
    from vr.render.scene_view import build_scene

    backend = ScreenBackend("offscreen", size, "distraction screenshots")
    base = backend.base
    for name, profile_file, burst_age in SHOTS:
        runs = [(seed, *play(profile_file, args.seconds, seed)) for seed in SEEDS]
        after_s = min(20.0, args.seconds / 2)
        seed, loaded, frames, k = max(((seed, loaded, frames, k) for seed, loaded, frames in runs
                                       for k in range(len(frames)) if frames[k][0].t_s >= after_s),
                                      key=lambda c: moment_score(c[2][c[3]][0], burst_age))
        scene, profile = loaded.scene.config, loaded.config
        world_root = base.render.attachNewNode("world")
        room, lights = build_scene(scene, world_root)
        for static in room.findAllMatches("static"):    # the landscape is the ground here
            static.removeNode()
        for light in lights:
            world_root.setLight(light)
        land = LandscapeView(world_root, scene, seed)
        game = GameView(world_root, base.render2d, profile.game.action, scene.landscape.type, seed)
        land.apply_fog(game.root)
        backend.set_clear_color(land.clear_color)
        for world, s_m in frames[max(0, k - 60):k + 1]:   # two seconds of lead-in, so motion settles
            land.update(world.game.rig_position_m, s_m, world.t_s)
            game.apply(world, DT_S)
        world = frames[k][0]
        backend.place_camera(world.head)
        base.graphicsEngine.renderFrame()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            base.graphicsEngine.renderFrame()
            times.append(time.perf_counter() - t0)
        backend.screenshot(out / name)
        g = world.game
        print(f"{out / name}: seed {seed}, t={world.t_s:.1f} s, {int(g.alive.sum())} targets, score {g.score}, "
              f"hit ages {np.round(g.hit_age_s[np.isfinite(g.hit_age_s) & (g.hit_age_s < 1)], 2).tolist()}, "
              f"frame {1000 * min(times):.1f} ms, tile triangles {land.triangles}")
        game.destroy()
        land.destroy()
        world_root.removeNode()
    backend.close()


if __name__ == "__main__":
    main()
