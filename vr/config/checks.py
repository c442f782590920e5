"""Checks that span several fields or files (things a single field's range cannot say)."""

from __future__ import annotations

import math
from pathlib import Path

from vr.config.avatar import AvatarError, inspect_avatar
from vr.config.errors import Problem
from vr.config.profile import ProfileConfig
from vr.config.scene import SceneConfig, SpawnConfig
from vr.config.yamlsrc import Source

SPAWN_SEPARATION_M = 0.45


def expand_spawns(scene: SceneConfig) -> tuple[SpawnConfig, ...]:
    """Every place for a virtual human, in the order they are used (spawns, then seat grids)."""
    out = list(scene.spawns)
    for grid in scene.seat_grids:
        sign = 1.0 if grid.row_direction == "+y" else -1.0
        for r in range(grid.rows):
            for s in range(grid.seats_per_row):
                x = grid.first_seat_m[0] + s * grid.seat_spacing_m
                y = grid.first_seat_m[1] + sign * r * grid.row_spacing_m
                out.append(SpawnConfig(id=f"{grid.id}-r{r + 1}-s{s + 1}", path_m=((x, y),), seated=True,
                                       yaw_deg=grid.yaw_deg))
    return tuple(out)


def check_scene(scene: SceneConfig, src: Source) -> list[Problem]:
    problems = []
    w, d, h = scene.room.size_m
    half_w, half_d = w / 2, d / 2

    def inside(x: float, y: float) -> bool:
        return scene.room.outdoor or (-half_w <= x <= half_w and -half_d <= y <= half_d)

    for axis, v in zip("xyz", scene.room.size_m):
        if not 1.0 <= v <= 500.0:
            problems.append(src.problem(("room", "size_m"), f"room size {axis}={v} m is out of range",
                                        "use 1 to 500 m"))
    px, py = scene.patient.position_m
    if not inside(px, py):
        problems.append(src.problem(("patient", "position_m"), f"patient place ({px}, {py}) is outside the room "
                                    f"({w} x {d} m centred on 0, 0)", "move it inside the room"))
    for i, prop in enumerate(scene.props):
        x, y, _ = prop.position_m
        if not inside(x, y):
            problems.append(src.problem(("props", i, "position_m"), f"{prop.type} at ({x}, {y}) is outside the "
                                        f"room ({w} x {d} m centred on 0, 0)", "move it inside the room"))
    ids: dict[str, int] = {}
    for i, spawn in enumerate(scene.spawns):
        if spawn.id in ids:
            problems.append(src.problem(("spawns", i, "id"), f"spawn id {spawn.id!r} is used twice",
                                        "give every spawn its own id"))
        ids[spawn.id] = i
        for j, (x, y) in enumerate(spawn.path_m):
            if not inside(x, y):
                problems.append(src.problem(("spawns", i, "path_m", j), f"point ({x}, {y}) is outside the room",
                                            f"keep x within +-{half_w} and y within +-{half_d}"))
        if spawn.seated and spawn.sits_at_end:
            problems.append(src.problem(("spawns", i, "sits_at_end"), "a spawn is either seated from the start or "
                                        "sits at the end of its walk", "keep seated: true or sits_at_end: true"))
        if spawn.seated and len(spawn.path_m) != 1:
            problems.append(src.problem(("spawns", i, "path_m"), "a seated spawn has exactly one point",
                                        "give one point, or set seated: false"))
    grid_ids = [g.id for g in scene.seat_grids]
    for i, g in enumerate(scene.seat_grids):
        if grid_ids.count(g.id) > 1 or g.id in ids:
            problems.append(src.problem(("seat_grids", i, "id"), f"id {g.id!r} is used twice", "rename it"))
    places = expand_spawns(scene)
    starts = [(s.id, s.path_m[0]) for s in places]
    seen: dict[tuple[int, int], list[tuple[str, tuple[float, float]]]] = {}
    for sid, (x, y) in starts:
        cell = (int(math.floor(x / SPAWN_SEPARATION_M)), int(math.floor(y / SPAWN_SEPARATION_M)))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for other, (ox, oy) in seen.get((cell[0] + dx, cell[1] + dy), []):
                    if math.hypot(x - ox, y - oy) < SPAWN_SEPARATION_M:
                        where = ("spawns", ids[sid]) if sid in ids else ("seat_grids",)
                        problems.append(src.problem(where, f"places {other!r} and {sid!r} start less than "
                                                    f"{SPAWN_SEPARATION_M} m apart",
                                                    "spread them out so two humans never stand in one place"))
        seen.setdefault(cell, []).append((sid, (x, y)))
    if not scene.room.outdoor:
        for i, grid in enumerate(scene.seat_grids):
            sign = 1.0 if grid.row_direction == "+y" else -1.0
            far = (grid.first_seat_m[0] + (grid.seats_per_row - 1) * grid.seat_spacing_m,
                   grid.first_seat_m[1] + sign * (grid.rows - 1) * grid.row_spacing_m)
            for x, y in (grid.first_seat_m, far):
                if not inside(x, y):
                    problems.append(src.problem(("seat_grids", i), f"seat ({x:.2f}, {y:.2f}) is outside the room",
                                                "fewer rows or seats, or move first_seat_m"))
                    break
    return problems


