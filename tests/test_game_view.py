"""The distraction game's view, rendered offscreen and checked by pixels: the canyon and the reef
from the rig's seat, haze with distance, targets where the game puts them, hit bursts, the
reticle, the breathing pacer, and tiles that keep following the rig."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from conftest import ROOT, offscreen_or_skip
from vr.config import load_profile
from vr.sim import HeadPose
from vr.sim.distraction import DistractionSession
from vr.sim.glide import WAVELENGTH_M, path_points
from vr.sim.player import GamePlayer, PlayerParams

SIZE = (480, 270)
DT = 1 / 30
PROFILES = {"canyon": "burn_dressing_snow.yaml", "reef": "needle_reef.yaml"}


@pytest.fixture(scope="module")
def backend():
    from vr.backends.screen import ScreenBackend

    b = offscreen_or_skip(lambda: ScreenBackend("offscreen", SIZE, "tests"))
    yield b
    b.close()


class Game:
    """One distraction scene on screen: a played session's last world, the landscape, the game view."""

    def __init__(self, backend, landscape: str) -> None:
        from vr.render.game_view import GameView
        from vr.render.landscape import LandscapeView
        from vr.render.scene_view import build_scene

        loaded = load_profile(ROOT / "exposure_profiles" / PROFILES[landscape])
        self.scene, profile = loaded.scene.config, loaded.config
        session = DistractionSession(profile, self.scene, 2)
        player = GamePlayer(PlayerParams(skill=0.6), 2, session.head)
        world = None
        for _ in range(int(8.0 / DT)):
            world, _ = session.step(player.act(world, DT), DT)
        self.s_m = session.glide.s_m
        self.backend, self.base = backend, backend.base
        self.root = self.base.render.attachNewNode("world")
        room, lights = build_scene(self.scene, self.root)
        for static in room.findAllMatches("static"):      # the landscape is the ground
            static.removeNode()
        for light in lights:
            self.root.setLight(light)
        self.land = LandscapeView(self.root, self.scene, 2)
        self.game = GameView(self.root, self.base.render2d, profile.game.action, landscape, 2)
        self.land.apply_fog(self.game.root)
        backend.set_clear_color(self.land.clear_color)
        g = world.game
        n = len(g.alive)
        self.yaw = g.rig_yaw_deg
        eye = world.head.position_m
        head = HeadPose(eye, self.yaw, 0.0, 0.0)             # looking straight along the glide
        empty = replace(g, alive=np.zeros(n, bool), hit_age_s=np.full(n, np.inf), dwell=np.zeros(n),
                        breathing_on=False)
        self.world = replace(world, head=head, game=empty)
        self.t = world.t_s

    def ahead(self, forward_m: float, right_m: float = 0.0, up_m: float = 0.0) -> np.ndarray:
        """A point in the rig's frame from the eyes (right, forward, up), in the scene's frame."""
        r = math.radians(self.yaw)
        eye = np.asarray(self.world.head.position_m)
        return eye + forward_m * np.array([-math.sin(r), math.cos(r), 0.0]) + \
            right_m * np.array([math.cos(r), math.sin(r), 0.0]) + np.array([0.0, 0.0, up_m])

    def show(self, **game) -> np.ndarray:
        """Render the world with ``game`` fields replaced; the image as (h, w, 3) in 0-1, top row first."""
        self.t += DT
        world = replace(self.world, t_s=self.t, game=replace(self.world.game, **game))
        self.land.update(world.game.rig_position_m, self.s_m, self.world.t_s)   # snow held still
        self.game.apply(world, DT)
        self.backend.place_camera(world.head)
        self.base.graphicsEngine.renderFrame()
        tex = self.base.win.getScreenshot()
        data = np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8)
        return data.reshape(tex.getYSize(), tex.getXSize(), 3)[::-1] / 255.0

    def pixel(self, point) -> tuple[int, int]:
        from panda3d.core import Point2, Point3

        p = self.base.cam.getRelativePoint(self.base.render, Point3(*point))
        p2 = Point2()
        assert self.base.camLens.project(p, p2), f"{point} is off screen"
        return int((p2.x + 1) / 2 * SIZE[0]), int((1 - p2.y) / 2 * SIZE[1])

    def one_target(self, at: np.ndarray, radius: float = 0.6, kind: int = 1, **more) -> dict:
        g = self.world.game
        n = len(g.alive)
        pos = np.array(g.position_m, float)
        pos[0] = at
        alive = np.zeros(n, bool)
        alive[0] = True
        return {"alive": alive, "position_m": pos, "radius_m": np.full(n, radius), "kind": np.full(n, kind, np.int8),
                **more}

    def close(self) -> None:
        self.game.destroy()
        self.land.destroy()
        self.root.removeNode()


@pytest.fixture(scope="module", params=["canyon", "reef"])
def game(backend, request):
    g = Game(backend, request.param)
    g.show()           # the first frame compiles the shaders
    yield request.param, g
    g.close()


def luma(img: np.ndarray) -> np.ndarray:
    return img @ np.array([0.299, 0.587, 0.114])


