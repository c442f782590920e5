"""The session record writer: ``session.json`` plus an append-only, fsynced ``events.jsonl``.

The frame loop hands each step's events over with ``write`` (a queue put: no encoding, no I/O
on the step path). A writer thread numbers them (``seq`` 0, 1, 2, ... without gaps), encodes one
JSON object per line, seals it into the hash chain (``vr.record.chain``) and appends and fsyncs
the lines in small batches.

Durability promise: an event handed to ``write`` more than ``DURABLE_AFTER_S`` seconds ago is on
disk (flushed and fsynced), unless the disk itself refuses; then ``error`` says why, the events
are kept in memory and retried, and nothing already written is touched.

A full disk is said once (and once more if it recovers), and the record is still closed
properly: a small reserve file held since the start is deleted just before the final
``session.json`` is written, so the header can say how the record ended (``ended_disk_full``)
and how many lines it holds.
"""

from __future__ import annotations

import errno
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

from vr.record.chain import HASH_HEX, SEED, seal
from vr.record.files import release_space, replace_private, reserve_space
from vr.record.privacy import check_pseudonym, fsync_dir, make_private_dir, open_private
from vr.sim.types import Event, FrameInputs, Pointer

FORMAT = "vr-session"
FORMAT_VERSION = 2   # 2: session.json ends with events_written and last_hash
FLUSH_EVERY_S = 0.1
DURABLE_AFTER_S = 0.5
BATCH_EVENTS = 2000
CLOSE_RETRIES = 10
CLOSE_RETRY_S = 0.2
RESERVE_NAME = "space.reserve"   # disk held back for the final session.json (deleted at the end)
RESERVE_BYTES = 64 * 1024
DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_STOP = object()


def encode_event(seq: int, event: Event) -> bytes:
    """An event as JSON: ``seq``, ``t_s`` and ``kind`` first, then its fields (no hash, no newline)."""
    obj = {"seq": seq, "t_s": round(event.t_s, 4), "kind": event.kind}
    obj.update(event.data)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class RecordStartError(OSError):
    """The record could not be created (a full disk, a folder we may not write into); says where."""

    def __str__(self) -> str:
        return str(self.strerror)


class _Inputs:
    __slots__ = ("inputs", "dt_s")

    def __init__(self, inputs: FrameInputs, dt_s: float) -> None:
        self.inputs, self.dt_s = inputs, dt_s