def avatar_file(scene_file: Path, avatar: str) -> Path:
    """Where a spawn's ``avatar`` is: its path as written, relative to the scene file's folder."""
    return Path(scene_file).parent / Path(avatar).expanduser()


def check_avatars(scene: SceneConfig, src: Source) -> list[Problem]:
    """Every avatar a scene names exists and is a skinned glTF/VRM humanoid with the bones we pose."""
    problems = []
    for i, spawn in enumerate(scene.spawns):
        if spawn.avatar is None:
            continue
        try:
            inspect_avatar(avatar_file(Path(src.file), spawn.avatar))
        except AvatarError as e:
            problems.append(src.problem(("spawns", i, "avatar"), f"avatar {spawn.avatar} {e.message}", e.fix))
    return problems


def check_profile(profile: ProfileConfig, src: Source, scene: SceneConfig, safe: SceneConfig) -> list[Problem]:
    problems = []
    cap = profile.safety.max_intensity
    capacity = len(expand_spawns(scene))
    if safe.kind != "safe":
        problems.append(src.problem(("safety", "safe_scene"), f"safe_scene {profile.safety.safe_scene!r} is a "
                                    f"{safe.kind} scene", "name a scene whose kind is 'safe' (e.g. calm_room)"))
    if scene.kind == "safe" and any(s.humans for s in profile.steps):
        problems.append(src.problem(("scene",), f"scene {profile.scene!r} is a safe scene, with no places for "
                                    "virtual humans", "choose a social scene (e.g. auditorium)"))
    for i, step in enumerate(profile.steps):
        if step.intensity > cap:
            problems.append(src.problem(("steps", i, "intensity"), f"intensity {step.intensity} exceeds "
                                        f"safety.max_intensity {cap}", "lower it, or raise the cap deliberately"))
        if step.dialogue.intensity is not None and step.dialogue.intensity > cap:
            problems.append(src.problem(("steps", i, "dialogue", "intensity"), f"dialogue intensity "
                                        f"{step.dialogue.intensity} exceeds safety.max_intensity {cap}",
                                        "lower it, or raise the cap deliberately"))
        dist = step.proximity.distance_m
        if dist is not None and dist < profile.safety.min_distance_m:
            problems.append(src.problem(("steps", i, "proximity", "distance_m"), f"distance {dist} m is inside "
                                        f"safety.min_distance_m {profile.safety.min_distance_m} m",
                                        "raise it; no human may come closer than the safety minimum"))
        if step.humans > capacity:
            problems.append(src.problem(("steps", i, "humans"), f"{step.humans} humans but scene "
                                        f"{profile.scene!r} has places for {capacity}",
                                        f"use at most {capacity}, or add spawns to the scene"))
        rule = step.advance
        if rule.suds_at_most is not None and rule.suds_at_most >= profile.safety.suds_ceiling:
            problems.append(src.problem(("steps", i, "advance_when", "suds_at_most"),
                                        f"suds_at_most {rule.suds_at_most} is not below safety.suds_ceiling "
                                        f"{profile.safety.suds_ceiling}: the step would advance without anxiety "
                                        "coming down", "use a SUDS level well below the ceiling (e.g. 40)"))
        if step.retreat_when and rule.suds_at_most is not None and \
                step.retreat_when.suds_at_least <= rule.suds_at_most:
            problems.append(src.problem(("steps", i, "retreat_when", "suds_at_least"),
                                        f"retreat level {step.retreat_when.suds_at_least} is at or below the "
                                        f"advance level {rule.suds_at_most}",
                                        "retreat only at a SUDS clearly above the advance level"))
    return problems


def check_distraction(profile, src: Source, scene: SceneConfig, safe: SceneConfig) -> list[Problem]:
    """Cross-file checks of a distraction profile: a distraction scene with a landscape, a safe scene."""
    problems = []
    if safe.kind != "safe":
        problems.append(src.problem(("safety", "safe_scene"), f"safe_scene {profile.safety.safe_scene!r} is a "
                                    f"{safe.kind} scene", "name a scene whose kind is 'safe' (e.g. calm_room)"))
    if scene.kind != "distraction" or scene.landscape is None:
        problems.append(src.problem(("scene",), f"scene {profile.scene!r} is a {scene.kind} scene"
                                    + ("" if scene.landscape else " with no landscape"),
                                    "choose a distraction scene (snowy_canyon or reef)"))
    game = profile.game
    if game.radius_hard_m > game.radius_easy_m:
        problems.append(src.problem(("game", "radius_hard_m"), "the hard radius is larger than the easy one",
                                    "make radius_hard_m at most radius_easy_m"))
    if game.aim == "controller" and game.select == "dwell":
        problems.append(src.problem(("game", "select"), "aiming only by controller but selecting only by dwell",
                                    "use select: trigger or either with a controller"))
    return problems
