"""The session record writer: ``session.json`` plus an append-only, fsynced ``events.jsonl``.

The frame loop hands each step's events over with ``write`` (a queue put: no encoding, no I/O
on the step path). A writer thread numbers them (``seq`` 0, 1, 2, ... without gaps), encodes one
JSON object per line, seals it into the hash chain (``vr.record.chain``) and appends and fsyncs
the lines in small batches.

Durability promise: an event handed to ``write`` more than ``DURABLE_AFTER_S`` seconds ago is on
disk (flushed and fsynced), unless the disk itself refuses; then ``error`` says why, the events
are kept in memory and retried, and nothing already written is touched.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vr.record.chain import SEED, seal
from vr.record.privacy import check_pseudonym, fsync_dir, make_private_dir, open_private, write_private_atomic
from vr.sim.types import Event, FrameInputs

FORMAT = "vr-session"
FORMAT_VERSION = 1
FLUSH_EVERY_S = 0.1
DURABLE_AFTER_S = 0.5
BATCH_EVENTS = 2000
CLOSE_RETRIES = 10
CLOSE_RETRY_S = 0.2
_STOP = object()


def encode_event(seq: int, event: Event) -> bytes:
    """An event as JSON: ``seq``, ``t_s`` and ``kind`` first, then its fields (no hash, no newline)."""
    obj = {"seq": seq, "t_s": round(event.t_s, 4), "kind": event.kind}
    obj.update(event.data)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class _Inputs:
    __slots__ = ("inputs", "dt_s")

    def __init__(self, inputs: FrameInputs, dt_s: float) -> None:
        self.inputs, self.dt_s = inputs, dt_s


def encode_inputs(inputs: FrameInputs, dt_s: float) -> bytes:
    """One line of ``inputs.jsonl``: ``[dt_s, x, y, z, yaw, pitch, roll]`` and, when the step had
    any, ``{"c": commands, "r": ratings, "w": patient words, "l": spoken lines}`` as an eighth
    element (floats written exactly; "w" and "l" only when present)."""
    h = inputs.head
    row: list[Any] = [dt_s, *h.position_m, h.yaw_deg, h.pitch_deg, h.roll_deg]
    if inputs.commands or inputs.ratings or inputs.said or inputs.lines:
        extra: dict[str, Any] = {"c": [[c.name, c.value, c.text, c.id, c.source] for c in inputs.commands],
                                 "r": [[r.scale, r.value, r.source] for r in inputs.ratings]}
        if inputs.said:
            extra["w"] = [[w.text, w.source] for w in inputs.said]
        if inputs.lines:
            extra["l"] = [[s.speaker, s.line_id, s.text, s.band, s.duration_s, s.request, s.similarity, s.method]
                          for s in inputs.lines]
        row.append(extra)
    return (json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def versions() -> dict[str, str]:
    import numpy

    from vr import __version__

    return {"vr": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "platform": sys.platform}


class SessionWriter:
    """Writes one session directory. Use as a context manager or call ``close``."""

    def __init__(self, directory: str | Path, meta: dict[str, Any], *,
                 on_error: Callable[[str], None] | None = None, attachments: dict[str, bytes] | None = None) -> None:
        """``attachments``: files to keep beside the record (the profile and scenes it ran), by name."""
        self.directory = Path(directory)
        self.meta = dict(meta)
        check_pseudonym(str(self.meta.get("patient", "")))
        self.meta.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                          "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          "versions": versions(), "status": "recording"})
        make_private_dir(self.directory)
        for name, data in (attachments or {}).items():
            write_private_atomic(self.directory / name, data)
        self._write_meta()
        self._fd = open_private(self.directory / "events.jsonl")
        self._inputs_fd = open_private(self.directory / "inputs.jsonl")
        fsync_dir(self.directory)
        self.on_error = on_error
        self.error: str | None = None
        self.written_bytes = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._closed = False
        self._thread.start()

    def _write_meta(self) -> None:
        text = json.dumps(self.meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        write_private_atomic(self.directory / "session.json", text.encode("utf-8"))

    def write(self, events: Iterable[Event]) -> None:
        """Hand over one step's events (cheap: a queue put; the thread does the rest)."""
        if events:
            self._queue.put(events)

    def write_inputs(self, inputs: FrameInputs, dt_s: float) -> None:
        """Hand over one step's inputs, so the session can be re-run exactly (``vr replay --verify``)."""
        self._queue.put(_Inputs(inputs, dt_s))

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # a bug must not silently end recording: tell the clinician
            self._report(f"session record: the writer stopped ({type(e).__name__}: {e}); "
                         "events after this point are not recorded")

    def _loop(self) -> None:
        seq = 0
        chain = SEED
        pending: list[bytes] = []
        pending_inputs: list[bytes] = []
        last_flush = time.monotonic()
        stopping = False
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_EVERY_S)
            except queue.Empty:
                item = None
            if item is _STOP:
                stopping = True
            elif isinstance(item, _Inputs):
                pending_inputs.append(encode_inputs(item.inputs, item.dt_s))
            elif item is not None:
                for event in item:
                    line, chain = seal(chain, encode_event(seq, event))
                    pending.append(line)
                    seq += 1
            now = time.monotonic()
            if (pending or pending_inputs) and (stopping or len(pending) >= BATCH_EVENTS
                                                or now - last_flush >= FLUSH_EVERY_S):
                pending_inputs = self._flush(pending_inputs, self._inputs_fd, "inputs.jsonl")
                pending = self._flush(pending)
                last_flush = now
            if stopping:
                for _ in range(CLOSE_RETRIES):  # the disk may recover in a moment: keep trying briefly
                    if not pending and not pending_inputs:
                        break
                    time.sleep(CLOSE_RETRY_S)
                    pending_inputs = self._flush(pending_inputs, self._inputs_fd, "inputs.jsonl")
                    pending = self._flush(pending)
                if pending:
                    lost = sum(line.count(b"\n") for line in pending)
                    self._report(f"session record: {lost} events could not be written to "
                                 f"{self.directory / 'events.jsonl'}")
                return

    def _flush(self, lines: list[bytes], fd: int | None = None, name: str = "events.jsonl") -> list[bytes]:
        """Append and fsync; on failure keep the lines for the next try and report once."""
        if not lines:
            return lines
        fd = self._fd if fd is None else fd
        data = b"".join(lines)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except OSError as e:
            # Keep what did not reach the file and try again at the next flush. Lines that did
            # reach it are never written twice (after a failed fsync they may or may not be on
            # disk; writing them again would duplicate them).
            self._report(f"session record: cannot write {self.directory / name}: {e.strerror or e}; "
                         "events are kept in memory and retried")
            done = len(data) - len(view)
            return [data[done:]] if done < len(data) else []
        if self.error is not None and self.on_error:
            self.on_error("session record: writing again; nothing was lost")
        self.error = None
        self.written_bytes += len(data)
        return []

    def close(self, **final: Any) -> None:
        """Write everything still queued, then mark ``session.json`` complete with ``final`` fields.

        Never raises for a disk problem: the error is reported (``error``, ``on_error``) instead."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        try:
            os.close(self._fd)
            os.close(self._inputs_fd)
        except OSError as e:
            self._report(f"session record: closing events.jsonl failed: {e.strerror or e}")
        self.meta.update(final)
        self.meta["status"] = "complete" if self.error is None else "incomplete"
        self.meta["ended_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            self._write_meta()
        except OSError as e:
            self._report(f"session record: cannot update session.json: {e.strerror or e}")

    def _report(self, message: str) -> None:
        if message != self.error:
            self.error = message
            if self.on_error:
                self.on_error(message)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
