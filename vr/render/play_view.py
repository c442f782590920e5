"""The view of a distraction session: the landscape along the glide, the game, the companion.

``PlayView`` has the interface of ``WorldView`` (the frame loop cannot tell them apart): it
keeps a ``WorldView`` for the companion, the safe scene and the fades, and adds the landscape
(``vr.render.landscape``) and the game (``vr.render.game_view``), shown only while the session
is in its distraction scene.
"""

from __future__ import annotations

from panda3d.core import NodePath

from vr.render.game_view import GameView
from vr.render.landscape import LandscapeView
from vr.render.world_view import WorldView
from vr.sim import WorldState


class PlayView:
    def __init__(self, render: NodePath, overlay: NodePath | None, loaded, session, *, batched: bool = True,
                 ambience=None, sounds=None) -> None:
        """``sounds``: a ``GameSounds`` (chimes on hits), where audio plays."""
        self.sounds = sounds
        profile = loaded.config
        scene = loaded.scene.config
        self.scene_name = profile.scene
        scenes = {profile.scene: scene, profile.safety.safe_scene: loaded.safe_scene.config}
        self.world = WorldView(render, overlay, scenes, session.human_seed, session.height_m, batched=batched,
                               ambience=ambience)
        # Under the world's root, so the scene's lights (set there) light the landscape and the targets.
        self.landscape = LandscapeView(self.world.root, scene, session.seed)
        self.game = GameView(self.world.root, overlay, profile.game.action, scene.landscape.type, session.seed)
        self.landscape.apply_fog(self.game.root)  # targets fade into the haze with the landscape
        self.sled = self._sled(self.world.root) if session.n else None
        self._in_game = True

    @staticmethod
    def _sled(parent: NodePath) -> NodePath:
        """A small wooden sled the companion sits on (it rides the glide beside the patient)."""
        from vr.render.geom import Mesh, translate

        m = Mesh()
        wood, runner = (0.55, 0.36, 0.22), (0.35, 0.36, 0.40)
        m.box((0.7, 0.9, 0.08), wood, translate(0.0, 0.0, 0.40))
        for side in (-0.3, 0.3):
            m.box((0.06, 1.1, 0.05), runner, translate(side, 0.0, 0.0))
            for y in (-0.35, 0.35):
                m.box((0.05, 0.05, 0.38), runner, translate(side, y, 0.02))
        node = parent.attachNewNode(m.node("sled"))
        node.hide()
        return node

    @property
    def clear_color(self) -> tuple[float, float, float, float]:
        return self.landscape.clear_color if self._in_game else self.world.clear_color

    def apply(self, world: WorldState, dt_s: float, camera_xy: tuple[float, float], mouth=None) -> None:
        self.world.apply(world, dt_s, camera_xy, mouth=mouth)
        in_game = world.scene == self.scene_name and world.game is not None
        if in_game != self._in_game:
            self._in_game = in_game
            for view in (self.landscape, self.game):
                root = getattr(view, "root", None)
                if root is not None:
                    (root.show if in_game else root.hide)()
        if in_game:
            g = world.game
            self.landscape.update(g.rig_position_m, g.rig_s_m, world.t_s)
            self.game.apply(world, dt_s)
        if self.sled is not None:
            h = world.humans
            if in_game and h.present[0]:
                self.sled.show()
                self.sled.setPosHpr(float(h.position_m[0, 0]), float(h.position_m[0, 1]), 0.0, float(h.body_yaw_deg[0]),
                                    0.0, 0.0)
            else:
                self.sled.hide()

    def on_events(self, events) -> None:
        """The frame loop hands every step's events here: hits chime."""
        if self.sounds is not None:
            self.sounds.on_events(events)

    def voice_of(self, index: int) -> NodePath:
        return self.world.voice_of(index)

    def destroy(self) -> None:
        self.game.destroy()
        self.landscape.destroy()
        self.world.destroy()
