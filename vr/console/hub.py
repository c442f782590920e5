"""The meeting point of the frame loop (Panda3D's thread) and the console server (its own thread).

The frame loop calls ``on_events`` with every step's events and ``on_frame`` once a frame; both
only copy small things under a lock and return. The server reads the latest state, the events
after a sequence number and the latest mirror picture, and queues commands with ``submit``,
which the frame loop takes (``take``) at the start of its next frame. Neither side ever waits
for the other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from vr.console.state import CONSOLE_EVENTS, snapshot
from vr.sim import Command, Event, PatientWords, Rating

KEEP_EVENTS = 1000
STATE_EVERY_S = 0.1      # the state is refreshed at least this often (and in any frame with news)
MIRROR_EVERY_S = 0.25    # mirror pictures, while someone watches
MIRROR_WANTED_S = 3.0    # a GET of the mirror keeps pictures coming this long


class ConsoleHub:
    """One session's console state; thread-safe."""

    def __init__(self, info: dict[str, Any], session) -> None:
        self.info = info
        self.session = session
        self.dialogue = False
        self._lock = threading.Lock()
        self._seq = 0
        self._events: deque[dict] = deque(maxlen=KEEP_EVENTS)
        self._ratings: list[dict] = []
        self._state: dict[str, Any] = {}
        self._state_at = -1.0
        self._news = True
        self._results: dict[str, dict] = {}
        self._waiters: dict[str, list[Callable[[dict], None]]] = {}
        self._commands: deque[Command] = deque()
        self._ratings_in: deque[Rating] = deque()
        self._said: deque[PatientWords] = deque()
        self._raw_mirror: tuple | None = None
        self._mirror_at = -1.0
        self._mirror_until = 0.0
        self.mirror_viewers = 0
        self.viewers = 0
        self.ended: str | None = None
        self.closed = False
        self.frames = 0
        self._listeners: list[Callable[[], None]] = []

    # -- the server's side ---------------------------------------------------------------------
    def listen(self, wake: Callable[[], None]) -> None:
        """``wake`` is called (from the frame thread) whenever there is something new."""
        self._listeners.append(wake)

    def submit(self, command: Command | None = None, rating: Rating | None = None, words: str | None = None) -> None:
        """Queue for the next frame (deques: safe across threads)."""
        if command is not None:
            self._commands.append(command)
        if rating is not None:
            self._ratings_in.append(rating)
        if words is not None:
            self._said.append(PatientWords(words, "console"))

    def expect(self, cid: str, done: Callable[[dict], None]) -> None:
        """Call ``done(result)`` once the session has applied or refused command ``cid``."""
        with self._lock:
            result = self._results.get(cid)
            if result is None:
                self._waiters.setdefault(cid, []).append(done)
                return
        done(result)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return self._state

    def events_since(self, seq: int) -> tuple[list[dict], int]:
        """Events after ``seq`` (every rating; the latest ``KEEP_EVENTS`` of the rest), oldest first."""
        with self._lock:
            items = [e for e in self._ratings if e["seq"] > seq]
            items += [e for e in self._events if e["seq"] > seq]
            return sorted(items, key=lambda e: e["seq"]), self._seq

    def take_mirror(self) -> tuple | None:
        """The newest raw mirror picture not yet taken, for the server to encode."""
        with self._lock:
            raw, self._raw_mirror = self._raw_mirror, None
            return raw

    def want_mirror(self) -> None:
        self._mirror_until = time.monotonic() + MIRROR_WANTED_S

    # -- the frame loop's side -------------------------------------------------------------------
    def take(self) -> tuple[tuple[Command, ...], tuple[Rating, ...], tuple[PatientWords, ...]]:
        """What the console queued since the last frame."""
        out = []
        for queue in (self._commands, self._ratings_in, self._said):
            items = []
            while queue:
                items.append(queue.popleft())
            out.append(tuple(items))
        return out[0], out[1], out[2]

    def on_events(self, events: list[Event]) -> None:
        resolved = []
        with self._lock:
            for e in events:
                if e.kind not in CONSOLE_EVENTS:
                    continue
                self._seq += 1
                item = {"seq": self._seq, "t_s": round(e.t_s, 3), "kind": e.kind, "data": e.data}
                (self._ratings if e.kind == "rating" else self._events).append(item)
                self._news = True
                cid = e.data.get("id") if e.kind == "clinician_command" else None
                if cid and cid not in self._results:
                    applied = bool(e.data.get("applied"))
                    result = {"id": cid, "status": "applied" if applied else "refused", "t_s": round(e.t_s, 3),
                              **({} if applied else {"reason": e.data.get("reason", "")})}
                    self._results[cid] = result
                    resolved += [(done, result) for done in self._waiters.pop(cid, ())]
        for done, result in resolved:
            done(result)

    def on_frame(self, world, frame: int, grab: Callable[[], tuple | None] | None = None) -> None:
        """Once a frame, after drawing: refresh the state when due; grab a mirror picture when due."""
        if world is None:
            return
        self.frames = frame
        now = time.monotonic()
        wake = False
        if self._news or now - self._state_at >= STATE_EVERY_S or self.ended:
            state = snapshot(world, self.session, seq=self._seq, frame=frame, dialogue=self.dialogue,
                             viewers=self.viewers, ended=self.ended)
            with self._lock:
                self._state = state
                self._news = False
            self._state_at = now
            wake = True
        watched = self.mirror_viewers > 0 or now < self._mirror_until
        if grab is not None and watched and now - self._mirror_at >= MIRROR_EVERY_S:
            self._mirror_at = now
            raw = grab()
            if raw is not None:
                with self._lock:
                    self._raw_mirror = raw
                wake = True
        if wake:
            for listener in self._listeners:
                listener()

    def finish(self, world, reason: str) -> None:
        """The session is over: one last state, and no more commands."""
        self.ended = reason or "ended"
        self.on_frame(world, self.frames)
