"""Scenes: rooms built from primitives, the patient's place, and where virtual humans can be.

Coordinates are the session's: metres, Z up, +Y forward (Panda3D's convention). A room is a box
centred on the origin at floor level (x across, y along its depth). Headings (``yaw_deg``) turn
counter-clockwise seen from above; 0 faces +Y, 90 faces -X.

A standing spawn carries a ``path_m``: the human enters at its first point and walks along it
toward the patient, stopping where the path comes within the step's distance. Seated spawns
(and seat grids) stay on their seat; a ``sits_at_end`` spawn walks its whole path and sits at its end. When a step needs N humans, the N places that best suit
its distance fill first: seats whose distance is nearest the target, walkers whose path can come
that near; places that suit equally well fill in a seeded scatter, earlier-listed first on ties.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vr.config.fields import RGB, Model, param

XY = tuple[float, float]
XYZ = tuple[float, float, float]

PropType = Literal[
    "podium", "lectern", "seat", "sofa", "table", "desk", "door", "window", "screen", "stage",
    "plant", "lamp", "shelf", "rail", "panel", "box", "rug", "counter", "bench",
]


class RoomConfig(Model):
    """The enclosing box."""

    size_m: XYZ = param((8.0, 8.0, 3.0), "Width (x), depth (y) and height (z) of the room.")
    floor_rgb: RGB = param((0.55, 0.5, 0.45), "Floor colour, red-green-blue each 0-1.")
    wall_rgb: RGB = param((0.85, 0.84, 0.8), "Wall colour.")
    ceiling_rgb: RGB = param((0.95, 0.95, 0.95), "Ceiling colour.")
    outdoor: bool = param(False, "No walls or ceiling: a landscape (distraction scenes).")


class PatientPlace(Model):
    """Where the patient stands or sits at the start, and which way they face."""

    position_m: XY = param((0.0, 0.0), "Floor position of the patient's feet.")
    yaw_deg: float = param(0.0, "Heading the patient faces.", ge=-360.0, le=360.0)
    posture: Literal["standing", "sitting"] = param("standing", "Standing or sitting.")
    eye_height_m: float | None = param(
        None, "Eye height above the floor (standing 1.6 m, sitting 1.2 m when unset).", ge=0.5, le=2.2)


class PropConfig(Model):
    """One piece of furniture or architecture, drawn from primitives."""

    type: PropType = param(..., "What it is; the renderer draws each type its own way.")
    position_m: XYZ = param(..., "Centre of its footprint, on the floor (z is the height of its base).")
    size_m: XYZ = param((1.0, 1.0, 1.0), "In its own frame: width across its front, depth front to back, height.")
    yaw_deg: float = param(0.0, "Heading its front faces (0 faces +Y); turns the whole prop.", ge=-360.0, le=360.0)
    rgb: RGB | None = param(None, "Colour; unset takes the type's own.")


class LightConfig(Model):
    """A light source."""

    type: Literal["ambient", "point", "spot", "directional"] = param(..., "Kind of light.")
    position_m: XYZ = param((0.0, 0.0, 2.8), "Where it is (point, spot) or where it shines from (directional).")
    target_m: XYZ = param((0.0, 0.0, 0.0), "What a spot or directional light points at.")
    rgb: RGB = param((1.0, 0.97, 0.92), "Colour.")
    intensity: float = param(1.0, "Brightness multiplier.", ge=0.0, le=20.0)


class SoundConfig(Model):
    """Ambient sound: a procedural bed named here (synthesised, no downloaded assets)."""

    name: Literal["room_tone", "murmur", "hall", "lift_hum", "birds", "wind", "water", "train"] = param(
        "room_tone", "Which ambient bed.")
    volume: float = param(0.3, "Loudness 0-1.", ge=0.0, le=1.0)


class SpawnConfig(Model):
    """One place for one virtual human."""

    id: str = param(..., "Name of the place (unique in the scene).", min_length=1, max_length=40,
                    pattern=r"^[A-Za-z0-9_.-]+$")
    path_m: tuple[XY, ...] = param(..., "Entry point first, then the way toward the patient.", min_length=1,
                                   max_length=64)
    seated: bool = param(False, "Sits at the first point and never walks.")
    sits_at_end: bool = param(False, "Walks in along its path, stops 0.3 m short of its last point (the seat; let "
                              "the path's last 0.3 m lead in from the seat's front), turns to yaw_deg and sits "
                              "back onto it: a stranger who comes over and sits beside the patient.")
    yaw_deg: float | None = param(None, "Heading when seated or at rest; unset faces the patient.",
                                  ge=-360.0, le=360.0)
    avatar: str | None = param(
        None, "A rigged glTF 2.0 (.glb, .gltf) or VRM (.vrm) humanoid drawn in this place, its path relative to "
        "the scene file (see docs/humans.md#your-own-avatar).", min_length=1, max_length=300)


class SeatGridConfig(Model):
    """Rows of seated places, e.g. an audience (expands into seated spawns)."""

    id: str = param(..., "Prefix for the generated places (id-r1-s1, ...).", min_length=1, max_length=30,
                    pattern=r"^[A-Za-z0-9_.-]+$")
    first_seat_m: XY = param(..., "Floor position of row 1, seat 1.")
    rows: int = param(..., "Number of rows.", ge=1, le=40)
    seats_per_row: int = param(..., "Seats in each row.", ge=1, le=60)
    seat_spacing_m: float = param(0.6, "Distance between neighbouring seats (along +x).", ge=0.45, le=3.0)
    row_spacing_m: float = param(1.0, "Distance between rows (along the row direction).", ge=0.6, le=5.0)
    row_direction: Literal["+y", "-y"] = param("+y", "Which way later rows go.")
    yaw_deg: float = param(180.0, "Heading the seats face.", ge=-360.0, le=360.0)


class LandscapeConfig(Model):
    """A distraction scene's landscape, laid along the glide's path (vr/sim/glide.py)."""

    type: Literal["canyon", "reef"] = param(..., "A snowy river canyon, or a coral reef under water.")
    width_m: float = param(14.0, "Width of the valley floor (canyon) or the open water (reef).", ge=4.0, le=80.0)
    wall_height_m: float = param(18.0, "Height of the canyon walls (reef: of the rock on either side).",
                                 ge=2.0, le=80.0)
    ground_rgb: RGB = param((0.93, 0.95, 0.98), "Snow (canyon) or sand (reef).")
    wall_rgb: RGB = param((0.55, 0.58, 0.64), "Rock.")
    water_rgb: RGB = param((0.35, 0.55, 0.70), "The river (canyon) or the water's colour (reef).")
    fog_rgb: RGB = param((0.85, 0.90, 0.96), "Haze colour: distance fades into it.")
    fog_m: float = param(90.0, "Distance at which the haze hides everything.", ge=10.0, le=1000.0)
    plants: int = param(40, "Pine trees (canyon) or coral clumps (reef) along each stretch.", ge=0, le=400)
    snow: bool = param(True, "Gentle snowfall (canyon) or drifting particles (reef).")


class SceneConfig(Model):
    """A scene file in scenes/."""

    schema_version: Literal[1] = param(..., "Always 1 for this version of the toolkit.")
    name: str = param(..., "Title.", min_length=1, max_length=120)
    kind: Literal["social", "safe", "distraction"] = param(..., "What the scene is used for.")
    description: str = param("", "What it shows.", max_length=4000)
    room: RoomConfig = param(RoomConfig(), "The enclosing room.")
    patient: PatientPlace = param(PatientPlace(), "The patient's place.")
    props: tuple[PropConfig, ...] = param((), "Furniture and architecture.", max_length=2000)
    lights: tuple[LightConfig, ...] = Field(
        (LightConfig(type="ambient", intensity=0.4),
         LightConfig(type="directional", position_m=(2.0, -3.0, 5.0))),
        description="Light sources.", max_length=32)
    ambient_sound: SoundConfig | None = param(None, "Background sound.")
    landscape: LandscapeConfig | None = param(None, "Distraction scenes: the landscape along the glide.")
    spawns: tuple[SpawnConfig, ...] = param((), "Places for virtual humans, used in order.", max_length=500)
    seat_grids: tuple[SeatGridConfig, ...] = param((), "Rows of seats, used after spawns.", max_length=20)