def encode_inputs(inputs: FrameInputs, dt_s: float) -> bytes:
    """One line of ``inputs.jsonl``: ``[dt_s, x, y, z, yaw, pitch, roll]`` and, when the step had
    any, ``{"c": commands, "r": ratings, "w": patient words, "l": spoken lines, "s": meaning
    checks, "v": 1 while the patient is heard speaking, "g": the gaze and "h": the hands pointing at
    the rating panel, each ``[ox, oy, oz, dx, dy, dz, stick_x, trigger, hand, source]``, "p": body
    samples, each ``[kind, value, t_s, source]``}`` as an
    eighth element (floats written exactly; all but "c" and "r" only when present; a word's third
    field only for a correction)."""
    h = inputs.head
    row: list[Any] = [dt_s, *h.position_m, h.yaw_deg, h.pitch_deg, h.roll_deg]
    if (inputs.commands or inputs.ratings or inputs.said or inputs.lines or inputs.screens or inputs.patient_speaking
            or inputs.gaze is not None or inputs.hands or inputs.physio):
        extra: dict[str, Any] = {"c": [[c.name, c.value, c.text, c.id, c.source] for c in inputs.commands],
                                 "r": [[r.scale, r.value, r.source] for r in inputs.ratings]}
        if inputs.said:
            extra["w"] = [[w.text, w.source] + ([w.corrects] if w.corrects else []) for w in inputs.said]
        if inputs.lines:
            extra["l"] = [[s.speaker, s.line_id, s.text, s.band, s.duration_s, s.request, s.similarity, s.method]
                          for s in inputs.lines]
        if inputs.patient_speaking:
            extra["v"] = 1
        if inputs.screens:
            extra["s"] = [[k.screen, k.kind, k.similarity, k.safe_similarity, k.exemplar, k.segment, k.model]
                          for k in inputs.screens]
        if inputs.gaze is not None:
            extra["g"] = _pointer(inputs.gaze)
        if inputs.hands:
            extra["h"] = [_pointer(p) for p in inputs.hands]
        if inputs.physio:
            extra["p"] = [[p.kind, p.value, p.t_s, p.source] for p in inputs.physio]
        row.append(extra)
    return (json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _pointer(p: Pointer) -> list[Any]:
    return [*p.origin, *p.direction, p.stick_x, p.trigger, p.hand, p.source]


def decode_pointer(fields: list[Any]) -> Pointer:
    """A pointer as ``encode_inputs`` wrote it."""
    return Pointer(tuple(fields[0:3]), tuple(fields[3:6]), fields[6], fields[7], fields[8], fields[9])


def versions() -> dict[str, str]:
    import numpy

    from vr import __version__

    return {"vr": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "platform": sys.platform}


class _Appended:
    """What has reached one append-only file: complete lines, and the hash of the last one."""

    __slots__ = ("lines", "last_hash", "_tail")

    def __init__(self) -> None:
        self.lines, self.last_hash, self._tail = 0, SEED, b""

    def add(self, written: bytes) -> None:
        """Account for bytes that ``os.write`` took (a batch may end mid-line after a failed write)."""
        if not written:
            return
        end = written.rfind(b"\n")
        if end >= 0:
            self.lines += written.count(b"\n")
            line_end = (self._tail + written[:end + 1])[-(HASH_HEX + 3):]
            self.last_hash = line_end[:HASH_HEX].decode("ascii", "replace")  # ...,"hash":"<hex>"}\n
        self._tail = (self._tail + written)[-(HASH_HEX + 3):]


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
        try:
            make_private_dir(self.directory)
            for name, data in (attachments or {}).items():
                replace_private(self.directory / name, data)
            self._write_meta()
            reserve_space(self.directory / RESERVE_NAME, RESERVE_BYTES)
            self._fd = open_private(self.directory / "events.jsonl")
            self._inputs_fd = open_private(self.directory / "inputs.jsonl")
            fsync_dir(self.directory)
        except FileExistsError:
            raise
        except OSError as e:
            raise RecordStartError(e.errno, f"cannot start the session record in {self.directory}: "
                                            f"{e.strerror or e}; free space there or choose another --out") from None
        self.on_error = on_error
        self.error: str | None = None        # the storage trouble now, if any (said once per spell)
        self.written_bytes = 0
        self.failed_writes = 0               # flushes the disk refused, over the whole session
        self.events = _Appended()
        self._inputs = _Appended()
        self._lost_events = self._lost_inputs = 0
        self._errno: int | None = None       # of the last refused write
        self._broken = False                 # the writer thread died of a bug
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._closed = False
        self._thread.start()

    def _write_meta(self) -> None:
        text = json.dumps(self.meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        replace_private(self.directory / "session.json", text.encode("utf-8"))

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
            self._broken = True
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
                pending_inputs, pending = self._flush(pending_inputs, pending)
                last_flush = now
            if stopping:
                for _ in range(CLOSE_RETRIES):  # the disk may recover in a moment: keep trying briefly
                    if not pending and not pending_inputs:
                        break
                    time.sleep(CLOSE_RETRY_S)
                    pending_inputs, pending = self._flush(pending_inputs, pending)
                self._lost_events = sum(chunk.count(b"\n") for chunk in pending)
                self._lost_inputs = sum(chunk.count(b"\n") for chunk in pending_inputs)
                if self._lost_events or self._lost_inputs:
                    inputs_too = f" (nor {self._lost_inputs} lines of inputs.jsonl)" if self._lost_inputs else ""
                    self._report(f"session record: {self._lost_events} events could not be written to "
                                 f"{self.directory / 'events.jsonl'}{inputs_too}: {os.strerror(self._errno or 0)}, "
                                 f"{self.failed_writes} failed tries; session.json says '{self._status(False)}'")
                return

    def _flush(self, inputs: list[bytes], events: list[bytes]) -> tuple[list[bytes], list[bytes]]:
        """Append and fsync both files; what the disk refuses is kept for the next try.

        The clinician hears of a spell of trouble once, when it starts, and once when writing
        works again (a full disk fails every flush, ten times a second: one warning, not hundreds)."""
        inputs, inputs_error = self._append(self._inputs_fd, inputs, self._inputs)
        events, events_error = self._append(self._fd, events, self.events)
        failed = events_error or inputs_error
        if failed is not None:
            error, name = failed
            self.failed_writes += 1
            self._errno = error.errno
            if self.error is None:
                self._report(f"session record: cannot write {self.directory / name}: {error.strerror or error}; "
                             "events are kept in memory and retried (this is said once; you will be told when "
                             "writing works again)")
        elif self.error is not None and not inputs and not events:
            self.error = None
            if self.on_error:
                self.on_error(f"session record: writing again; nothing was lost "
                              f"({self.failed_writes} tries had failed)")
        return inputs, events

    def _append(self, fd: int, lines: list[bytes], appended: _Appended
                ) -> tuple[list[bytes], tuple[OSError, str] | None]:
        """Write ``lines`` to ``fd`` and fsync; returns (what is left to write, the error and file name)."""
        if not lines:
            return lines, None
        data = b"".join(lines)
        view = memoryview(data)
        try:
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except OSError as e:
            # Keep what did not reach the file and try again at the next flush. Lines that did
            # reach it are never written twice (after a failed fsync they may or may not be on
            # disk; writing them again would duplicate them).
            done = len(data) - len(view)
            appended.add(data[:done])
            self.written_bytes += done
            name = "events.jsonl" if appended is self.events else "inputs.jsonl"
            return ([data[done:]] if done < len(data) else []), (e, name)
        appended.add(data)
        self.written_bytes += len(data)
        return [], None

    def _status(self, close_failed: bool) -> str:
        """What ``session.json`` says at the end: ``complete`` only when every line reached the disk."""
        if self._broken:
            return "incomplete"
        if self._lost_events or self._lost_inputs:
            return "ended_disk_full" if self._errno in DISK_FULL_ERRNOS else "ended_write_error"
        return "ended_write_error" if close_failed else "complete"

    def close(self, **final: Any) -> None:
        """Write everything still queued, then mark ``session.json`` with how the record ended and ``final``.

        At the end ``session.json`` also holds ``events_written`` (the lines in events.jsonl) and
        ``last_hash`` (the last line's hash), so ``vr verify`` can tell a record cut short from a
        whole one. Never raises for a disk problem: the error is reported (``error``, ``on_error``)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        close_failed = False
        for fd, name in ((self._fd, "events.jsonl"), (self._inputs_fd, "inputs.jsonl")):
            try:
                os.close(fd)
            except OSError as e:
                close_failed = True
                self._report(f"session record: closing {self.directory / name} failed: {e.strerror or e}")
        self.meta.update(final)
        self.meta.update({"status": self._status(close_failed), "events_written": self.events.lines,
                          "last_hash": self.events.last_hash,
                          "ended_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        if self.failed_writes:
            self.meta["storage"] = {"failed_writes": self.failed_writes, "events_not_written": self._lost_events,
                                    "inputs_not_written": self._lost_inputs,
                                    "error": os.strerror(self._errno) if self._errno else ""}
        release_space(self.directory / RESERVE_NAME)  # room for this last header on a full disk
        try:
            self._write_meta()
        except OSError as e:
            self._report(f"session record: cannot update {self.directory / 'session.json'}: {e.strerror or e}; "
                         "it still says 'recording', so the record reads as one ended by a crash")

    def _report(self, message: str) -> None:
        self.error = message
        if self.on_error:
            self.on_error(message)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
