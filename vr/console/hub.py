"""The frame loop's side of the console: a pipe to the console's own process.

The web server runs in a child process (``vr.console.server.serve``), not in a thread: Python
threads share one interpreter lock, and a thread busy answering requests (a flood, a dozen
viewers) makes every frame wait for it. Across a process boundary a busy console costs the
frame loop nothing but the CPU the operating system gives it, at a lower priority.

The frame loop calls ``on_events`` with every step's events and ``on_frame`` once a frame;
both only put small things in an outbox and return. A sender thread here writes the outbox to
the pipe (it may block on a slow child; the frame loop never does). ``take`` reads what the
console sent (commands, ratings, the patient's words, whether anyone watches the mirror) with a
non-blocking poll at the start of a frame. If the console's process dies, it is started again
on the same address with the same token, and given the events it had.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from vr.console.state import CONSOLE_EVENTS, KEEP_ALL, snapshot
from vr.sim import Command, Event, PatientWords, Rating

KEEP_EVENTS = 1000
STATE_EVERY_S = 0.1      # the state is refreshed at least this often (and in any frame with news)
MIRROR_EVERY_S = 0.25    # mirror pictures, while someone watches
START_TIMEOUT_S = 30.0
RESTARTS = 3


class ConsoleUnavailable(RuntimeError):
    """The console could not start (the port is taken, the address is not this computer's...)."""


class ConsoleHub:
    """One session's console, seen from the frame loop."""

    def __init__(self, info: dict[str, Any], session, host: str, port: int | None) -> None:
        self.info = info
        self.session = session
        self.host = host
        self.port = port
        self.dialogue = False
        self.url = ""
        self.token: str | None = None
        self.alerts: deque[str] = deque()     # for the clinician's panel and the record
        self.ended: str | None = None
        self.frames = 0
        self.restarts = 0
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._conn = None
        self._lock = threading.Condition()
        self._outbox: list = []
        self._state: dict | None = None
        self._mirror: tuple | None = None
        self._closing = False
        self._history: deque[dict] = deque(maxlen=KEEP_EVENTS)
        self._kept: list[dict] = []
        self._news = True
        self._seq = 0
        self._state_at = -1.0
        self._mirror_at = -1.0
        self.watching = False
        self.viewers = 0
        self._start()
        self._sender = threading.Thread(target=self._send_loop, name="vr-console-send", daemon=True)
        self._sender.start()

    # -- the child process -----------------------------------------------------------------------
    def _start(self) -> None:
        from vr.console.server import serve

        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=serve, args=(child, self.info, self.host, self.port, self.token),
                                 name="vr-console", daemon=True)
        proc.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S):
            proc.kill()
            raise ConsoleUnavailable(f"the console did not start within {START_TIMEOUT_S:.0f} s")
        try:
            kind, detail = parent.recv()
        except EOFError:
            kind, detail = "failed", "the console's process stopped while starting"
        if kind != "ready":
            proc.join(2.0)
            raise ConsoleUnavailable(detail)
        self.url, self.token, self.port = detail["url"], detail["token"], detail["port"]
        self._proc, self._conn = proc, parent

    def _restart(self) -> bool:
        """A console that died comes back on the same address, with the events it had."""
        if self.restarts >= RESTARTS or self._closing:
            return False
        self.restarts += 1
        try:
            self._proc.kill()
            self._start()
        except (ConsoleUnavailable, OSError) as e:
            self.alerts.append(f"console: it stopped and could not be started again ({e}); use the window's keys")
            self.restarts = RESTARTS
            return False
        with self._lock:
            self._outbox.insert(0, ("events", sorted([*self._kept, *self._history], key=lambda e: e["seq"])))
            self._lock.notify()
        self.alerts.append("console: it stopped and was started again; the page reconnects by itself")
        return True

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                while not (self._outbox or self._state or self._mirror or self._closing):
                    self._lock.wait()
                batch, self._outbox = self._outbox, []
                if self._state is not None:
                    batch.append(("state", self._state))
                if self._mirror is not None:
                    batch.append(("mirror", self._mirror))
                self._state = self._mirror = None
                closing = self._closing
            if closing:
                batch.append(("close", None))
            try:
                self._conn.send(batch)
            except (OSError, ValueError):
                if not closing and self._restart():
                    continue
                return
            if closing:
                return

    def _post(self, item) -> None:
        with self._lock:
            self._outbox.append(item)
            self._lock.notify()

    # -- the frame loop's side -------------------------------------------------------------------
    def take(self) -> tuple[tuple[Command, ...], tuple[Rating, ...], tuple[PatientWords, ...]]:
        """What the console sent since the last frame (never waits)."""
        commands, ratings, said = [], [], []
        try:
            while self._conn.poll(0):
                kind, item = self._conn.recv()
                if kind == "command":
                    commands.append(item)
                elif kind == "rating":
                    ratings.append(item)
                elif kind == "say":
                    said.append(PatientWords(item, "console"))
                elif kind == "watch":
                    self.watching, self.viewers = bool(item["mirror"]), int(item["viewers"])
        except (EOFError, OSError, ValueError):
            pass  # the sender notices and starts it again
        return tuple(commands), tuple(ratings), tuple(said)

    def on_events(self, events: list[Event]) -> None:
        out = []
        for e in events:
            if e.kind in CONSOLE_EVENTS:
                self._seq += 1
                out.append({"seq": self._seq, "t_s": round(e.t_s, 3), "kind": e.kind, "data": e.data})
        if not out:
            return
        for item in out:
            (self._kept if item["kind"] in KEEP_ALL else self._history).append(item)
        self._news = True
        self._post(("events", out))

    def on_frame(self, world, frame: int, grab: Callable[[], tuple | None] | None = None) -> None:
        """Once a frame, after drawing: the state when due; a mirror picture when someone watches."""
        if world is None:
            return
        self.frames = frame
        now = time.monotonic()
        state = None
        if self._news or now - self._state_at >= STATE_EVERY_S or self.ended:
            state = snapshot(world, self.session, seq=self._seq, frame=frame, dialogue=self.dialogue, viewers=self.viewers,
                             ended=self.ended)
            self._news, self._state_at = False, now
        raw = None
        if grab is not None and self.watching and now - self._mirror_at >= MIRROR_EVERY_S:
            self._mirror_at = now
            raw = grab()
        if state is not None or raw is not None:
            with self._lock:
                if state is not None:
                    self._state = state
                if raw is not None:
                    self._mirror = raw
                self._lock.notify()

    def finish(self, world, reason: str) -> None:
        """The session is over: one last state; the console refuses commands from now on."""
        self.ended = reason or "ended"
        self.on_frame(world, self.frames)

    def close(self, timeout_s: float = 3.0) -> None:
        """Send what is left, then stop the console's process."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._sender.join(timeout_s)
        if self._proc is not None:
            self._proc.join(timeout_s)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(1.0)
        if self._conn is not None:
            self._conn.close()
