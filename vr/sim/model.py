"""A session's static model: what is fixed when it starts, apart from what its steps change.

As MuJoCo splits a simulation into a model (built once, never written) and data (advanced by each
step), a session here is a ``SessionModel`` (the profile, the scene and its places, the seed, how
many humans and their ids, heights and look seeds, the patient's starting head, the vetted line
bank) plus the mutable state a ``Session`` or ``DistractionSession`` holds and its ``step``
advances. Views and tools that only need to know who is in the scene (the renderer building its
humans, a report) read the model; only the step writes the data.

The model draws the humans' heights and seeds from the session's generator first, as the
sessions always have, and keeps the generator's state after those draws: ``rng()`` gives the
data a generator that continues from there, so a record is the same byte for byte whether the
session was built from a profile or from its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vr.config import ProfileConfig, SceneConfig
from vr.sim.crowd import Places
from vr.sim.types import HeadPose

COMPANION_HEIGHT_M = 1.68


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class SessionModel:
    """The fixed part of one session (read-only; shared by everything that draws or reports it).

    ``kind``: 'exposure' or 'distraction'. ``places``: the scene's places for humans (exposure;
    None for distraction, whose one human is the companion). ``start_head``: the patient's head
    when the session begins (distraction: in the glide's frame). ``lines``: the vetted bank (line
    id -> text), None when the humans do not speak; ``line_bands``: line id -> band.
    """

    kind: str
    profile: Any                       # ProfileConfig or DistractionProfileConfig
    scene: SceneConfig
    seed: int
    places: Places | None
    ids: tuple[str, ...]
    height_m: NDArray[np.float64]
    human_seed: NDArray[np.int64]
    start_head: HeadPose
    lines: Mapping[str, str] | None = None
    line_bands: Mapping[str, str] | None = None
    _rng_state: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        """How many human slots the session has."""
        return len(self.ids)

    def rng(self) -> np.random.Generator:
        """A generator continuing the session's stream after the model's own draws (a new one each call)."""
        g = np.random.default_rng(self.seed)
        g.bit_generator.state = self._rng_state
        return g


def _proxy(m: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if m is None else MappingProxyType(dict(m))


def exposure_model(profile: ProfileConfig, scene: SceneConfig, seed: int, lines: Mapping[str, str] | None = None,
                   line_bands: Mapping[str, str] | None = None) -> SessionModel:
    """An exposure session's model: the slots are as many as the busiest step needs (and the scene holds)."""
    rng = np.random.default_rng(int(seed))
    places = Places.from_scene(scene)
    n = min(max((s.humans for s in profile.steps), default=0), len(places.ids))
    height = np.clip(rng.normal(1.70, 0.09, n), 1.50, 1.98)
    looks = rng.integers(0, 2**31 - 1, n)
    place = scene.patient
    eye = place.eye_height_m or (1.2 if place.posture == "sitting" else 1.6)
    head = HeadPose((place.position_m[0], place.position_m[1], eye), place.yaw_deg)
    return SessionModel("exposure", profile, scene, int(seed), places, tuple(f"h{i:03d}" for i in range(n)),
                        _frozen(height), _frozen(looks), head, _proxy(lines), _proxy(line_bands),
                        rng.bit_generator.state)


def distraction_model(profile, scene: SceneConfig, seed: int, lines: Mapping[str, str] | None = None) -> SessionModel:
    """A distraction session's model: one human slot for the companion, when it is enabled."""
    rng = np.random.default_rng(int(seed))
    n = 1 if profile.companion.enabled else 0
    looks = rng.integers(0, 2**31 - 1, n)
    head = HeadPose((0.0, 0.0, scene.patient.eye_height_m or 1.2), 0.0)   # in the glide's frame
    return SessionModel("distraction", profile, scene, int(seed), None, tuple(f"h{i:03d}" for i in range(n)),
                        _frozen(np.full(n, COMPANION_HEIGHT_M)), _frozen(looks), head, _proxy(lines), None,
                        rng.bit_generator.state)
