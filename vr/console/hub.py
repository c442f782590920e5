"""The frame loop's side of the console: a pipe to the console's own process.

The web server runs in a child process (``vr.console.server.serve``), not in a thread: Python
threads share one interpreter lock, and a thread busy answering requests (a flood, a dozen
viewers) makes every frame wait for it. Across a process boundary a busy console costs the
frame loop nothing but the CPU the operating system gives it, at a lower priority.

The frame loop calls ``on_events`` with every step's events, ``on_frame`` once a frame after
the step (the state, before drawing, so a command's effect is on its way while the frame draws)
and ``after_draw`` (a mirror picture, when someone watches); all only put small things in an
outbox and return. A sender thread here writes the outbox to
the pipe (it may block on a slow child; the frame loop never does). ``take`` reads what the
console sent (commands, ratings, the patient's words, whether anyone watches the mirror) with a
non-blocking poll at the start of a frame. Mirror pictures are scaled and encoded on a thread of
their own, so only a small JPEG crosses the pipe and no event waits for a picture. If the console's process dies, it is started again
on the same address with the same token, and given the events it had.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from vr.console.mirror import encode
from vr.console.state import CONSOLE_EVENTS, KEEP_ALL, snapshot
from vr.sim import Command, Event, PatientWords, Rating

KEEP_EVENTS = 1000
STATE_EVERY_S = 0.1      # the state is refreshed at least this often (and in any frame with news)
MIRROR_EVERY_S = 0.25    # mirror pictures, while someone watches (at most this often)
MIRROR_SHARE = 0.03      # ... and spaced so that reading them back takes at most this share of the time,
MIRROR_SLOWEST_S = 60.0  # ... and at least this often (a headless software renderer can run a second
                         # behind the frame loop, and a read-back waits for all of it)
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
        self._listening: dict | None = None   # the microphone's status (``Hearing.status``), or None
        self.physio: dict | None = None       # the lab streams' status and traces (``vr.backends.lsl.Lab.status``)
        self.url = ""
        self.token: str | None = None
        self.fingerprint: str | None = None   # on a network address: the SHA-256 of the certificate it serves
        self.notes: list[str] = []            # what the console said of its certificate (made, renewed) at its start
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
        self._closing = False
        self._history: deque[dict] = deque(maxlen=KEEP_EVENTS)
        self._kept: list[dict] = []
        self._news = True
        self._seq = 0
        self._state_at = -1.0
        self._mirror_next = 0.0
        self.mirror_every_s = MIRROR_EVERY_S
        self._grab_s: float | None = None
        self._drawn_at: float | None = None
        self._period: float | None = None
        self._collect = False
        self._shots = 0
        self.watching = False
        self.viewers = 0
        self._start()
        self._sender = threading.Thread(target=self._send_loop, name="vr-console-send", daemon=True)
        self._sender.start()
        self._pictures = threading.Condition()
        self._picture: tuple | None = None
        self._encoder = threading.Thread(target=self._encode_loop, name="vr-console-mirror", daemon=True)
        self._encoder.start()

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
        self.fingerprint = detail.get("fingerprint")
        self.notes = list(detail.get("notes", []))
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
        self.alerts.extend(f"console: {note}" for note in self.notes)   # its certificate was made again
        return True

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                while not (self._outbox or self._state or self._closing):
                    self._lock.wait()
                batch, self._outbox = self._outbox, []
                if self._state is not None:
                    batch.append(("state", self._state))
                self._state = None
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

    def _encode_loop(self) -> None:
        """Mirror pictures are scaled and encoded here, so that nothing else ever waits for one."""
        while True:
            with self._pictures:
                while self._picture is None and not self._closing:
                    self._pictures.wait()
                raw, self._picture = self._picture, None
            if raw is None:
                return
            self._post(("mirror", encode(raw)))

    def _post(self, item) -> None:
        with self._lock:
            self._outbox.append(item)
            self._lock.notify()

    # -- the frame loop's side -------------------------------------------------------------------
    def take(self) -> tuple[tuple[Command, ...], tuple[Rating, ...], tuple[PatientWords, ...]]:
        """What the console sent since the last frame (never waits)."""
        commands, ratings, said, taken = [], [], [], []
        try:
            while self._conn.poll(0):
                kind, item = self._conn.recv()
                if kind == "command":
                    commands.append(item)
                elif kind == "rating":  # checked already: it is recorded in this frame's step
                    ratings.append(item["rating"])
                    taken.append(item["id"])
                elif kind == "say":
                    said.append(PatientWords(item["text"], "console", int(item.get("corrects", 0))))
                    taken.append(item["id"])
                elif kind == "watch":
                    self.watching, self.viewers = bool(item["mirror"]), int(item["viewers"])
                elif kind == "alert":  # (wrong tokens: an address locked out; never a token in it)
                    self.alerts.append(str(item))
        except (EOFError, OSError, ValueError):
            pass  # the sender notices and starts it again
        if taken:
            self._post(("taken", taken))
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

    @property
    def listening(self) -> dict | None:
        return self._listening

    @listening.setter
    def listening(self, status: dict | None) -> None:
        """The microphone's status, set once a frame; a change (the patient starts or stops speaking,
        a turn is heard, the recogniser fails) is news for the console."""
        if status != self._listening:
            self._listening = status
            self._news = True

    def on_frame(self, world, frame: int) -> None:
        """Once a frame, after the step: the state, when there is news or it is due."""
        if world is None:
            return
        self.frames = frame
        now = time.monotonic()
        if self._news or now - self._state_at >= STATE_EVERY_S or self.ended:
            state = snapshot(world, self.session, seq=self._seq, frame=frame, dialogue=self.dialogue,
                             viewers=self.viewers, ended=self.ended)
            state["mirror_every_s"] = round(self.mirror_every_s, 2)
            state["listening"] = self._listening
            state["physio"] = self.physio
            self._news, self._state_at = False, now
            with self._lock:
                self._state = state
                self._lock.notify()

    def after_draw(self, mirror: Callable[[], Any]) -> None:
        """Once a frame, after drawing: mirror pictures, a few times a second while someone watches.

        ``mirror()`` gives the ``MirrorCamera``: a picture asked for in one frame is drawn small
        and read back in the next. Reading back waits for the renderer to finish that frame: on
        a GPU a millisecond or two, on a software renderer up to a hundred. That wait is taken
        as the frame's time beyond the usual, and pictures are spaced to keep it under
        ``MIRROR_SHARE`` of the time: the patient's frames come first."""
        now = time.monotonic()
        period = None if self._drawn_at is None else now - self._drawn_at
        self._drawn_at = now
        if self._collect:  # this frame drew the picture
            self._collect = False
            self._shots += 1
            # (The first picture also pays for setting up its buffer and shaders: it says nothing.)
            if self._shots > 1 and period is not None and self._period is not None:
                wait = max(period - self._period, 0.0)
                self._grab_s = wait if self._grab_s is None else 0.7 * self._grab_s + 0.3 * wait
                self.mirror_every_s = min(max(MIRROR_EVERY_S, self._grab_s / MIRROR_SHARE), MIRROR_SLOWEST_S)
                self._mirror_next = now + self.mirror_every_s
            self._hand_over(mirror().collect())
            return
        if period is not None:
            self._period = period if self._period is None else 0.9 * self._period + 0.1 * period
        if not self.watching or now < self._mirror_next:
            return
        mirror().request()
        self._collect = True
        self._mirror_next = now + self.mirror_every_s

    def _hand_over(self, raw: tuple | None) -> None:
        if raw is not None:
            with self._pictures:
                self._picture = raw
                self._pictures.notify()

    def finish(self, world, reason: str) -> None:
        """The session is over: one last state; the console refuses commands from now on."""
        self.ended = reason or "ended"
        self.on_frame(world, self.frames)

    def close(self, timeout_s: float = 3.0) -> None:
        """Send what is left, then stop the console's process."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        with self._pictures:
            self._pictures.notify()
        self._sender.join(timeout_s)
        if self._proc is not None:
            self._proc.join(timeout_s)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(1.0)
        if self._conn is not None:
            self._conn.close()
