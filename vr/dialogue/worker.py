"""The dialogue worker: choosing lines and making their audio in a process of its own.

The frame loop must never wait for the sentence model, the speech synthesiser or a disk: they
run in a child process (``serve``) that the ``DialogueWorker`` in the app's process talks to
through a pipe it only ever polls. If a request is not answered within ``timeout_s`` the worker
is taken to be hung: it is killed and started again, the request gets a generic neutral line of
the band (authored, from the same bank, chosen in the app's process without any model), and
the clinician is told. A crashed worker is handled the same way. Panic never involves the
worker at all: the session core reaches the safe scene on its own.

Requests and answers are plain dicts (pickled over the pipe):

- request: ``{"kind": "reply" | "opener" | "line", "request", "bank", "speaker", "band", "role",
  "text" (reply) or "intent" (opener) or "line_id" (line: the clinician's pick, only voiced),
  "recent": [line ids], "voice": {name, pitch, rate_wpm}}``, or ``{"kind": "screen", "request"
  (the core's screen number), "text"}`` for the meaning half of the risk screen;
- answer: ``{"kind": "line", "request", "speaker", "line_id", "text", "band", "similarity",
  "method", "wav", "duration_s", "envelope", "sample_rate", "engine", "latency_ms", "choose_ms",
  "synth_ms"}`` (``latency_ms`` the worker's whole time: choosing the line, then making its voice), or
  ``{"kind": "screen", "request", "risk_kind", "similarity", "safe_similarity", "exemplar",
  "segment", "model", "latency_ms"}``, or ``{"kind": "ready", ...}`` once at start, or
  ``{"kind": "error", "request", "message"}``.

Screens are answered in the order asked (the core asks for a screen before the reply to the same
words) and are never given a fallback: an unanswered one is sent once more to a restarted worker,
and the session core warns the clinician while it waits. A worker without the sentence model answers every screen with no score.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vr.dialogue.bank import LineBank, load_bank
from vr.dialogue.choose import Choice, generic_line
from vr.dialogue.tts import ENGINES  # only names: the engines themselves load in the worker's process

SCREEN_OFF = ("The risk screen is checking phrases only: the sentence model that reads the meaning of the "
              "patient's words is not loaded, so indirect wordings may be missed. Listen closely.")
TTS_ENGINES = ("auto", *ENGINES)  # what vr.dialogue.tts.Synthesizer takes
START_TIMEOUT_S = 60.0   # loading the model on a slow machine; replies meanwhile are generic lines
TIMEOUT_S = 1.5          # an answer later than this: the worker is taken to be hung


def serve(conn, spec: dict) -> None:
    """The child process: load banks, model and voice; answer requests until told to stop."""
    # The session ends this process through the pipe: a Ctrl-C or a hang-up sent to the whole
    # terminal must not kill it mid-answer (SIGTERM keeps its default: multiprocessing stops a
    # daemon child with it when the app exits).
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    from vr.dialogue.choose import Chooser
    from vr.dialogue.embed import load_embedder
    from vr.dialogue.screen import RiskScreen
    from vr.dialogue.tts import Synthesizer
    from vr.dialogue.voices import Voice

    cache = Path(spec["cache_dir"])
    banks = {name: load_bank(name, Path(spec["bank_dir"])) for name in spec["banks"]}
    embedder, warning = load_embedder(spec.get("prefer", "auto"))
    screen = RiskScreen(embedder, cache_dir=cache / "embeddings")
    if not screen.available:
        warning = ((warning + " ") if warning else "") + SCREEN_OFF
    choosers = {name: Chooser(bank, embedder, seed=spec["seed"], cache_dir=cache / "embeddings")
                for name, bank in banks.items()}
    synth = Synthesizer(cache / "speech", engine=spec.get("tts_engine", "auto"))
    synth.warm()  # the neural voice's model loads before 'ready', so the first line is not late by it
    method = next(iter(choosers.values())).method if choosers else "none"
    try:
        conn.send({"kind": "ready", "method": method, "warning": warning, "engine": synth.engine,
                   "engine_warning": synth.warn()})
    except OSError:  # the app is gone already (killed while the model loaded): nobody to answer
        return
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):  # the app closed its end (it ended, or was killed): stop quietly
            return
        if req is None:
            return
        if spec.get("test_hooks") and req.get("kind") == "test_sleep":
            time.sleep(float(req["seconds"]))
            continue
        if spec.get("test_hooks") and req.get("kind") == "test_crash":
            raise SystemExit(3)
        started = time.perf_counter()
        if req.get("kind") == "screen":
            try:
                score = screen.score(req.get("text", ""), int(req["request"]))
                conn.send({"kind": "screen", "request": score.screen, "risk_kind": score.kind,
                           "similarity": score.similarity, "safe_similarity": score.safe_similarity,
                           "exemplar": score.exemplar, "segment": score.segment, "model": score.model,
                           "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
            except (BrokenPipeError, ConnectionResetError):  # the app is gone
                return
            except Exception as e:  # the core warns while it waits; the phrases have already run
                conn.send({"kind": "error", "request": req.get("request"), "screen": True,
                           "message": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)})
            continue
        try:
            chooser = choosers[req["bank"]]
            recent = tuple(req.get("recent", ()))
            if req["kind"] == "line":
                choice = chosen_line(banks[req["bank"]], req["line_id"])
            elif req["kind"] == "reply":
                choice = chooser.reply(req["text"], band=req["band"], role=req.get("role"), recent=recent,
                                       request=req["request"])
            else:
                choice = chooser.opener(intent=req.get("intent", "remark"), band=req["band"], role=req.get("role"),
                                        recent=recent, request=req["request"])
            chosen = time.perf_counter()
            speech = synth.synthesize(choice.text, Voice(**req["voice"]))
            conn.send({"kind": "line", "request": req["request"], "speaker": req["speaker"], "line_id": choice.line_id,
                       "text": choice.text, "band": choice.band, "similarity": choice.similarity,
                       "method": choice.method, "wav": str(speech.path), "duration_s": speech.duration_s,
                       "envelope": speech.envelope.tolist(), "sample_rate": speech.sample_rate,
                       "engine": speech.engine, "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                       "choose_ms": round((chosen - started) * 1000, 2),
                       "synth_ms": round((time.perf_counter() - chosen) * 1000, 2)})
        except (BrokenPipeError, ConnectionResetError):  # the app is gone
            return
        except Exception as e:  # one bad request must not take the worker down
            conn.send({"kind": "error", "request": req.get("request"),
                       "message": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)})


@dataclass
class Pending:
    request: dict
    sent_at: float


@dataclass
class WorkerStatus:
    ready: bool = False
    method: str = ""
    engine: str = ""
    restarts: int = 0
    warnings: list[str] = field(default_factory=list)


class DialogueWorker:
    """The app's side: send requests, poll answers, restart a worker that hangs or dies.

    ``tts_engine``: the worker's speech engine (:class:`vr.dialogue.tts.Synthesizer`): 'auto'
    (espeak-ng where installed; never the neural voice), 'neural' (the neural voice for the humans
    it covers, espeak-ng for the others; espeak-ng for all, with a warning, where it is missing),
    or 'espeak-ng', 'pyttsx3', 'silent'.
    """

    def __init__(self, banks: dict[str, LineBank], *, seed: int, cache_dir: Path, bank_dir: Path,
                 prefer: str = "auto", tts_engine: str = "auto", timeout_s: float = TIMEOUT_S,
                 test_hooks: bool = False) -> None:
        if tts_engine not in TTS_ENGINES:
            raise ValueError(f"unknown speech engine {tts_engine!r}; use one of {', '.join(TTS_ENGINES)}")
        self.banks = banks
        self.seed = seed
        self.timeout_s = timeout_s
        self.spec = {"banks": list(banks), "seed": seed, "cache_dir": str(cache_dir), "bank_dir": str(bank_dir),
                     "prefer": prefer, "tts_engine": tts_engine, "test_hooks": test_hooks}
        self.status = WorkerStatus()
        self.pending: dict[int, Pending] = {}
        self.screening: dict[int, Pending] = {}   # meaning checks asked and not answered (by screen number)
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self._conn = None
        self._started_at = 0.0
        self._ready_at = 0.0
        self._start()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        self._proc = self._ctx.Process(target=serve, args=(child, self.spec), name="vr-dialogue", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        self._started_at = time.monotonic()
        self.status.ready = False

    def request(self, req: dict) -> None:
        """Queue a request (never blocks the caller for long: requests are small and rare)."""
        if req.get("kind") in ("reply", "opener", "line"):
            self.pending[req["request"]] = Pending(req, time.monotonic())
        elif req.get("kind") == "screen":
            self.screening[req["request"]] = Pending(req, time.monotonic())
        try:
            self._conn.send(req)
        except (OSError, ValueError, BrokenPipeError):
            pass  # a dead worker: poll() restarts it and answers this request with a fallback

    def poll(self) -> tuple[list[dict], list[str]]:
        """Answers that arrived, fallbacks for overdue requests, and messages for the clinician."""
        answers: list[dict] = []
        alerts: list[str] = []
        try:
            while self._conn.poll(0):
                msg = self._conn.recv()
                if msg.get("kind") == "ready":
                    self.status.ready, self.status.method, self.status.engine = True, msg["method"], msg["engine"]
                    self._ready_at = time.monotonic()
                    for warning in (msg.get("warning"), msg.get("engine_warning")):
                        if warning and warning not in self.status.warnings:
                            self.status.warnings.append(warning)
                            alerts.append(f"dialogue: {warning}")
                elif msg.get("kind") == "line" and self.pending.pop(msg["request"], None) is not None:
                    answers.append(msg)
                elif msg.get("kind") == "screen" and self.screening.pop(msg["request"], None) is not None:
                    answers.append(msg)
                elif msg.get("kind") == "error" and msg.get("screen"):
                    self.screening.pop(msg.get("request"), None)
                    alerts.append(f"dialogue: the meaning check of the patient's words failed ({msg['message'][:160]}); "
                                  "only the phrase check ran for them")
                elif msg.get("kind") == "error":
                    pending = self.pending.pop(msg.get("request"), None)
                    if pending is not None:
                        answers.append(self.fallback(pending.request))
                    alerts.append(f"dialogue: a request failed ({msg['message'][:160]}); a generic line was used")
        except (EOFError, OSError):
            pass  # the worker died mid-message; handled below
        now = time.monotonic()
        overdue = [p for p in self.pending.values() if now - p.sent_at > self.timeout_s]
        # A screen sent while the worker loaded waits from the moment it was ready.
        late_screen = any(now - max(p.sent_at, self._ready_at) > self.timeout_s for p in self.screening.values())
        restart = ""
        if self._proc is not None and not self._proc.is_alive():
            restart = "stopped"
        elif self.status.ready and (overdue or late_screen):
            restart = f"did not answer within {self.timeout_s:.1f} s"
        elif not self.status.ready and now - self._started_at > START_TIMEOUT_S:
            restart = f"did not start within {START_TIMEOUT_S:.0f} s"
        if restart:
            alerts.append(f"dialogue: the worker {restart}; it is being restarted and generic lines are used meanwhile")
            self._restart()
            overdue = list(self.pending.values())  # the new worker never saw them
            for p in list(self.screening.values()):  # meaning checks have no fallback: ask the new worker, once
                self.screening.pop(p.request["request"])
                if not p.request.get("retry"):
                    self.request({**p.request, "retry": True})
        # (While the worker is still loading, an overdue request gets a generic line and the
        # worker keeps loading; its own late answer is then ignored.)
        for p in overdue:
            self.pending.pop(p.request["request"], None)
            answers.append(self.fallback(p.request))
        return answers, alerts

    def fallback(self, req: dict) -> dict:
        """A generic authored line of the request's band (or gentler), chosen without any model; the
        clinician's own pick (``line``) is kept, only its voice is made elsewhere."""
        if req.get("kind") == "line":
            choice = chosen_line(self.banks[req["bank"]], req["line_id"])
            return {"kind": "line", "request": req["request"], "speaker": req["speaker"], "line_id": choice.line_id,
                    "text": choice.text, "band": choice.band, "similarity": None, "method": "clinician",
                    "wav": None, "duration_s": estimate_s(choice.text), "envelope": None, "sample_rate": 0,
                    "engine": "none", "latency_ms": None}
        choice = generic_line(self.banks[req["bank"]], band=req["band"], role=req.get("role"),
                              recent=tuple(req.get("recent", ())), request=req["request"], seed=self.seed)
        return {"kind": "line", "request": req["request"], "speaker": req["speaker"], "line_id": choice.line_id,
                "text": choice.text, "band": choice.band, "similarity": None, "method": "fallback", "wav": None,
                "duration_s": estimate_s(choice.text), "envelope": None, "sample_rate": 0, "engine": "none",
                "latency_ms": None}

    def _restart(self) -> None:
        self._stop(kill=True)
        self.status.restarts += 1
        self._start()

    def _stop(self, kill: bool) -> None:
        if self._proc is None:
            return
        try:
            if not kill:
                self._conn.send(None)
                self._proc.join(timeout=2.0)
        except (OSError, ValueError, BrokenPipeError):
            pass
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=2.0)
        self._conn.close()
        self._proc = None

    def close(self) -> None:
        self._stop(kill=False)


def chosen_line(bank: LineBank, line_id: str) -> Choice:
    """The clinician's pick, as a choice (the session core has checked it is vetted and allowed)."""
    line = bank.line(line_id)
    return Choice(line.id, line.text, line.band, line.role, None, "clinician")


def estimate_s(text: str) -> float:
    """Speaking time of a line at a conversational 165 words per minute."""
    return float(np.clip(len(text.split()) / 165.0 * 60.0 + 0.3, 0.6, 10.0))
