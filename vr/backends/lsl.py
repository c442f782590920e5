"""Lab streams (Lab Streaming Layer): heart rate and electrodermal activity in, the session's
markers and the patient's head pose out.

In: one :class:`Inlet` per chosen stream (``--lsl-hr``, ``--lsl-eda``), each on its own thread:
it resolves the stream by name, type or source id, pulls chunks, measures the sender's clock
against ours (``time_correction``, again every ``RESYNC_S``), turns RR intervals into beats per
minute, bins fast streams to at most ``BIN_S`` a sample, and puts ``(kind, value, lsl_s)`` on a
deque. Once a frame, before the step, :meth:`Lab.take` drains it into ``PhysioSample``s in
session time (through :class:`SessionClock`), as ``vr.app.hearing`` does for the microphone.
A stream that goes quiet for ``lost_after_s`` is a warning for the clinician (an ``alert`` the
loop records), reconnected in the background; the frame never waits for it.

Out: :class:`OutletSink`, a sink on the app's event bus: a marker stream of the session's
events as JSON strings (irregular rate) and a head-pose stream at the step rate (7 floats:
position in metres, then the orientation as a unit quaternion w, x, y, z; the session frame:
Z up, +Y forward, heading about Z, pitch about X, roll about Y, as Panda3D has them). LSL has no
access control: anyone on the network can read an outlet, so it is off unless ``--lsl-out``.

pylsl (MIT, with liblsl, MIT, inside its wheel) is imported only when a stream is opened.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from vr.backends.lsl_out import (  # noqa: F401 - the outlet's names, offered here too
    MARKER_STREAM, NOT_MARKERS, POSE_STREAM, PRIVATE_FIELDS, ClockSink, OutletSink, SessionClock, make_outlets,
    marker_text,
)

KINDS = {"hr": "beats per minute", "eda": "microsiemens"}
UNITS = ("bpm", "rr_ms", "rr_s", "us")
BIN_S = 0.25              # fast streams are averaged into bins this long (at most 4 samples a second)
RESYNC_S = 5.0            # the sender's clock is measured again this often
CLOCK_EVERY_S = 1.0       # an ``lsl_clock`` event (session time <-> LSL time) this often, for the XDF export
LOST_AFTER_S = {"hr": 5.0, "eda": 5.0}
AHEAD_S = 0.25            # a sample is never placed further ahead of the world (the frame loop's step cap)
RESOLVE_S = 1.0


@dataclass(frozen=True)
class LabOptions:
    """A session's lab streams: ``specs`` the physiology to read, ``outlet`` whether markers and the
    head pose go out."""

    specs: tuple[StreamSpec, ...] = ()
    outlet: bool = False


class StreamSpecError(ValueError):
    """A stream choice that cannot be read (says what is wrong and how to write it)."""


@dataclass(frozen=True)
class StreamSpec:
    """Which LSL stream feeds one kind of physiology. ``unit``: what the chosen channel carries
    ('bpm', 'rr_ms', 'rr_s', 'us'; '' infers it from the stream's type and channel unit)."""

    kind: str
    name: str = ""
    type: str = ""
    source_id: str = ""
    channel: int | str = 0
    unit: str = ""

    def predicate(self) -> str:
        """The XPath query liblsl resolves by."""
        parts = [f"{k}='{v}'" for k, v in (("name", self.name), ("type", self.type), ("source_id", self.source_id))
                 if v]
        return " and ".join(parts)

    def text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in (("name", self.name), ("type", self.type),
                                                  ("source_id", self.source_id)) if v)


