"""What the console's process knows of the session: its events, the commands' answers, the state.

Fed by the pipe from the session (``ConsoleServer.on_pipe``), read by every request. The events
come numbered by the hub; every rating and clinician command is kept for the whole session, the
other events the latest ``KEEP_EVENTS``. One asyncio loop uses it: no locks.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from vr.console.state import KEEP_ALL

KEEP_EVENTS = 1000
KEEP_IDS = 10_000


class ConsoleStore:
    def __init__(self) -> None:
        self.seq = 0
        self.state: dict = {}
        self.ended = False
        self.results: OrderedDict[str, dict] = OrderedDict()   # command id -> the session's answer
        self.marks: dict[str, tuple] = {}                       # command id -> what it said (see intake.mark_of)
        self._events: deque[dict] = deque(maxlen=KEEP_EVENTS)
        self._kept: list[dict] = []

    def add_events(self, items: list[dict]) -> list[dict]:
        """Take the session's events; returns the answers to commands they carry."""
        answers = []
        for item in items:
            if item["seq"] <= self.seq:
                continue  # (sent again after a restart)
            self.seq = item["seq"]
            (self._kept if item["kind"] in KEEP_ALL else self._events).append(item)
            data = item["data"]
            cid = data.get("id") if item["kind"] == "clinician_command" else None
            if cid and cid not in self.results:
                applied = bool(data.get("applied"))
                self.results[cid] = {"id": cid, "status": "applied" if applied else "refused", "t_s": item["t_s"],
                                     **({} if applied else {"reason": data.get("reason", "")})}
                self.marks[cid] = (data.get("command"), data.get("value"), data.get("text", ""))
                while len(self.results) > KEEP_IDS:
                    self.marks.pop(self.results.popitem(last=False)[0], None)
                answers.append(self.results[cid])
        return answers

    def set_state(self, state: dict) -> None:
        self.state = state
        self.ended = self.ended or bool(state.get("ended"))

    def events_since(self, seq: int) -> tuple[list[dict], int]:
        """Events after ``seq``, oldest first, and the latest number."""
        items = [e for e in self._kept if e["seq"] > seq] + [e for e in self._events if e["seq"] > seq]
        return sorted(items, key=lambda e: e["seq"]), self.seq