def test_each_landscape_renders_what_it_should_from_the_seat(game):
    kind, g = game
    img = g.show()
    if kind == "canyon":
        y = luma(img)
        assert (y > 0.6).mean() > 0.6, "the canyon is mostly snow and sky"
        top = y[: SIZE[1] * 2 // 3]
        left, right = top[:, : SIZE[0] // 7].mean(), top[:, -SIZE[0] // 7:].mean()
        centre = top[:, SIZE[0] * 2 // 5: SIZE[0] * 3 // 5].mean()
        assert max(left, right) < centre - 0.05, "rock walls darken both sides"
    else:
        r, gr, b = img[..., 0], img[..., 1], img[..., 2]
        assert ((b > r) & (gr > r)).mean() > 0.55, "the reef is mostly blue-green"
    fog = np.asarray(g.scene.landscape.fog_rgb)
    s_far = 70.0 if kind == "canyon" else 30.0
    x, y_, _ = path_points(g.s_m + s_far)[-1]
    near = img[g.pixel(g.ahead(3.0, 0.0, -1.2))[::-1]]
    far = img[g.pixel((x, y_, 0.0))[::-1]]
    assert np.abs(far - fog).max() < 0.5 * np.abs(near - fog).max(), (near, far, fog)


def test_a_live_target_is_drawn_where_the_game_puts_it(game):
    _, g = game
    background = g.show()
    at = g.ahead(6.0, 1.2)
    shown = g.show(**g.one_target(at))
    x, y = g.pixel(at)
    assert np.abs(shown[y - 1:y + 2, x - 1:x + 2] - background[y - 1:y + 2, x - 1:x + 2]).max() > 0.15
    gone = g.show(**g.one_target(at, alive=np.zeros(len(g.world.game.alive), bool)))
    assert np.abs(gone[y - 8:y + 9, x - 8:x + 9] - background[y - 8:y + 9, x - 8:x + 9]).max() < 0.03


def test_a_hit_shows_a_burst_where_the_target_was(game):
    kind, g = game
    at = g.ahead(6.0, -1.0)
    n = len(g.world.game.alive)
    background = g.show()
    g.show(**g.one_target(at))
    x, y = g.pixel(at)
    box = (slice(y - 25, y + 26), slice(x - 25, x + 26))
    for age in (0.45, 0.6):
        hit = g.show(**g.one_target(at, alive=np.zeros(n, bool), hit_age_s=np.where(np.arange(n) == 0, age, np.inf)))
        changed = np.abs(hit[box] - background[box]).max(axis=-1) > 0.12
        assert changed.sum() > 40, f"{kind}: burst at {age} s covers {changed.sum()} pixels"
        if kind == "reef":
            assert luma(hit[box]).mean() > luma(background[box]).mean() + 0.05, "the fish's glow brightens"
    assert np.abs(g.show()[box] - background[box]).max() < 0.03, "after a second the burst is gone"


def test_the_reticle_is_at_the_image_centre_when_looking_straight(game):
    _, g = game
    img = g.show()
    cx, cy = SIZE[0] // 2, SIZE[1] // 2
    warm = lambda p: (p[..., 0] > 0.8) & (p[..., 0] - p[..., 2] > 0.3)
    assert warm(img[cy - 2:cy + 3, cx - 2:cx + 3]).any()
    assert not warm(img[cy - 2:cy + 3, cx - 40:cx - 35]).any()


def test_the_breathing_pacer_grows_with_the_breath(game):
    _, g = game
    off = g.show()
    x, y = g.pixel(g.ahead(2.5, 0.0, -0.3))
    widths = []
    for breath in (0.1, 0.9):
        img = g.show(breathing_on=True, breath=breath)
        row = slice(x - SIZE[0] // 6, x + SIZE[0] // 6)
        changed = np.flatnonzero(np.abs(img[y, row] - off[y, row]).max(axis=-1) > 0.05)
        assert len(changed), f"no pacer drawn at breath {breath}"
        widths.append(changed.max() - changed.min())
    assert widths[1] > 1.8 * widths[0], widths


def test_tiles_follow_the_rig_and_stay_three(game):
    _, g = game
    land = g.land
    s = 2.5 * WAVELENGTH_M
    x, y, heading = path_points(s)[-1]
    world = replace(g.world, head=HeadPose((x, y, 1.2), heading, -5.0, 0.0),
                    game=replace(g.world.game, rig_position_m=(x, y, 0.0), rig_yaw_deg=heading))
    land.update((x, y, 0.0), s, g.t)
    g.game.apply(world, DT)
    g.backend.place_camera(world.head)
    assert len(land.root.findAllMatches("tile-*")) == 3
    placed = sorted(round(t.getY() / land.tile_step_m[1]) for t in land.tiles)
    assert placed == [1, 2, 3]
    land.update((x, y, 0.0), None, g.t)          # the same tiles from the position alone
    assert sorted(round(t.getY() / land.tile_step_m[1]) for t in land.tiles) == [1, 2, 3]
    g.base.graphicsEngine.renderFrame()
    with_ground = g.base.win.getScreenshot()
    for tile in land.tiles:
        tile.hide()
    g.base.graphicsEngine.renderFrame()
    sky_only = g.base.win.getScreenshot()
    for tile in land.tiles:
        tile.show()
    a, b = (np.frombuffer(bytes(t.getRamImageAs("RGB")), np.uint8).astype(int) for t in (with_ground, sky_only))
    assert (np.abs(a - b).reshape(-1, 3).max(axis=1) > 12).mean() > 0.4, "ground and walls surround the camera"
    land.update(g.world.game.rig_position_m, g.s_m, g.world.t_s)


def test_tiles_join_and_stay_within_budget(game):
    _, g = game
    land, ground = g.land, g.land.ground
    u = ground.columns()
    assert np.allclose(ground.height(np.zeros_like(u), u), ground.height(np.full_like(u, WAVELENGTH_M), u), atol=1e-6)
    assert abs(land.tile_step_m[0]) < 1e-6 and land.tile_step_m[1] > 0.9 * WAVELENGTH_M
    assert all(0 < n <= 60_000 for n in land.triangles), land.triangles
