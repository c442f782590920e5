"""The scene places that draw a user's own avatar instead of a generated person.

A scene's spawn may name a rigged glTF/VRM humanoid (``avatar:``, see ``docs/humans.md#your-own-avatar``).
Whichever human slot the session puts at that place is then drawn as the avatar, posed from the
crowd's posing pass (``posing.CrowdPose.local_rot``), and the instanced crowd leaves that slot out.
Each avatar file is loaded once when the view is built, so a slot arriving costs no file access;
the loop below runs over the avatar places (one or two in practice), never over the crowd.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from panda3d.core import NodePath

from vr.config import SceneConfig, expand_spawns
from vr.render.avatar import AvatarView, root_shift_m

DEFAULT_HEIGHT_M = 1.70


class AvatarPlaces:
    """The avatars of one scene's places. ``files``: spawn id -> avatar file (``LoadedScene.avatar_files``)."""

    def __init__(self, parent: NodePath, scene: SceneConfig, files: Mapping[str, Path]) -> None:
        ids = [s.id for s in expand_spawns(scene)]
        self.views: dict[int, AvatarView] = {}
        for spawn_id, path in files.items():
            if spawn_id not in ids:
                raise ValueError(f"avatar {path} is given for place {spawn_id!r}, which scene {scene.name!r} "
                                 f"does not have (its places: {', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''})")
            view = AvatarView(path, parent, DEFAULT_HEIGHT_M)
            view.root.hide()
            self.views[ids.index(spawn_id)] = view
        self.slot_at = {place: -1 for place in self.views}   # place -> the slot drawn there now (-1 none)

    def apply(self, humans, pose, rig) -> np.ndarray:
        """Pose the avatar of every place a present slot stands at; returns (N,) bool: slots drawn so."""
        drawn = np.zeros(len(humans.present), bool)
        place = humans.place
        for where, view in self.views.items():
            here = np.flatnonzero((place == where) & humans.present & pose.visible) if place is not None else ()
            if len(here) == 0:
                if self.slot_at[where] >= 0:
                    view.root.hide()
                    self.slot_at[where] = -1
                continue
            i = int(here[0])
            if abs(view.height_m - float(humans.height_m[i])) > 1e-6:
                view.set_height(float(humans.height_m[i]))
            shift = root_shift_m(pose.skin[i, 0], rig.joint_heads_m[i, 0], float(rig.scale[i]), rig.shift_m[i],
                                 humans.position_m[i], float(humans.body_yaw_deg[i]))
            view.apply(pose.local_rot[i], humans.position_m[i], float(humans.body_yaw_deg[i]), shift)
            if self.slot_at[where] < 0:
                view.root.show()
            self.slot_at[where] = i
            drawn[i] = True
        return drawn

    def destroy(self) -> None:
        for view in self.views.values():
            view.destroy()
        self.views.clear()
