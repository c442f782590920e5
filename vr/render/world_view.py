"""The view of a session's world: the current scene, every human posed, the safe-scene fade.

``WorldView.apply(world, dt_s)`` is the only thing the frame loop calls; it reads the world
state and never changes it. The humans are the baked skinned, dressed bodies by default
(``humans="skinned"``): one ``posing.CrowdPoser.pose`` a frame for all of them, drawn instanced
by ``crowd_view.CrowdView`` (looks from each slot's seed, in the scene's dress style). The older
humans built of primitives (``humans="procedural"``: ``human.py``, ``animate.py``, one Python
pose call per human) remain for when the baked assets are missing (a checkout without them, a
re-bake under way) and for the benchmark's comparison. A change of scene (panic, stop) switches
the geometry in the same frame and fades in from dark.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from panda3d.core import CardMaker, CullBinEnums, CullBinManager, NodePath, TransparencyAttrib

from vr.config import SceneConfig
from vr.render.animate import Poser
from vr.render.motion import SIT_S
from vr.render.human import Appearance, build_human
from vr.render.scene_view import background, build_scene
from vr.render.shading import apply_shading
from vr.sim import WorldState
from vr.sim.session import eye_position_m

HUMAN_KINDS = ("skinned", "procedural")
# The dress style (garments.SCENES) of each shipped scene's people; others dress casually.
DRESS_STYLE = {"auditorium": "office", "interview_room": "office", "elevator": "office"}
NEAR_M = 4.0        # closer than this a human is drawn in full detail (face, smooth limbs)
LOD_MARGIN_M = 0.3  # hysteresis, so a human at the boundary does not flicker between levels
FADE_S = 0.8
MOUTH_BELOW_EYES_M = 0.08
FADE_START = 0.55   # the first frame after a switch already shows the new scene, dimmed


@dataclass
class HumanSlot:
    """One simulated human: a far (light) rig built up front, a near (full) rig built when first needed."""

    seed: int
    height_m: float
    far: Poser
    near: Poser | None = None
    shown: Poser | None = None


HUMANS_BIN = "vr-humans"
SCENE_BIN = "vr-scene"


def _cull_bins() -> None:
    """Humans nearest first, then the room: a software renderer then skips shading most hidden pixels."""
    manager = CullBinManager.getGlobalPtr()
    if manager.findBin(HUMANS_BIN) < 0:
        manager.addBin(HUMANS_BIN, CullBinEnums.BT_front_to_back, 15)
        manager.addBin(SCENE_BIN, CullBinEnums.BT_unsorted, 18)


class WorldView:
    """Draws one session: pass the scenes it may show, the human slots' seeds and heights."""

    def __init__(self, render: NodePath, overlay: NodePath | None, scenes: dict[str, SceneConfig],
                 seeds: np.ndarray, heights: np.ndarray, *, batched: bool = True, ambience=None,
                 humans: str = "skinned", crowd_library=None, avatars=None) -> None:
        """``scenes``: the profile's scene first, then the safe scene. The patient stays where they
        are when the scene changes, so every other scene is placed with its patient place at the
        first scene's patient place (and turned to the same heading). ``humans``: one of
        ``HUMAN_KINDS`` (skinned falls back to procedural, with a warning, when the baked assets
        are missing); ``crowd_library``: a loaded ``crowd_view.CrowdLibrary`` to share between views
        (None: loaded here, about a second); ``avatars``: spawn id of the first scene -> a user's
        avatar file drawn at that place (``LoadedScene.avatar_files``; ``avatar_places``);
        ``batched`` concerns the procedural humans only."""
        if humans not in HUMAN_KINDS:
            raise ValueError(f"humans={humans!r}: choose one of {', '.join(HUMAN_KINDS)}")
        self.root = render.attachNewNode("world")
        self.ambience = ambience  # an AmbiencePlayer, or None for silence
        self.anchor = next(iter(scenes.values())).patient
        self.scenes = scenes
        self._scene_nodes: dict[str, tuple[NodePath, list[NodePath]]] = {}
        self.scene_name: str | None = None
        _cull_bins()
        self.humans_root = self.root.attachNewNode("humans")
        self.humans_root.setBin(HUMANS_BIN, 0)
        self.batched = batched
        self.crowd = self.poser = self.pose = self.avatars = None
        self._sit_from = self._sit_left = self._last_xy = self._last_posture = None
        self._avatar_drawn = np.zeros(len(seeds), bool)
        self.slots: list[HumanSlot] = []
        if humans == "skinned" and len(seeds):
            humans = self._build_crowd(np.asarray(seeds), np.asarray(heights), next(iter(scenes)), crowd_library)
            if humans == "skinned" and avatars:
                from vr.render.avatar_places import AvatarPlaces

                self.avatars = AvatarPlaces(self.humans_root, next(iter(scenes.values())), avatars)
        if humans == "procedural":
            if avatars:
                import warnings

                warnings.warn("a user's avatar is drawn only with the skinned humans; "
                              "its place shows a generated person", stacklevel=2)
            self.slots = [self._build(int(seed), float(height), batched) for seed, height in zip(seeds, heights)]
        self.humans = humans
        self._voices: dict[int, NodePath] = {}
        self._humans = None
        self._fade_left = 0.0
        self._fade_card = None
        if overlay is not None:
            cm = CardMaker("fade")
            cm.setFrameFullscreenQuad()
            self._fade_card = overlay.attachNewNode(cm.generate())
            self._fade_card.setTransparency(TransparencyAttrib.MAlpha)
            self._fade_card.setColor(0, 0, 0, 0)
            self._fade_card.setBin("fixed", 100)
            self._fade_card.hide()
        self.clear_color = (0.0, 0.0, 0.0, 1.0)

    def _build_crowd(self, seeds: np.ndarray, heights: np.ndarray, scene: str, library) -> str:
        """The skinned crowd; 'skinned', or 'procedural' where the baked assets are missing."""
        import warnings

        from vr.render import crowd_view

        try:
            from vr.render import posing

            library = library or crowd_view.CrowdLibrary(posing.FACE_UNITS)
            rig = posing.build_rig(seeds, heights)
        except (FileNotFoundError, ImportError) as e:
            warnings.warn(f"drawing the procedural humans: {e}", stacklevel=3)
            return "procedural"
        self.poser = posing.CrowdPoser(rig)
        self.crowd = crowd_view.CrowdView(self.humans_root, library, rig.bodies, seeds, rig.shape_weights,
                                          DRESS_STYLE.get(scene, "casual"))
        return "skinned"

    @property
    def shown(self) -> np.ndarray:
        """(N,) bool: the humans drawn in the last frame."""
        if self.crowd is not None:
            return self.crowd.drawn | self._avatar_drawn
        return np.array([s.shown is not None for s in self.slots], bool)

    def _build(self, seed: int, height: float, batched: bool) -> HumanSlot:
        return HumanSlot(seed, height, self._rig(seed, height, batched, detail=0))

    def _rig(self, seed: int, height: float, batched: bool, detail: int) -> Poser:
        rig = build_human(Appearance.from_seed(seed, height), batched=batched, detail=detail)
        rig.root.reparentTo(self.humans_root)
        rig.root.hide()
        return Poser(rig, seed)

    def _level(self, slot: HumanSlot, distance_m: float) -> Poser:
        """The rig to draw at this distance (with hysteresis around NEAR_M)."""
        near_now = slot.shown is not None and slot.shown is slot.near
        limit = NEAR_M + (LOD_MARGIN_M if near_now else -LOD_MARGIN_M)
        if distance_m < limit:
            if slot.near is None:
                slot.near = self._rig(slot.seed, slot.height_m, self.batched, detail=1)
            return slot.near
        return slot.far

    def _show_scene(self, name: str) -> None:
        if self.scene_name is not None:
            node, lights = self._scene_nodes[self.scene_name]
            node.detachNode()
            for light in lights:
                self.root.clearLight(light)
        if name not in self._scene_nodes:
            node, lights = build_scene(self.scenes[name], self.root)
            node.setBin(SCENE_BIN, 0)
            self._place(node, self.scenes[name])
            self._scene_nodes[name] = (node, lights)
        node, lights = self._scene_nodes[name]
        node.reparentTo(self.root)
        for light in lights:  # on the world root, so scene and humans share them
            self.root.setLight(light)
        count = sum(1 for light in lights if not light.node().isAmbientLight())
        apply_shading(self.root, count)
        if self.crowd is not None:
            self.crowd.set_lights(count)
        else:
            apply_shading(self.humans_root, count, skinned=self.batched)
        self.clear_color = background(self.scenes[name])
        if self.ambience is not None:
            sound = self.scenes[name].ambient_sound
            self.ambience.play(sound.name if sound else None, sound.volume if sound else 0.0)
        if self.scene_name is not None:
            self._fade_left = FADE_S
        self.scene_name = name

    def _place(self, node: NodePath, scene: SceneConfig) -> None:
        """Put ``scene``'s patient place where the first scene's patient place is."""
        here, there = scene.patient, self.anchor
        turn = there.yaw_deg - here.yaw_deg
        c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))
        x, y = here.position_m
        node.setH(turn)
        node.setPos(there.position_m[0] - (c * x - s * y), there.position_m[1] - (s * x + c * y), 0.0)

    def on_events(self, events) -> None:
        """The exposure scene reads everything it shows from the world state; events change nothing here."""

    def apply(self, world: WorldState, dt_s: float, camera_xy: tuple[float, float], mouth=None) -> None:
        """Show ``world``: scene, humans, fade. Reads the state only. ``mouth``: speaker id -> the
        loudness (0-1) of the line they are saying, or None where no audio is known."""
        if world.scene != self.scene_name:
            self._show_scene(world.scene)
        h = world.humans
        self._humans = h
        if self.crowd is not None:
            self._apply_crowd(world, dt_s, camera_xy, mouth)
        present = h.present
        cx, cy = camera_xy
        for i, slot in enumerate(self.slots):
            if present[i]:
                dx, dy = h.position_m[i, 0] - cx, h.position_m[i, 1] - cy
                poser = self._level(slot, float(np.hypot(dx, dy)))
                if slot.shown is not poser:
                    if slot.shown is not None:
                        slot.shown.rig.root.hide()
                    poser.rig.root.show()
                    slot.shown = poser
                level = mouth(h.ids[i]) if (mouth is not None and h.speaking[i]) else None
                if h.speaking[i] and i in self._voices:
                    self._place_voice(h, i)
                poser.pose(h, i, world.t_s, dt_s, camera_xy, level)
            elif slot.shown is not None:
                slot.shown.rig.root.hide()
                slot.shown = None
        if self._fade_card is not None:
            if self._fade_left > 0.0:
                self._fade_card.show()
                self._fade_card.setColor(0, 0, 0, FADE_START * self._fade_left / FADE_S)
                self._fade_left = max(self._fade_left - dt_s, 0.0)
            else:
                self._fade_card.hide()

    def _apply_crowd(self, world: WorldState, dt_s: float, camera_xy: tuple[float, float], mouth) -> None:
        """Pose every human in one pass and upload the pose (see ``crowd_view``)."""
        h = world.humans
        level = None
        speaking = np.flatnonzero(h.speaking & h.present)
        if mouth is not None and len(speaking):   # the loudness of each line being said (NaN: unknown)
            level = np.full(len(h.present), np.nan, np.float32)
            for i in speaking:
                value = mouth(h.ids[i])
                level[i] = np.nan if value is None else value
        camera = (float(camera_xy[0]), float(camera_xy[1]), float(world.head.position_m[2]))
        h = self._settle(h, dt_s)
        self.pose = self.poser.pose(h, world.t_s, dt_s, camera, level)
        drawn = self.pose.visible & h.present
        if self.avatars is not None:   # a place's own avatar stands in for that slot's generated person
            self._avatar_drawn = self.avatars.apply(h, self.pose, self.poser.rig)
            drawn &= ~self._avatar_drawn
        self.crowd.update(self.pose.skin, self.pose.face, drawn, h.position_m, camera)
        for i in speaking:
            if i in self._voices:
                self._place_voice(h, i)

    def _settle(self, h, dt_s: float):
        """Ease a human who sits down from where they stood onto the seat: the session moves them
        there in one step (``vr.sim.crowd.SIT_FRONT_M``); drawn, they move with the sitting motion."""
        n = len(h.present)
        if self._sit_from is None or len(self._sit_from) != n:
            self._sit_from, self._sit_left = np.zeros((n, 2)), np.zeros(n)
            self._last_xy, self._last_posture = h.position_m.copy(), h.posture.copy()
        sat = h.present & (h.posture == 2) & (self._last_posture != 2)
        jumped = sat & (np.linalg.norm(h.position_m - self._last_xy, axis=1) > 0.05)
        self._sit_from[jumped] = self._last_xy[jumped] - h.position_m[jumped]
        self._sit_left[jumped] = SIT_S
        self._sit_left[~h.present | (h.posture != 2)] = 0.0
        self._last_xy, self._last_posture = h.position_m.copy(), h.posture.copy()
        self._sit_left = np.maximum(self._sit_left - dt_s, 0.0)
        if not self._sit_left.any():
            return h
        f = self._sit_left / SIT_S
        ease = f * f * (3.0 - 2.0 * f)                       # 1 where they stood .. 0 on the seat
        return dataclasses.replace(h, position_m=h.position_m + self._sit_from * ease[:, None])

    def voice_of(self, index: int) -> NodePath:
        """A node at human ``index``'s mouth, kept there while they speak (speech sounds from it)."""
        if index not in self._voices:
            self._voices[index] = self.root.attachNewNode(f"voice-{index}")
        h = self._humans
        if h is not None and 0 <= index < len(h.ids):  # there already, before the next frame moves it
            self._place_voice(h, index)
        return self._voices[index]

    def _place_voice(self, h, i: int) -> None:
        if self.pose is not None:
            eye = self.pose.eye_m[i]
        else:
            eye = eye_position_m(h.position_m[i:i + 1], h.body_yaw_deg[i:i + 1], h.height_m[i:i + 1],
                                 h.posture[i:i + 1])[0]
        self._voices[i].setPos(float(eye[0]), float(eye[1]), float(eye[2]) - MOUTH_BELOW_EYES_M)

    def destroy(self) -> None:
        if self.avatars is not None:
            self.avatars.destroy()
        if self.ambience is not None:
            self.ambience.stop()
        self.root.removeNode()
        for node, _ in self._scene_nodes.values():
            node.removeNode()
        if self._fade_card is not None:
            self._fade_card.removeNode()