def parse_spec(kind: str, text: str) -> StreamSpec:
    """``NAME`` or ``key=value,...`` (keys: name, type, source_id, channel, unit), e.g.
    ``PolarH10_HR``, ``type=RR,unit=rr_ms``, ``name=E4_Gsr,channel=0``."""
    if kind not in KINDS:
        raise StreamSpecError(f"{kind!r} is not a physiology kind (hr or eda)")
    text = text.strip()
    if not text:
        raise StreamSpecError(f"--lsl-{kind}: give a stream name or type=..., e.g. --lsl-{kind} type=HR")
    if "=" not in text:
        fields: dict[str, str] = {"name": text}
    else:
        fields = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or key not in ("name", "type", "source_id", "channel", "unit") or not value:
                raise StreamSpecError(f"--lsl-{kind} {text!r}: {part.strip()!r} is not key=value with a key of "
                                      "name, type, source_id, channel, unit")
            fields[key] = value
    for key in ("name", "type", "source_id"):
        if "'" in fields.get(key, ""):
            raise StreamSpecError(f"--lsl-{kind}: a {key} may not contain a quote")
    if not any(fields.get(k) for k in ("name", "type", "source_id")):
        raise StreamSpecError(f"--lsl-{kind} {text!r}: say which stream (name=, type= or source_id=)")
    channel: int | str = fields.get("channel", "0")
    if isinstance(channel, str) and channel.isdigit():
        channel = int(channel)
    unit = fields.get("unit", "")
    if unit and unit not in UNITS:
        raise StreamSpecError(f"--lsl-{kind}: unit {unit!r} is not one of {', '.join(UNITS)}")
    return StreamSpec(kind, fields.get("name", ""), fields.get("type", ""), fields.get("source_id", ""), channel,
                      unit)


def infer_unit(kind: str, stream_type: str, channel_unit: str, label: str) -> str:
    """What a heart stream's channel carries when the choice did not say: RR intervals (ms or s) or bpm."""
    if kind == "eda":
        return "us"
    words = f"{stream_type} {label} {channel_unit}".lower()
    if "rr" in words or "ibi" in words or "interval" in words:
        return "rr_s" if channel_unit.lower() in ("s", "sec", "seconds") else "rr_ms"
    return "bpm"


def to_value(unit: str, raw: float) -> float | None:
    """A channel's value as the kind's unit (bpm for a heart, microsiemens for skin); None if implausible."""
    if not math.isfinite(raw):
        return None
    if unit == "rr_ms":
        return 60000.0 / raw if 200.0 <= raw <= 3000.0 else None
    if unit == "rr_s":
        return 60.0 / raw if 0.2 <= raw <= 3.0 else None
    if unit == "bpm":
        return raw if 20.0 <= raw <= 250.0 else None
    return raw if 0.0 <= raw <= 100.0 else None


class Binner:
    """Averages a fast stream into ``bin_s`` bins (timestamped at the bin's centre); a slow one
    (at most one sample a bin) passes through with its own times."""

    def __init__(self, bin_s: float = BIN_S) -> None:
        self.bin_s = bin_s
        self._bin: int | None = None
        self._sum = 0.0
        self._n = 0
        self._t = 0.0

    def add(self, t: float, v: float) -> list[tuple[float, float]]:
        k = math.floor(t / self.bin_s)
        out = []
        if self._bin is not None and k != self._bin:
            out.append(self._emit())
        self._bin = k
        self._sum += v
        self._n += 1
        self._t = t
        return out

    def flush(self, now: float) -> list[tuple[float, float]]:
        """The open bin, once its end has passed (a stream that stopped still gives its last values)."""
        if self._bin is not None and now >= (self._bin + 1) * self.bin_s:
            return [self._emit()]
        return []

    def _emit(self) -> tuple[float, float]:
        t = self._t if self._n == 1 else (self._bin + 0.5) * self.bin_s
        out = (t, self._sum / self._n)
        self._bin, self._sum, self._n = None, 0.0, 0
        return out


