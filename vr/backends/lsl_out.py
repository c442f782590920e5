"""The session's side of the lab streams' time, and its outlet (see ``vr.backends.lsl``).

:class:`SessionClock` ties session seconds to LSL seconds after every step; :class:`ClockSink`
keeps it marked from the event bus; :class:`OutletSink` also sends the session's events as JSON
markers and the head pose at the step rate. pylsl is imported only when an outlet is made.
"""

from __future__ import annotations

import json
from typing import Any

from vr.record.export import head_quaternion

MARKER_STREAM, POSE_STREAM = "vr-markers", "vr-head-pose"
# Event kinds that do not go out as markers (the pose stream carries the head; telemetry stays home).
NOT_MARKERS = frozenset({"sample", "frame_stats", "lsl_clock", "lsl_stream", "speech_heard"})
# Fields that never leave the computer: the patient's own words, and alert messages that may quote them.
PRIVATE_FIELDS = {"patient_said": ("text",), "alert": ("message", "text", "words"), "clinician_command": ("text",)}


class SessionClock:
    """Session seconds <-> LSL seconds (``pylsl.local_clock``), from the world's time after each step.

    Each step measures LSL minus session time. A frame that ran late measures more than the
    truth, never less, so the offset follows the smallest measurement at once and larger ones
    only by ``CREEP_S_PER_S`` (half a millisecond per second): late frames do not move the
    markers, and the offset stays close to a straight line, which is what XDF readers fit. A
    jump of more than ``RESET_S`` (a stall, an offscreen run faster than the wall clock) resets it."""

    RESET_S = 0.25
    CREEP_S_PER_S = 0.0005

    def __init__(self, now=None) -> None:
        self.now = now
        self.offset_s: float | None = None
        self._at_s = 0.0

    def _clock(self) -> float:
        if self.now is None:
            import pylsl

            self.now = pylsl.local_clock
        return self.now()

    def mark(self, t_s: float) -> None:
        measured = self._clock() - t_s
        offset = self.offset_s
        if offset is None or abs(measured - offset) > self.RESET_S:
            self.offset_s = measured
        elif measured < offset:
            self.offset_s = measured
        else:
            self.offset_s = offset + min(measured - offset, self.CREEP_S_PER_S * max(t_s - self._at_s, 0.0))
        self._at_s = t_s

    def to_lsl(self, t_s: float) -> float:
        if self.offset_s is None:
            self.mark(t_s)
        return t_s + self.offset_s

    def to_session(self, lsl_s: float) -> float | None:
        return None if self.offset_s is None else lsl_s - self.offset_s


class ClockSink:
    """Marks the session clock after every step (the world's time is now)."""

    def __init__(self, clock: SessionClock) -> None:
        self.clock = clock

    def on_events(self, events, world, dt_s: float) -> None:
        if world is not None and dt_s > 0.0:
            self.clock.mark(world.t_s)

    def close(self) -> None:
        pass


def marker_text(kind: str, t_s: float, data: dict[str, Any]) -> str:
    """An event as the marker stream sends it: JSON with ``kind`` and ``t_s`` first, private fields left out."""
    drop = PRIVATE_FIELDS.get(kind, ())
    body = {"kind": kind, "t_s": round(t_s, 4), **{k: v for k, v in data.items() if k not in drop}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def make_outlets(rate_hz: float, source_id: str = "vr-exposure"):
    """The marker and head-pose outlets (``pylsl.StreamOutlet``)."""
    import pylsl

    markers = pylsl.StreamInfo(MARKER_STREAM, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                               f"{source_id}-markers")
    markers.desc().append_child_value("format", "one JSON object per marker: kind, t_s (session seconds), fields")
    pose = pylsl.StreamInfo(POSE_STREAM, "Mocap", 7, rate_hz, pylsl.cf_float32, f"{source_id}-head")
    channels = pose.desc().append_child("channels")
    for label, unit in (("x", "m"), ("y", "m"), ("z", "m"), ("qw", ""), ("qx", ""), ("qy", ""), ("qz", "")):
        ch = channels.append_child("channel")
        ch.append_child_value("label", f"head_{label}")
        ch.append_child_value("unit", unit)
    pose.desc().append_child_value("frame", "session frame: Z up, +Y forward; quaternion w,x,y,z (heading Z, "
                                            "pitch X, roll Y)")
    return pylsl.StreamOutlet(markers), pylsl.StreamOutlet(pose, max_buffered=10)


class OutletSink(ClockSink):
    """The session's events and head pose as LSL streams (see the module's docstring)."""

    def __init__(self, clock: SessionClock, rate_hz: float, outlets=None) -> None:
        super().__init__(clock)
        self.markers, self.pose = outlets if outlets is not None else make_outlets(rate_hz)
        self.pushed = 0

    def on_events(self, events, world, dt_s: float) -> None:
        if self.markers is None:
            return
        if world is not None and dt_s > 0.0:
            self.clock.mark(world.t_s)
            h = world.head
            x, y, z = h.position_m
            self.pose.push_sample([x, y, z, *head_quaternion(h.yaw_deg, h.pitch_deg, h.roll_deg)],
                                  self.clock.to_lsl(world.t_s))
        for e in events:
            if e.kind not in NOT_MARKERS:
                self.markers.push_sample([marker_text(e.kind, e.t_s, e.data)], self.clock.to_lsl(e.t_s))
                self.pushed += 1

    def close(self) -> None:
        self.markers = self.pose = None
