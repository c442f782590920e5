"""Which checked commands go down to the session, and the answer each request waits for.

- An id is applied once: a retry (the same id, the same command) gets the first answer again. The
  same id with a different command is a mistake the sender must hear about (``Conflict``, the API
  answers 409): silently answering the first command would drop the second.
- At most ``MAX_COMMANDS_PER_S`` a second (``TooMany``, 429), except ``URGENT`` ones (panic, stop,
  pause): those are never refused or limited. So that a flood of them cannot crowd the frame loop
  either, one sent while the same one is on its way, with no other command sent since, joins it:
  it is not sent again, and gets its answer. Joining changes nothing in the session: among panic,
  stop and pause the outcome does not depend on their order or number (stop ends the session,
  else panic reaches the safe scene, else pause pauses a running one).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass

from vr.console.commands import Parsed
from vr.console.store import KEEP_IDS, ConsoleStore

MAX_COMMANDS_PER_S = 50
URGENT = frozenset({"panic", "stop", "pause"})

Mark = tuple  # what a command says: a retry says the same


class TooMany(Exception):
    """More commands in a second than any clinician sends (the API answers 429)."""


class Conflict(Exception):
    """An id already used for a different command (the API answers 409)."""


def mark_of(parsed: Parsed) -> Mark:
    if parsed.rating is not None:
        return ("rating", parsed.rating.scale, parsed.rating.value)
    if parsed.words is not None:
        return ("say", parsed.words, parsed.corrects)
    c = parsed.command
    return (c.name, c.value, c.text)


@dataclass(frozen=True)
class Ticket:
    """A request's way: its id, the answer to wait for, whether it is a retry, whether to send it now."""

    id: str
    answer: asyncio.Future
    repeat: bool = False
    send: bool = False


@dataclass(frozen=True)
class _Pending:
    mark: Mark
    answer: asyncio.Future


class Intake:
    """One console process's commands in; one asyncio loop uses it (no locks)."""

    def __init__(self, store: ConsoleStore, max_per_s: int = MAX_COMMANDS_PER_S) -> None:
        self.store = store
        self.max_per_s = max_per_s
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._numbers = itertools.count(1)
        self._sent_at: deque[float] = deque()
        self._joinable: dict[str, str] = {}   # urgent command -> the id of the one on its way, nothing sent since

    def admit(self, parsed: Parsed, now_s: float) -> Ticket:
        """Raises ``Conflict`` or ``TooMany``; ``now_s``: a monotonic clock, seconds."""
        loop = asyncio.get_running_loop()
        cid = parsed.id or f"api-{next(self._numbers)}"
        mark = mark_of(parsed)
        known = self._pending.get(cid)
        if known is not None:
            self._same(cid, known.mark, mark)
            return Ticket(cid, known.answer, repeat=True)
        if cid in self.store.results:  # applied before this process was started again
            self._same(cid, self.store.marks.get(cid), mark)
            done = loop.create_future()
            done.set_result(self.store.results[cid])
            return Ticket(cid, done, repeat=True)
        name = parsed.name
        urgent = name in URGENT
        if not urgent:
            self._count(now_s)
        answer = loop.create_future()
        self._pending[cid] = _Pending(mark, answer)
        while len(self._pending) > KEEP_IDS:
            self._pending.popitem(last=False)
        first = self._joinable.get(name) if urgent else None
        if first is not None and first in self._pending and not self._pending[first].answer.done():
            self._pending[first].answer.add_done_callback(
                lambda f: answer.done() or answer.set_result({**f.result(), "id": cid, "joined": first}))
            return Ticket(cid, answer)
        if urgent:
            self._joinable[name] = cid
        else:
            self._joinable.clear()
        return Ticket(cid, answer, send=True)

    def answer(self, cid: str, result: dict) -> None:
        """The session's answer to ``cid`` (applied, refused, taken)."""
        pending = self._pending.get(cid)
        if pending is not None and not pending.answer.done():
            pending.answer.set_result(result)

    @staticmethod
    def _same(cid: str, before: Mark | None, now: Mark) -> None:
        if before is not None and before != now:
            raise Conflict(f"the id {cid!r} was already used for another command ({before[0]}); "
                           "give each new command a new id (a retry sends the same command with the same id)")

    def _count(self, now_s: float) -> None:
        while self._sent_at and now_s - self._sent_at[0] > 1.0:
            self._sent_at.popleft()
        if len(self._sent_at) >= self.max_per_s:
            raise TooMany(f"more than {self.max_per_s} commands in a second; try again shortly "
                          f"({', '.join(sorted(URGENT))} are never limited)")
        self._sent_at.append(now_s)
