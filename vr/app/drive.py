"""One step of a session and where its events go: the part every loop shares.

``vr simulate`` and the frame loop (``vr run``, ``preview``, ``demo``) both advance a session
through a :class:`Drive`: the session steps with the inputs, the record takes the inputs, and
the events go out on an :class:`EventBus` to the sinks that subscribed (the record writer first,
then the console, the views, the dialogue client, the summary's tally, the heads-up panel).
The loops differ only in where inputs come from and when a step runs.

Events the app adds itself (``frame_stats``, ``speech_heard``, its ``alert``s) go out on the
same bus through :meth:`Drive.publish`, so every sink sees one stream in one order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vr.app.summary import Tally
from vr.record import SessionWriter
from vr.sim import Event, FrameInputs, WorldState


class EventSink(Protocol):
    """Something that follows a session's events. ``world`` is the world after the step that made
    them (None for the events that end a session); ``dt_s`` the step's length (0 for the app's own)."""

    def on_events(self, events: Sequence[Event], world: WorldState | None, dt_s: float) -> None: ...


class SessionCore(Protocol):
    """What a loop needs of a session (``vr.sim.Session``, ``vr.sim.DistractionSession``)."""

    t_s: float

    def step(self, inputs: FrameInputs, dt_s: float) -> tuple[WorldState, list[Event]]: ...

    def end(self, reason: str = "finished") -> list[Event]: ...


class InputSource(Protocol):
    """The person's (or a stand-in's) inputs for the next step, given the world after the last one."""

    def poll(self, world: WorldState | None, dt_s: float) -> FrameInputs: ...


class EventBus:
    """Hands each batch of events to every sink, in the order they subscribed."""

    def __init__(self, *sinks: EventSink | None) -> None:
        self.sinks: list[EventSink] = [s for s in sinks if s is not None]

    def subscribe(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    def publish(self, events: Sequence[Event], world: WorldState | None, dt_s: float) -> None:
        for sink in self.sinks:
            sink.on_events(events, world, dt_s)


class RecordSink:
    """The session record: every event, in order (the writer encodes and fsyncs on its own thread)."""

    def __init__(self, writer: SessionWriter) -> None:
        self.writer = writer

    def on_events(self, events: Sequence[Event], world: WorldState | None, dt_s: float) -> None:
        self.writer.write(list(events))


class TallySink:
    """The summary a clinician reads after the run."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def on_events(self, events: Sequence[Event], world: WorldState | None, dt_s: float) -> None:
        if world is None:
            self.tally.finish(list(events))
        else:
            self.tally.add(world, list(events), dt_s)


class Drive:
    """Advances one session: a step, its inputs to the record, its events to the bus."""

    def __init__(self, session: SessionCore, writer: SessionWriter, bus: EventBus) -> None:
        self.session = session
        self.writer = writer
        self.bus = bus
        self.world: WorldState | None = None

    def step(self, inputs: FrameInputs, dt_s: float) -> WorldState:
        """One session step with ``inputs``; the world after it."""
        self.world, events = self.session.step(inputs, dt_s)
        self.writer.write_inputs(inputs, dt_s)
        self.bus.publish(events, self.world, dt_s)
        return self.world

    def publish(self, events: Sequence[Event]) -> None:
        """The app's own events (telemetry, alerts), tagged ``app: true`` so a replay of the
        session leaves them aside: recorded and shown like the session's."""
        if self.world is not None and events:
            self.bus.publish([Event(e.t_s, e.kind, {**e.data, "app": True}) for e in events], self.world, 0.0)

    def end(self, reason: str) -> None:
        """End the session in the safe scene; its last events go to every sink."""
        self.bus.publish(self.session.end(reason), None, 0.0)


def run_steps(drive: Drive, source: InputSource, dt_s: float, steps: int, *, inject=None,
              stop_requested=None) -> str:
    """Step ``drive`` ``steps`` times (or until the session ends) with ``source``'s inputs, as fast as
    it goes; returns why it stopped ('run_finished', '' when the session ended itself, or the
    reason ``stop_requested`` gave). ``inject(k, inputs)`` may add to step ``k``'s inputs."""
    for k in range(steps):
        if stop_requested is not None:
            reason = stop_requested()
            if reason:
                return reason
        inputs = source.poll(drive.world, dt_s)
        if inject is not None:
            inputs = inject(k, inputs)
        if drive.step(inputs, dt_s).mode == "ended":
            return ""
    return "run_finished"
