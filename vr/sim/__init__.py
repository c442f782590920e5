"""The pure session core (numpy and the standard library only; no engine, no headset, no ML).

Offers ``Session`` (exposure engine, virtual-human behaviour, safety caps), its inputs and
outputs (``FrameInputs``, ``HeadPose``, ``Command``, ``Rating``, ``PatientWords``, ``SpokenLine``,
``WorldState``, ``Event``), ``resolve`` (intensity knob -> parameters) and ``SyntheticPatient``
for dry runs and tests. ``vr.sim.model`` has a session's static part (``SessionModel``: profile,
scene, places, seeds, heights, the vetted bank), from which ``Session.from_model`` starts the data. ``vr.sim.distraction`` has the distraction game's ``DistractionSession``
(with ``vr.sim.player.GamePlayer``; its companion's talk in ``vr.sim.companion``, its world states
in ``vr.sim.distraction_world``); ``vr.sim.risk`` and ``vr.sim.talk`` the safety of dialogue.
"""

from vr.sim.params import StepParams, resolve
from vr.sim.patient import PatientParams, SyntheticPatient
from vr.sim.session import Session
from vr.sim.types import (
    Command, Event, FrameInputs, GameState, HeadPose, HumansState, PatientWords, Rating, SpokenLine, WorldState,
)

__all__ = ["Command", "Event", "FrameInputs", "GameState", "HeadPose", "HumansState", "PatientParams", "PatientWords", "Rating",
           "Session", "SpokenLine", "StepParams", "SyntheticPatient", "WorldState", "resolve"]
