"""The frame loop: a backend, a session, the views, an input source and the recorder, as Panda3D tasks.

Task sorts (lower runs first; Panda3D's own event handling runs at 0 and drawing at 50):

- ``vr-begin``  -999  start the frame clock; a headset backend handles its runtime's events and
                     waits for its frame here (``xrWaitFrame`` paces the loop to the display);
- ``vr-poll``    -35  the head pose and the person's own inputs (patient, mouse, keys);
- ``vr-inputs``  -30  add commands, ratings and words queued from elsewhere (the console, a test),
                     the dialogue worker's lines and checks, the microphone's recognised turns, and
                     the lab streams' heart rate and skin conductance (``vr.backends.lsl``);
- ``vr-step``      0  ``Session.step`` at the fixed step, through the :class:`vr.app.drive.Drive` that
                     ``vr simulate`` uses too; its events go out on one bus to the record, the
                     console, the views, the dialogue client, the summary and the heads-up panel;
- ``vr-apply``    10  views read the new world; camera to the head; heads-up panel; the console's state;
- ``vr-end``    1000  frame-time telemetry, screenshots, the console's mirror picture, the end
                     of the run; a headset backend ends a frame that drew nothing.

A backend may offer ``begin_frame()`` (returning the frame's step in seconds, or None),
``end_frame()``, ``frame_stats()`` (comfort telemetry merged into ``frame_stats`` events),
``alerts`` (a deque of messages for the clinician) and ``end_reason`` (set when the device ends
the run, e.g. the headset session was lost); the screen backends offer none of these.

Nothing slow runs in these tasks: the writer encodes and fsyncs on its own thread.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vr.app.drive import Drive, EventBus, RecordSink, TallySink
from vr.app.summary import Tally
from vr.record import SessionWriter
from vr.sim import Command, Event, FrameInputs, PatientWords, Session, WorldState

TASKS = ("vr-begin", "vr-poll", "vr-inputs", "vr-step", "vr-apply", "vr-end")
FRAME_BUDGET_MS = 1000.0 / 90.0
MAX_STEPS_PER_FRAME = 8


@dataclass
class LoopOptions:
    """How a run is clocked and what it leaves behind."""

    step_s: float = 1.0 / 90.0          # the session's fixed step
    virtual_fps: float | None = None    # offscreen: advance exactly 1/fps per frame, however long it takes
    seconds: float | None = None        # end the run after this much session time
    screenshots: Path | None = None
    screenshot_every_s: float = 10.0


class FrameLoop:
    """Drives one session on one backend until it ends."""

    def __init__(self, backend, session: Session, view, writer: SessionWriter, source, tally: Tally,
                 options: LoopOptions, hud=None, dialogue=None, console=None,
                 stop_requested: Callable[[], str] | None = None, hearing=None, overlays=(), lab=None) -> None:
        """``dialogue``: a ``DialogueClient`` (requests from events, spoken lines as inputs), or None.
        ``console``: a ``ConsoleHub`` (commands in; events, state and mirror pictures out), or None.
        ``stop_requested``: asked once a frame; a reason it returns (a signal's: 'terminated',
        'hangup', 'interrupted') ends the session in that frame as the clinician's stop would.
        With it, a Ctrl-C that Panda3D holds until the frame is drawn ends the session the same way.
        ``hearing``: a ``vr.app.hearing.Hearing`` (the patient's recognised words and speaking), or None.
        ``overlays``: more views drawn after ``view`` in the apply stage, each with ``apply(world, dt_s)``
        (the rating panel).
        ``lab``: a ``vr.backends.lsl.Lab`` (heart rate and skin conductance in, markers and head pose
        out over LSL), or None."""
        self.backend = backend
        self.base = backend.base
        self.session = session
        self.view = view
        self.writer = writer
        self.source = source
        self.tally = tally
        self.options = options
        self.hud = hud
        self.dialogue = dialogue
        self.console = console
        self.stop_requested = stop_requested
        self.hearing = hearing
        self.overlays = tuple(overlays)
        self.lab = lab
        # One bus, in this order: the record first, then whoever shows or acts on events.
        self.bus = EventBus(RecordSink(writer), _Calls(console.on_events) if console is not None else None,
                            _Calls(view.on_events), _Calls(dialogue.on_events) if dialogue is not None else None,
                            TallySink(tally), _HudSink(hud) if hud is not None else None,
                            lab.sink if lab is not None else None)
        self.drive = Drive(session, writer, self.bus)
        self._mirror_camera = None
        self.external: deque[Command] = deque()
        self.external_said: deque[PatientWords] = deque()
        self.disk_alerts: deque[str] = deque()   # filled by the writer thread, drained by the frame
        self.world: WorldState | None = None
        self.inputs: FrameInputs | None = None
        self.done = False
        self.ended_reason = ""
        self._acc = 0.0
        self._held: FrameInputs | None = None
        self._last_wall: float | None = None
        self._frame_start = 0.0
        self._frame_dt = 0.0
        self._cpu_ms: list[float] = []
        self._stats_at = 1.0
        self._next_shot = 0.0
        self.screenshots: list[Path] = []
        self.frames = 0

    def submit(self, command: Command) -> None:
        """Queue a command from outside the loop; it applies in the next frame's step."""
        self.external.append(command)

    def say(self, text: str, source: str = "clinician") -> None:
        """Queue the patient's words (typed by the clinician, or recognised); they reach the next step."""
        self.external_said.append(PatientWords(text, source))

    def start(self) -> None:
        tm = self.base.taskMgr
        self.stop()  # a loop left behind by an earlier run in this process must not run with this one
        tm.add(self._begin, "vr-begin", sort=-999)
        tm.add(self._poll, "vr-poll", sort=-35)
        tm.add(self._inputs, "vr-inputs", sort=-30)
        tm.add(self._step, "vr-step", sort=0)
        tm.add(self._apply, "vr-apply", sort=10)
        tm.add(self._end, "vr-end", sort=1000)
        # Show the starting world before the first frame is drawn.
        first = 1.0 / self.options.virtual_fps if self.options.virtual_fps else self.options.step_s
        self._advance(self.source.poll(None, first), first)
        self._show(0.0)

    def run(self) -> str:
        """Run frames until the session ends; returns why it ended."""
        self.start()
        try:
            while not self.done:
                self.base.taskMgr.step()
        except KeyboardInterrupt:
            # Panda3D's task manager holds a Ctrl-C until the frame's tasks have run, then raises
            # it here: a clean place to end, when the caller asked for signals to end the session.
            if self.stop_requested is None:
                raise
            self.finish("interrupted")
        finally:
            self.stop()
        return self.ended_reason

    def stop(self) -> None:
        """Remove this loop's tasks: Panda3D's task manager outlives any one ShowBase."""
        for name in TASKS:
            self.base.taskMgr.remove(name)

    # -- tasks ---------------------------------------------------------------------------------
    def _begin(self, task):
        device_dt = self.backend.begin_frame()
        now = time.perf_counter()
        self._frame_start = now
        if self.options.virtual_fps:
            self._frame_dt = 1.0 / self.options.virtual_fps
        elif device_dt is not None:
            self._frame_dt = min(device_dt, 0.25)  # display-time steps: smooth, and exact under a paced runtime
        else:
            self._frame_dt = 0.0 if self._last_wall is None else min(now - self._last_wall, 0.25)
        self._last_wall = now
        return task.cont

    def _poll(self, task):
        self.inputs = self.source.poll(self.world, self._frame_dt)
        return task.cont

    def _inputs(self, task):
        # A signal's request is read first, before the worker and the console are polled: the same
        # signal may have reached them (a terminal's Ctrl-C, systemd's SIGTERM to every process), and
        # a session that is ending must not start them again.
        if self.stop_requested is not None and not self.done:
            reason = self.stop_requested()
            if reason:
                self.finish(reason)
        if self.inputs is None or self.done:
            return task.cont
        if self.external or self.external_said:
            commands, said = tuple(self.external), tuple(self.external_said)
            self.external.clear()
            self.external_said.clear()
            self.inputs = self.inputs.plus(commands=commands, said=said)
        if self.console is not None:
            commands, ratings, said = self.console.take()
            self.inputs = self.inputs.plus(commands=commands, ratings=ratings, said=said)
        if self.dialogue is not None:
            lines, screens, alerts = self.dialogue.poll()
            self.inputs = self.inputs.plus(lines=lines, screens=screens)
            for message in alerts:
                self._alert(message, "dialogue")
        if self.hearing is not None and self.world is not None:
            said, speaking, heard, alerts = self.hearing.take(self.world.t_s)
            self.inputs = self.inputs.plus(said=said, patient_speaking=speaking)
            if heard:
                self.drive.publish(heard)
            for message in alerts:
                self._alert(message, "listening")
        if self.lab is not None and self.world is not None:
            physio, lab_events, alerts = self.lab.take(self.world.t_s)
            self.inputs = self.inputs.plus(physio=physio)
            if lab_events:
                self.drive.publish(lab_events)
            for message in alerts:
                self._alert(message, "lab_stream")
        return task.cont

    def _step(self, task):
        if self.done or self.inputs is None:
            return task.cont
        step = self.options.step_s
        if self.options.virtual_fps:
            step = self._frame_dt  # offscreen: one step per frame, exactly reproducible
            n = 1
        else:
            self._acc += self._frame_dt
            n = min(int(self._acc / step + 1e-6), MAX_STEPS_PER_FRAME)  # 1e-6: a display-paced dt of one step is one step
            self._acc = 0.0 if n == MAX_STEPS_PER_FRAME else max(self._acc - n * step, 0.0)
        inputs = self.inputs
        if self._held is not None:  # commands, ratings, words and lines from frames that ran no step
            inputs = self._held.then(inputs)
            self._held = None
        if n == 0:
            if inputs.eventful:
                self._held = inputs  # never dropped: they go with the next step
            return task.cont
        for k in range(n):
            self._advance(inputs if k == 0 else inputs.pointing_only(), step)
        return task.cont

    def _advance(self, inputs: FrameInputs, step_s: float) -> None:
        """One session step; its inputs go to the record, its events to the bus."""
        self.world = self.drive.step(inputs, step_s)

    def _apply(self, task):
        self._show(self._frame_dt)
        if self.console is not None:
            if self.hearing is not None:
                self.console.listening = self.hearing.status()
            if self.lab is not None:
                self.console.physio = self.lab.status()
            self.console.on_frame(self.world, self.frames)
        console_alerts = self.console.alerts if self.console is not None else None
        for queue, reason in ((self.disk_alerts, "record_storage"), (self.backend.alerts, "headset"),
                              (console_alerts, "console")):
            while queue and self.world is not None:
                self._alert(queue.popleft(), reason)
        if self.dialogue is not None and self.dialogue.player is not None:
            self.dialogue.player.update(self._frame_dt)
        return task.cont

    def _alert(self, message: str, reason: str) -> None:
        """Into the record (it lands once the disk takes writes again) and onto the panel."""
        if self.world is not None:
            self.drive.publish([Event(self.world.t_s, "alert", {"level": "warning", "reason": reason,
                                                                 "message": message})])

    def _end(self, task):
        self.backend.end_frame()
        self.frames += 1
        cpu_ms = (time.perf_counter() - self._frame_start) * 1000.0
        self._cpu_ms.append(round(cpu_ms, 2))
        world = self.world
        if world is not None and world.t_s >= self._stats_at:
            self._stats_at += 1.0
            over = sum(ms > FRAME_BUDGET_MS for ms in self._cpu_ms)
            stats = {"frames": len(self._cpu_ms), "cpu_ms": self._cpu_ms, "over_budget": over,
                     "budget_ms": round(FRAME_BUDGET_MS, 2)}
            stats.update(self.backend.frame_stats())
            self.drive.publish([Event(world.t_s, "frame_stats", stats)])
            self._cpu_ms = []
        if self.options.screenshots is not None and world is not None and world.t_s >= self._next_shot:
            path = self.options.screenshots / f"t{world.t_s:07.1f}s.png"
            self.backend.screenshot(path)
            self.screenshots.append(path)
            self._next_shot += self.options.screenshot_every_s
        if self.console is not None:
            self.console.after_draw(self._mirror)
        if world is not None and not self.done:
            if self.backend.end_reason:
                self.finish(self.backend.end_reason)
            elif world.mode == "ended":
                self.finish("")
            elif self.options.seconds is not None and world.t_s >= self.options.seconds:
                self.finish("run_finished")
        return task.cont

    # -- helpers --------------------------------------------------------------------------------
    def _show(self, dt_s: float) -> None:
        world = self.world
        if world is None:
            return
        self.view.apply(world, dt_s, world.head.position_m[:2],
                        mouth=self.dialogue.mouth if self.dialogue is not None else None)
        for overlay in self.overlays:
            overlay.apply(world, dt_s)
        if world.game is not None:  # a headset rides the glide
            self.backend.set_rig(world.game.rig_position_m, world.game.rig_yaw_deg)
        self.backend.place_camera(world.head)
        self.backend.set_clear_color(self.view.clear_color)
        if self.hud is not None:
            self.hud.update(world, dt_s)

    def _mirror(self):
        """The console's mirror camera, made the first time someone watches."""
        if self._mirror_camera is None:
            from vr.render.mirror import MirrorCamera

            source = self.backend.mirror_source()   # a headset: its left eye; a screen: the window's camera
            self._mirror_camera = MirrorCamera(self.base, *source) if source else MirrorCamera(self.base)
        return self._mirror_camera

    def finish(self, reason: str) -> None:
        """End the session (safe scene) and close the record; the loop stops after this frame."""
        if self.done:
            return
        if reason:
            self.drive.end(reason)
        self.ended_reason = self.tally.summary.ended or reason
        self.done = True
        if self.console is not None:
            self.console.finish(self.world, self.ended_reason)


class _Calls:
    """A sink that hands non-empty batches to ``fn(events)`` (the console, a view, the dialogue client)."""

    def __init__(self, fn: Callable[[list[Event]], None]) -> None:
        self.fn = fn

    def on_events(self, events, world, dt_s: float) -> None:
        if events:
            self.fn(list(events))


class _HudSink:
    """The heads-up panel's messages: alerts, panic, ratings, what the humans say."""

    def __init__(self, hud) -> None:
        self.hud = hud

    def on_events(self, events, world, dt_s: float) -> None:
        for e in events:
            if e.kind == "alert":
                self.hud.show_alert(e.data.get("message", "alert"))
            elif e.kind == "panic":
                self.hud.show_alert("PANIC: safe scene. Space resumes one step lower.")
            elif e.kind == "rating":
                self.hud.show_alert(f"{e.data['scale'].upper()} {e.data['value']:.0f} recorded", 3.0)
            elif e.kind == "utterance":
                self.hud.show_alert(f"{e.data['speaker']}: \"{e.data['text']}\"", 4.0)