class Inlet:
    """One chosen stream, pulled on its own thread; see the module's docstring."""

    def __init__(self, spec: StreamSpec, lost_after_s: float | None = None, bin_s: float = BIN_S) -> None:
        self.spec = spec
        self.lost_after_s = lost_after_s if lost_after_s is not None else LOST_AFTER_S[spec.kind]
        self.out: deque[tuple[str, float, float]] = deque()
        self.alerts: deque[str] = deque()
        self.events: deque[dict[str, Any]] = deque()   # connections, for the record
        self.connected = False
        self.lost = False
        self.offset_s: float | None = None     # the sender's clock minus ours (time_correction), seconds
        self.source = ""
        self.last_value: float | None = None
        self.samples = 0
        self.reconnects = 0
        self._misfit = False
        self._binner = Binner(bin_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vr-lsl-{spec.kind}", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 3.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        import pylsl
        from pylsl.util import LostError

        started = time.monotonic()
        warned_missing = False
        while not self._stop.is_set():
            found = pylsl.resolve_bypred(self.spec.predicate(), 1, RESOLVE_S)
            if not found:
                if not warned_missing and time.monotonic() - started >= self.lost_after_s:
                    warned_missing = True
                    self.alerts.append(f"lab stream {self.spec.kind} ({self.spec.text()}) not found on the "
                                       "network; still looking (is the device's LSL app streaming?)")
                continue
            try:
                self._pull(pylsl, LostError, found[0])
            except (LostError, pylsl.util.TimeoutError, RuntimeError) as e:
                if self._stop.is_set():
                    return
                self._lost(f"the stream broke off ({type(e).__name__})")
            self.reconnects += 1

    def _pull(self, pylsl, lost_error, info) -> None:
        inlet = pylsl.StreamInlet(info, max_buflen=30, recover=False)
        try:
            inlet.open_stream(5.0)
            full = inlet.info(5.0)
            try:
                channel = self._channel_index(full)
            except ValueError as e:   # a choice that does not fit the stream: say so once, look again slowly
                if not self._misfit:
                    self._misfit = True
                    self.alerts.append(f"lab stream {self.spec.kind} ({full.name()}): {e}; choose another "
                                       f"channel (--lsl-{self.spec.kind} name=...,channel=N)")
                self._stop.wait(5.0)
                return
            unit = self.spec.unit or infer_unit(self.spec.kind, full.type(), *self._channel_unit(full))
            self.offset_s = inlet.time_correction(5.0)
            synced_at = time.monotonic()
            self.source = full.name()
            self.connected, was_lost = True, self.lost
            self.lost = False
            self.events.append({"stream": self.spec.kind, "name": full.name(), "type": full.type(),
                                "source_id": full.source_id(), "hostname": full.hostname(),
                                "nominal_srate": full.nominal_srate(), "channels": full.channel_count(),
                                "channel": channel, "unit": unit,
                                "offset_s": round(self.offset_s, 6)})
            if was_lost:
                self.alerts.append(f"lab stream {self.spec.kind} ({full.name()}) is back")
            heard = time.monotonic()
            while not self._stop.is_set():
                values, stamps = inlet.pull_chunk(timeout=0.2, max_samples=512)
                now = time.monotonic()
                if now - synced_at >= RESYNC_S:
                    self.offset_s = inlet.time_correction(2.0)
                    synced_at = now
                for row, stamp in zip(values, stamps):
                    value = to_value(unit, _number(row[channel]))
                    if value is not None:
                        self._emit(self._binner.add(stamp + self.offset_s, value))
                if stamps:
                    heard = now
                    if self.lost:
                        self.lost = False
                        self.alerts.append(f"lab stream {self.spec.kind} ({full.name()}) is back")
                else:
                    self._emit(self._binner.flush(pylsl.local_clock() - 0.5 * self._binner.bin_s))
                    if not self.lost and now - heard >= self.lost_after_s:
                        self._lost(f"no sample for {self.lost_after_s:.0f} s")
        finally:
            self.connected = False
            inlet.close_stream()

    def _lost(self, why: str) -> None:
        if not self.lost:
            self.lost = True
            self.alerts.append(f"lab stream {self.spec.kind} ({self.source or self.spec.text()}) lost: {why}; "
                               "reconnecting (the session goes on)")

    def _emit(self, binned: list[tuple[float, float]]) -> None:
        for t, v in binned:
            self.out.append((self.spec.kind, v, t))
            self.last_value = v
            self.samples += 1

    def _channel_unit(self, info) -> tuple[str, str]:
        """The chosen channel's unit and label from the stream's description, when it has one."""
        ch = info.desc().child("channels").child("channel")
        k = 0
        index = self.spec.channel if isinstance(self.spec.channel, int) else -1
        while not ch.empty():
            label = ch.child_value("label")
            if k == index or label == self.spec.channel:
                return ch.child_value("unit"), label or ch.child_value("type")
            ch = ch.next_sibling()
            k += 1
        return "", ""

    def _channel_index(self, info) -> int:
        if isinstance(self.spec.channel, int):
            if self.spec.channel >= info.channel_count():
                raise ValueError(f"it has {info.channel_count()} channel(s), no channel {self.spec.channel}")
            return self.spec.channel
        ch = info.desc().child("channels").child("channel")
        k = 0
        while not ch.empty():
            if ch.child_value("label") == self.spec.channel:
                return k
            ch = ch.next_sibling()
            k += 1
        raise ValueError(f"no channel labelled {self.spec.channel!r}")


def _number(raw) -> float:
    """A channel's value as a float: some heart-rate bridges send numbers as text markers."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _physio_type():
    from vr.sim import types

    return types.PhysioSample


class Lab:
    """A session's lab streams: the inlets, the clock they share with the outlet, and what the
    console shows. Made by the app; ``take`` once a frame, ``sink`` on the event bus."""

    TRACE_S = 120.0

    def __init__(self, specs: tuple[StreamSpec, ...] = (), outlet: bool = False, rate_hz: float = 90.0,
                 lost_after_s: float | None = None, clock: SessionClock | None = None) -> None:
        self.clock = clock or SessionClock()
        self.inlets = [Inlet(s, lost_after_s) for s in specs]
        self.sink = OutletSink(self.clock, rate_hz) if outlet else ClockSink(self.clock)
        self.trace: dict[str, deque[tuple[float, float]]] = {s.kind: deque() for s in specs}
        self._clock_at: float | None = None
        self._last_t: dict[str, float] = {}
        self._sample = _physio_type() if specs else None

    def take(self, t_s: float) -> tuple[tuple, list, list[str]]:
        """This frame's physiology (``PhysioSample``s in session time), the record's events
        (``lsl_clock``, ``lsl_stream``), and messages for the clinician. Never waits."""
        from vr.sim import Event

        samples, events, alerts = [], [], []
        clock = self.clock
        for inlet in self.inlets:
            while inlet.alerts:
                alerts.append(inlet.alerts.popleft())
            while inlet.events:
                events.append(Event(t_s, "lsl_stream", inlet.events.popleft()))
            out = inlet.out
            while out:
                kind, value, lsl_s = out.popleft()
                at = clock.to_session(lsl_s)
                if at is None:
                    continue
                # While the frame loop stalls (the first frames compiling shaders, a disk), the wall
                # clock runs on and the session's does not: a sample measured then has no session
                # time of its own. It is kept at most one frame-step cap ahead of the world, and never
                # before the last sample of its kind, so each kind stays in order.
                at = max(min(at, t_s + AHEAD_S), self._last_t.get(kind, at))
                if at < 0.0:
                    continue   # before the session started
                self._last_t[kind] = at
                samples.append(self._sample(kind, round(value, 3), round(at, 4), inlet.source))
                trace = self.trace[kind]
                trace.append((round(at, 2), round(value, 2)))
                while trace and trace[0][0] < at - self.TRACE_S:
                    trace.popleft()
        if clock.offset_s is not None and (self._clock_at is None or t_s >= self._clock_at + CLOCK_EVERY_S):
            self._clock_at = t_s
            offsets = {i.spec.kind: round(i.offset_s, 6) for i in self.inlets if i.offset_s is not None}
            events.append(Event(t_s, "lsl_clock", {"lsl_s": round(clock.to_lsl(t_s), 6), "offsets_s": offsets}))
        return tuple(samples), events, alerts

    def status(self) -> dict[str, Any]:
        """For the console: per stream, connected or lost, the last value and the trace (session s, value)."""
        return {i.spec.kind: {"source": i.source or i.spec.text(), "connected": i.connected, "lost": i.lost,
                              "value": None if i.last_value is None else round(i.last_value, 2),
                              "unit": "bpm" if i.spec.kind == "hr" else "uS",
                              "trace": list(self.trace[i.spec.kind])[-240:]} for i in self.inlets}

    def describe(self) -> dict[str, Any]:
        """What ``session.json`` says: the streams chosen, and whether the outlet was on."""
        return {"streams": {i.spec.kind: i.spec.text() for i in self.inlets},
                "outlet": [MARKER_STREAM, POSE_STREAM] if isinstance(self.sink, OutletSink) else False}

    def close(self) -> dict[str, Any]:
        for inlet in self.inlets:
            inlet._stop.set()
        for inlet in self.inlets:
            inlet.close()
        self.sink.close()
        return {i.spec.kind: {"samples": i.samples, "reconnects": max(i.reconnects - 1, 0),
                              "offset_s": i.offset_s} for i in self.inlets}
