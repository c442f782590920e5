"""Kill campaign: SIGKILL ``vr simulate``, ``vr run --backend offscreen`` and a console-driven run at random
moments and check every record they leave.

    python bench/crash.py                      # 1,000 kills, 2 at a time, JSON on stdout
    python bench/crash.py --kills 20           # a quick look
    python bench/crash.py --kinds simulate --kills 200 --seed 7 --json out.json

Each kill starts a fresh process into its own record folder: a child forked from a worker that has
already imported the toolkit (and Panda3D), which then runs the real command line
(``vr.cli.main(argv)``, the same code ``python -m vr`` runs; the exact command is in the JSON). A
fork costs milliseconds where a cold interpreter here costs seconds, so 1,000 kills fit in minutes.
The child notes on a side file, unbuffered, when it handed how many events to the writer (a thin
wrapper around ``SessionWriter.write``), so the check knows what the durability promise covers.

Moments (``moment`` in the JSON):

- ``uniform``: the worker kills the child at a time drawn uniformly over the lifetime of an
  uninterrupted run of the same command (start-up and the end included).
- ``after_write_seen``: from a moment drawn as for ``uniform``, the worker watches ``events.jsonl``
  and kills the child as soon as it sees the file grow (a batch just written; its fsync may be
  under way).
- ``batch_in_flight``: the child kills itself inside the writer's n-th batch, after ``os.write``
  and before ``fsync`` (n uniform over the batches of an uninterrupted run).
- ``torn_write``: the same batch, but only a random share of its bytes written first, as when a
  kill cuts a write short: the record then ends in a torn line.
- ``header``: the child kills itself just before a header file is renamed into place (the first or
  the final ``session.json``, or ``summary.json``): the writer does not rotate its files, so these
  renames are its only file switches.
- ``report``: after the record is checked, ``vr report`` on it is killed, half the time uniformly
  over its lifetime, half just before one of its files is renamed into place.

Each record is checked: the folder 0700 and its files 0600; ``read_record`` and ``vr verify``'s
library (``verify_events``) and command agree it is intact, with ``seq`` 0, 1, 2, ... without gaps
and at most one torn last line; every event handed over more than ``DURABLE_AFTER_S`` before the
kill is there (``lost_events`` counts any that are not); a ``vr simulate`` record is a byte prefix
of the uninterrupted record of the same seed (events and inputs); ``vr report`` on it works or says
clearly why not (no traceback); a killed ``vr report`` leaves the record's own files untouched and
no half-written file in place. Processes the run had started (the console, multiprocessing's
resource tracker) must end by themselves once their parent is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import json
import os
import random
import signal
import statistics
import sys
import time
import traceback
import urllib.request
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILE = ROOT / "exposure_profiles" / "demo_tour.yaml"          # vr simulate
RUN_PROFILE = ROOT / "exposure_profiles" / "job_interview.yaml"   # vr run: a small scene starts sooner
KINDS = ("simulate", "run", "console")
WEIGHTS = {"simulate": 0.74, "run": 0.18, "console": 0.08}   # of the kills, by kind (the console costs most)
MOMENTS = {"uniform": 0.3, "after_write_seen": 0.1, "batch_in_flight": 0.2, "torn_write": 0.15, "header": 0.1,
           "report": 0.15}
SIM_SEEDS = (1, 2, 3)
SIM_SECONDS, RUN_SECONDS, CONSOLE_SECONDS = 40, 1.5, 2.5
REPORT_SHARE = 0.2   # of the kills not aimed at vr report, the share whose record vr report is also run on
ORPHAN_WAIT_S = 15.0
REPORT_FILES = ("report.html", "samples.csv", "humans.csv", "ratings.csv", "steps.csv", "frames.csv",
                "events.csv", "VERIFY.txt")
CONSOLE_COMMANDS = ({"command": "rating", "scale": "suds", "value": 40}, {"command": "step_up"},
                    {"command": "note", "text": "kill campaign"}, {"command": "set_intensity", "value": 0.4},
                    {"command": "pause"}, {"command": "resume"}, {"command": "step_down"})


def argv_for(kind: str, out: Path, seed: int) -> list[str]:
    """The command line (after ``python -m vr``) each kind runs."""
    if kind == "simulate":
        return ["simulate", "--profile", str(PROFILE), "--seconds", str(SIM_SECONDS), "--seed", str(seed),
                "--out", str(out), "--pseudonym", "SIM-0001", "-q"]
    common = ["run", "--backend", "offscreen", "--profile", str(RUN_PROFILE), "--seed", str(seed), "--out", str(out),
              "--pseudonym", "SIM-0001", "--no-dialogue", "--size", "64x64", "-q"]
    if kind == "run":
        return common + ["--seconds", str(RUN_SECONDS), "--fps", "20", "--no-console"]
    return common + ["--seconds", str(CONSOLE_SECONDS), "--fps", "20", "--pace", "20", "--console-port", "0"]


# -- the child: the real command line, with a side file and (for targeted moments) a self-kill ------------
def _child(argv: list[str], side: Path, log: Path, hook: dict[str, Any]) -> None:
    """Runs in the forked child: never returns."""
    os.setpgid(0, 0)   # its own group, so what it starts can be found (and cleaned up) after the kill
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0), write_through=True)
    side_fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def note(text: str) -> None:
        os.write(side_fd, f"{text} {time.monotonic():.6f}\n".encode())

    def die() -> None:
        note("K")
        os.kill(os.getpid(), signal.SIGKILL)

    _install(hook, note, die)
    rc = 70
    try:
        from vr.cli import main

        rc = int(main(argv) or 0)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:  # a traceback is a finding: keep it in the log
        traceback.print_exc()
        rc = 99
    note(f"X{rc}")
    os._exit(rc)


def _install(hook: dict[str, Any], note, die) -> None:
    import threading

    from vr.record import writer as writer_module

    SessionWriter = writer_module.SessionWriter
    handed = [0]
    lock = threading.Lock()
    write, init, append = SessionWriter.write, SessionWriter.__init__, SessionWriter._append

    def counted_write(self, events):
        events = list(events)
        write(self, events)
        with lock:
            handed[0] += len(events)
            note(f"H{handed[0]}")

    def noted_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        note("S")   # the record exists (session.json, events.jsonl)

    batches = [0]

    def batch(self, fd, lines, appended):
        if lines and appended is self.events:
            batches[0] += 1
            note(f"B{batches[0]}")
            if hook.get("batch") == batches[0]:
                data = b"".join(lines)
                share = hook.get("share")
                os.write(fd, data if share is None else data[:max(1, int(len(data) * share))])
                die()
        return append(self, fd, lines, appended)

    SessionWriter.write, SessionWriter.__init__, SessionWriter._append = counted_write, noted_init, batch
    if "rename" in hook:
        renames = Counter()
        replace = os.replace

        def counted_replace(src, dst, *args, **kwargs):
            name = Path(dst).name
            renames[name] += 1
            want = hook["rename"]
            if (name, renames[name]) == (want[0], want[1]) or (want[0] == "*" and sum(renames.values()) == want[1]):
                die()
            return replace(src, dst, *args, **kwargs)

        os.replace = counted_replace


# -- the worker: fork, kill, check -----------------------------------------------------------------------
def _warm() -> None:
    """Import everything a child needs before forking, and adopt orphans (to see them end)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    import vr.app.run  # noqa: F401
    import vr.app.simulate  # noqa: F401
    import vr.cli  # noqa: F401
    import vr.record.report  # noqa: F401
    import vr.record.verify  # noqa: F401
    with contextlib.suppress(ImportError):
        import direct.showbase.ShowBase  # noqa: F401
        import panda3d.core  # noqa: F401
    with contextlib.suppress(ImportError):
        import matplotlib.pyplot  # noqa: F401
        import aiohttp  # noqa: F401


def _spawn(argv: list[str], side: Path, log: Path, hook: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _child(argv, side, log, hook)
        finally:
            os._exit(70)
    return pid


def _side(side: Path) -> list[tuple[str, float]]:
    out = []
    for line in side.read_text().splitlines() if side.exists() else []:
        parts = line.split()
        if len(parts) == 2:
            with contextlib.suppress(ValueError):
                out.append((parts[0], float(parts[1])))
    return out


def _wait_exit(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _reap_group(pgid: int) -> tuple[float, int]:
    """Wait for what the killed child started to end by itself; returns (seconds, left running and killed)."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return time.monotonic() - start, 0
        if time.monotonic() - start > ORPHAN_WAIT_S:
            left = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == pgid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, 0)[0] > 0:
                    pass
            return time.monotonic() - start, left
        time.sleep(0.05)


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


def _run_once(kind: str, argv: list[str], work: Path, hook: dict[str, Any], kill_after_s: float | None,
              rng: random.Random) -> dict[str, Any]:
    """Start the command, kill it after ``kill_after_s`` (None: let it end), and say what happened."""
    side, log = work / "side.txt", work / "log.txt"
    started = time.monotonic()
    pid = _spawn(argv, side, log, hook)
    deadline = started + kill_after_s if kill_after_s is not None else None
    console = _Console(log, rng) if kind == "console" else None
    watch_from = started + hook["watch_from_s"] if "watch_from_s" in hook else None
    events, size = work / "record" / "events.jsonl", -1
    killed_at, code = None, None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        now = time.monotonic()
        if watch_from is not None and now >= watch_from:
            grown = events.stat().st_size if events.exists() else -1
            if size >= 0 and grown > size:
                deadline = now   # it just wrote a batch: now
            size = grown
            if deadline != now:
                time.sleep(0.002)
                continue
        if deadline is not None and now >= deadline:
            killed_at = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            code = _wait_exit(pid)
            break
        pause = 0.01 if console is None else console.step()
        time.sleep(max(0.0, min(pause, deadline - now)) if deadline is not None else pause)
    waited = time.monotonic()
    notes = _side(side)
    self_kill = next((t for k, t in notes if k == "K"), None)
    if self_kill is not None:
        killed_at = self_kill
    ended = next((int(k[1:]) for k, _ in notes if k.startswith("X")), None)
    return {"pid_exit": code, "killed_at": killed_at if ended is None else None, "waited_at": waited,
            "lifetime_s": waited - started if ended is not None else None, "notes": notes, "exit": ended,
            "pgid": pid, "commands_sent": console.sent if console else 0,
            "log": log.read_text(errors="replace") if log.exists() else ""}


class _Console:
    """The clinician's side of a console-driven run: find its address in the output, then send commands."""

    def __init__(self, log: Path, rng: random.Random) -> None:
        self.log, self.rng, self.url, self.sent = log, rng, "", 0

    def step(self) -> float:
        """Do one thing; returns how long to wait before the next."""
        if not self.url:
            for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
                if "console: http" in line:
                    self.url = line.split("console: ", 1)[1].split()[0].split("?")[0]
            return 0.02
        body = dict(CONSOLE_COMMANDS[self.sent % len(CONSOLE_COMMANDS)], id=f"kill-{self.sent}")
        with contextlib.suppress(OSError):
            req = urllib.request.Request(self.url + "api/command", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=0.5).read()
            self.sent += 1
        return self.rng.uniform(0.02, 0.2)


def _tree_ok(folder: Path) -> list[str]:
    bad = []
    if not folder.exists():
        return bad
    mode = folder.stat().st_mode & 0o777
    if mode != 0o700:
        bad.append(f"{folder}: mode {mode:o}, not 700")
    for p in folder.rglob("*"):
        m = p.stat().st_mode & 0o777
        want = 0o700 if p.is_dir() else 0o600
        if m != want:
            bad.append(f"{p}: mode {m:o}, not {want:o}")
    return bad


def _cli(argv: list[str], work: Path, name: str, kill_after_s: float | None = None,
         hook: dict[str, Any] | None = None) -> tuple[int | None, str]:
    """``vr <argv>`` in a forked child, its output kept; killed after ``kill_after_s`` when given."""
    side, log = work / f"{name}.side", work / f"{name}.log"
    pid = _spawn(argv, side, log, hook or {})
    if kill_after_s is not None:
        deadline = time.monotonic() + kill_after_s
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return 0, log.read_text(errors="replace")
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
    code = _wait_exit(pid)
    return code, log.read_text(errors="replace")


def check_record(kind: str, out: Path, run: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the contract promises of a killed record (see the module's docstring)."""
    from vr.record import DURABLE_AFTER_S, RecordError, read_record
    from vr.record.verify import verify_events

    found: dict[str, Any] = {"problems": []}
    problems = found["problems"]
    started = any(k == "S" for k, _ in run["notes"])
    found["perm_problems"] = _tree_ok(out)
    problems += found["perm_problems"]
    if not (out / "events.jsonl").exists():
        found["record"] = "none"
        if started:
            problems.append("the writer had started but there is no events.jsonl")
        return found
    t0 = time.monotonic()
    try:
        rec = read_record(out)
    except RecordError as e:
        found["record"] = "unreadable"
        problems.append(f"read_record: {e}")
        return found
    verdict = verify_events(out)
    if run["killed_at"] is not None:
        found["readable_s"] = time.monotonic() - run["killed_at"]   # from the kill to a verified record
    found["check_s"] = time.monotonic() - t0
    found["record"] = rec.meta.get("status", "")
    found["events"] = len(rec.events)
    found["torn_tail"] = rec.torn_tail is not None
    inputs = (out / "inputs.jsonl").read_bytes() if (out / "inputs.jsonl").exists() else b""
    found["inputs_torn"] = bool(inputs) and not inputs.endswith(b"\n")
    if rec.problems:
        problems += [f"read_record: {p}" for p in rec.problems]
    if [e["seq"] for e in rec.events] != list(range(len(rec.events))):
        problems.append("seq has a gap or is out of order")
    if not verdict.ok:
        found["verify_failed"] = True
        problems.append(f"verify_events: {verdict.text()}")
    if verdict.torn_tail != found["torn_tail"]:
        problems.append("read_record and verify_events disagree on the torn tail")
    raw = (out / "events.jsonl").read_bytes()
    if raw.count(b"\n") != len(rec.events):
        problems.append("a line that is not the last is not an event")
    killed_at = run["killed_at"]
    if killed_at is not None:
        handed = [int(k[1:]) for k, t in run["notes"] if k.startswith("H") and t <= killed_at - DURABLE_AFTER_S]
        promised = max(handed, default=0)
        found["promised"] = promised
        found["lost_events"] = max(0, promised - len(rec.events))
        if found["lost_events"]:
            problems.append(f"{found['lost_events']} events handed over more than {DURABLE_AFTER_S} s before the "
                            f"kill are missing ({len(rec.events)} on disk, {promised} promised)")
    if reference is not None:
        for name in ("events.jsonl", "inputs.jsonl"):
            data, whole = (out / name).read_bytes(), reference[name]
            cut = data[:data.rfind(b"\n") + 1]
            if not whole.startswith(cut):
                problems.append(f"{name}: not a prefix of the uninterrupted record of the same seed")
            elif len(cut) < len(data) and whole.startswith(data):
                pass   # the torn tail is the start of the next line
            elif len(cut) < len(data):
                problems.append(f"{name}: the torn tail is not the start of the line that should follow")
    return found


def check_report(out: Path, work: Path, rng: random.Random, kill_report: bool, report_s: float) -> dict[str, Any]:
    """Kill ``vr report`` (when asked), then run it whole: it works or says why; never a traceback."""
    found: dict[str, Any] = {"problems": []}
    if kill_report:
        before = {n: (out / n).read_bytes() for n in ("events.jsonl", "session.json", "inputs.jsonl")
                  if (out / n).exists()}
        if rng.random() < 0.5:
            found["report_moment"] = "uniform"
            _cli(["report", str(out)], work, "report-killed", kill_after_s=rng.uniform(0, report_s))
        else:
            k = rng.randint(1, len(REPORT_FILES))
            found["report_moment"] = f"rename {k}"
            _cli(["report", str(out)], work, "report-killed", hook={"rename": ("*", k)})
        after = {n: (out / n).read_bytes() for n in before if (out / n).exists()}
        if after != before:
            found["problems"].append("a killed vr report changed the record's own files")
        partial = {n: (out / n).read_bytes() for n in REPORT_FILES if (out / n).exists()}
        found["tmp_left"] = sorted(p.name for p in out.glob(".*.tmp"))
    t0 = time.monotonic()
    code, text = _cli(["report", str(out)], work, "report")
    found["report_s"] = time.monotonic() - t0
    found["report_exit"] = code
    found["traceback"] = "Traceback (most recent call last)" in text
    if found["traceback"] or code not in (0, 1):
        found["problems"].append(f"vr report: exit {code}: {text[-2000:]}")
    elif code == 1 and "vr report:" not in text:
        found["problems"].append(f"vr report failed without saying why: {text[-500:]}")
    found["report_message"] = text.strip().splitlines()[-1][:300] if code and text.strip() else ""
    if kill_report and code == 0:
        for name, data in partial.items():
            whole = (out / name).read_bytes()
            if name == "VERIFY.txt":   # it says when it was written, to the minute
                data, whole = _undated(data), _undated(whole)
            if name != "report.html" and data != whole:
                found["problems"].append(f"{name}: a killed vr report left a file that differs from a whole one")
            if name == "report.html" and not data.rstrip().endswith(b"</html>"):
                found["problems"].append("report.html: a killed vr report left it half-written")
    found["perm_problems"] = _tree_ok(out)
    found["problems"] += found["perm_problems"]
    return found


def _undated(text: bytes) -> bytes:
    import re

    return re.sub(rb" on \d{4}-\d\d-\d\d \d\d:\d\d ", b" on DATE ", text)


def do_kill(spec: dict[str, Any], refs: dict[str, Any], work_root: str) -> dict[str, Any]:
    """One kill: start, kill at the spec's moment, check the record (and ``vr report``)."""
    t_start = time.monotonic()
    kind, moment = spec["kind"], spec["moment"]
    rng = random.Random(spec["rng"])
    work = Path(work_root) / f"k{spec['index']:04d}"
    work.mkdir(parents=True)
    out = work / "record"
    argv = argv_for(kind, out, spec["seed"])
    ref = refs[kind]
    hook: dict[str, Any] = {}
    kill_after = None
    if moment in ("uniform", "report"):
        kill_after = rng.uniform(0, ref["lifetime_s"])
    elif moment == "after_write_seen":
        hook["watch_from_s"] = rng.uniform(0, ref["lifetime_s"])
        kill_after = ref["lifetime_s"] * 3
    elif moment in ("batch_in_flight", "torn_write"):
        hook["batch"] = rng.randint(1, max(1, ref["batches"]))
        if moment == "torn_write":
            hook["share"] = rng.uniform(0.01, 0.99)
    elif moment == "header":
        hook["rename"] = rng.choice([("session.json", 1), ("session.json", 2), ("summary.json", 1)])
    if kind == "console" and kill_after is None:
        kill_after = ref["lifetime_s"] * 3   # a self-kill comes first; this bounds a run that never gets there
    run = _run_once(kind, argv, work, hook, kill_after, rng)
    reference = refs["simulate_records"].get(str(spec["seed"])) if kind == "simulate" else None
    found = check_record(kind, out, run, reference)
    _, run["orphans_left"] = _reap_group(run["pgid"])
    run["orphan_s"] = time.monotonic() - (run["killed_at"] or run["waited_at"])
    cli_code, cli_text = (_cli(["verify", str(out)], work, "verify") if (out / "events.jsonl").exists()
                          else (None, ""))
    if cli_code not in (None, 0):
        found["problems"].append(f"vr verify: exit {cli_code}: {cli_text[-500:]}")
        found["verify_failed"] = True
    report: dict[str, Any] = {"problems": []}
    if moment == "report" or rng.random() < spec["report_share"]:
        report = check_report(out, work, rng, moment == "report" and (out / "events.jsonl").exists(),
                              refs["report_s"])
    result = {**spec, "wall_s": time.monotonic() - t_start, "command": "python -m vr " + " ".join(argv),
              "hook": hook, "kill_after_s": kill_after,
              "killed": run["killed_at"] is not None, "exit": run["exit"], "orphan_s": run["orphan_s"],
              "orphans_left": run["orphans_left"], "commands_sent": run["commands_sent"],
              "child_traceback": "Traceback (most recent" in run["log"],
              **{k: v for k, v in found.items() if k != "problems"},
              **{k: v for k, v in report.items() if k != "problems"},
              "problems": found["problems"] + report["problems"]}
    if result["child_traceback"]:
        result["problems"].append(f"the killed command printed a traceback: {run['log'][-1500:]}")
    if run["orphans_left"]:
        result["problems"].append(f"{run['orphans_left']} process(es) it started were still running "
                                  f"{ORPHAN_WAIT_S:.0f} s after the kill")
    if result["problems"]:
        result["kept"] = str(work)   # left for whoever looks into it
    else:
        _remove(work)
    return result


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def reference(kind: str, seed: int, work_root: str) -> dict[str, Any]:
    """An uninterrupted run: its lifetime, how many batches its writer wrote, its record."""
    work = Path(work_root) / f"ref-{kind}-{seed}"
    work.mkdir(parents=True)
    out = work / "record"
    run = _run_once(kind, argv_for(kind, out, seed), work, {}, None, random.Random(seed))
    if run["exit"] not in (0,):
        raise RuntimeError(f"the reference {kind} run failed (exit {run['exit']}):\n{run['log'][-3000:]}")
    t0 = time.monotonic()
    code, text = _cli(["report", str(out)], work, "report")
    report_s = time.monotonic() - t0
    return {"kind": kind, "seed": seed, "lifetime_s": run["lifetime_s"],
            "batches": sum(1 for k, _ in run["notes"] if k.startswith("B")),
            "events": (out / "events.jsonl").read_bytes().count(b"\n"), "report_s": report_s,
            "records": {n: (out / n).read_bytes().decode("latin-1") for n in ("events.jsonl", "inputs.jsonl")}
            if kind == "simulate" else None}


def plan(kills: int, kinds: list[str], seed: int, report_share: float) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    weights = [WEIGHTS[k] for k in kinds]
    specs = []
    for i in range(kills):
        kind = rng.choices(kinds, weights)[0]
        moment = rng.choices(list(MOMENTS), list(MOMENTS.values()))[0]
        specs.append({"index": i, "kind": kind, "moment": moment,
                      "seed": rng.choice(SIM_SEEDS) if kind == "simulate" else 1, "rng": rng.getrandbits(32),
                      "report_share": report_share})
    return specs


def summarise(results: list[dict[str, Any]], refs: dict[str, Any], args: argparse.Namespace,
              wall_s: float) -> dict[str, Any]:
    def pct(values: list[float]) -> dict[str, float | None]:
        return {"median": round(statistics.median(values), 4) if values else None,
                "max": round(max(values), 4) if values else None}

    by_kind: dict[str, Any] = {}
    for kind in args.kinds:
        mine = [r for r in results if r["kind"] == kind]
        by_kind[kind] = {
            "kills": len(mine), "killed": sum(r["killed"] for r in mine),
            "ended_before_the_moment": sum(not r["killed"] for r in mine),
            "moments": dict(Counter(r["moment"] for r in mine)),
            "records_checked": sum(r.get("record") not in (None, "none") for r in mine),
            "no_record_yet": sum(r.get("record") == "none" for r in mine),
            "record_status": dict(Counter(r.get("record") for r in mine)),
            "torn_tails": sum(bool(r.get("torn_tail")) for r in mine),
            "inputs_torn_tails": sum(bool(r.get("inputs_torn")) for r in mine),
            "lost_events": sum(r.get("lost_events", 0) for r in mine),
            "events_checked": sum(r.get("events", 0) for r in mine),
            "events_promised": sum(r.get("promised", 0) for r in mine),
            "verify_failures": sum(bool(r.get("verify_failed")) for r in mine),
            "permission_problems": sum(bool(r.get("perm_problems")) for r in mine),
            "report_tracebacks": sum(bool(r.get("traceback")) for r in mine),
            "command_tracebacks": sum(bool(r.get("child_traceback")) for r in mine),
            "reports": dict(Counter("ok" if r.get("report_exit") == 0 else "said why" for r in mine
                                    if "report_exit" in r)),
            "report_messages": dict(Counter(_plain(r["report_message"]) for r in mine if r.get("report_message"))),
            "wall_s_per_kill": pct([r["wall_s"] for r in mine]),
            "reports_killed": sum("report_moment" in r for r in mine),
            "report_tmp_files_left": sum(len(r.get("tmp_left", [])) for r in mine),
            "orphans_left": sum(r["orphans_left"] for r in mine),
            "console_commands_sent": sum(r["commands_sent"] for r in mine),
            "orphans_end_s": pct([r["orphan_s"] for r in mine if kind != "simulate" and r["killed"]]),
            "kill_to_readable_s": pct([r["readable_s"] for r in mine if r.get("readable_s") is not None]),
            "faulty": sum(bool(r["problems"]) for r in mine),
            "reference": {k: v for k, v in refs[kind].items() if k != "records"},
            "command": "python -m vr " + " ".join(argv_for(kind, Path("OUT"), 1)).replace(f"{ROOT}/", ""),
        }
    tot = lambda key: sum(v[key] for v in by_kind.values())  # noqa: E731
    return {
        "what": "SIGKILL at random moments; every record checked (bench/crash.py)",
        "command": "python bench/crash.py " + " ".join(args.argv),
        "seed": args.seed, "jobs": args.jobs, "kills": len(results), "wall_s": round(wall_s, 1),
        "machine": {"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform,
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "durable_after_s": __import__("vr.record", fromlist=["DURABLE_AFTER_S"]).DURABLE_AFTER_S,
        "records_checked": tot("records_checked"), "torn_tails": tot("torn_tails"), "lost_events": tot("lost_events"),
        "verify_failures": tot("verify_failures"), "tracebacks": tot("report_tracebacks") + tot("command_tracebacks"),
        "permission_problems": tot("permission_problems"), "orphans_left": tot("orphans_left"),
        "faulty_kills": tot("faulty"),
        "kill_to_readable_s": pct([r["readable_s"] for r in results if r.get("readable_s") is not None]),
        "by_kind": by_kind,
        "faults": [{k: r.get(k) for k in ("index", "kind", "moment", "hook", "kill_after_s", "command", "problems",
                                         "kept")} for r in results if r["problems"]][:50],
    }


def _plain(message: str) -> str:
    """A message with the campaign's folders left out, so alike messages count together."""
    import re

    return re.sub(r"/\S*/k\d{4}/record", "RECORD", message)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--jobs", type=int, default=2, help="kills at a time")
    p.add_argument("--kinds", default=",".join(KINDS), help="of simulate,run,console")
    p.add_argument("--report-share", type=float, default=REPORT_SHARE,
                   help="share of the other kills whose record vr report is run on too (1: every record)")
    p.add_argument("--work", help="where the records go (default: a temporary folder, removed if all is well)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    args.kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(args.kinds) - set(KINDS):
        p.error(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    import tempfile

    work_root = args.work or tempfile.mkdtemp(prefix="vr-crash-")
    import multiprocessing as mp

    started = time.monotonic()
    with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("fork"), initializer=_warm) as pool:
        wanted = [(k, 1) for k in args.kinds] + ([("simulate", s) for s in SIM_SEEDS[1:]]
                                                 if "simulate" in args.kinds else [])
        refs: dict[str, Any] = {"simulate_records": {}}
        for done in [pool.submit(reference, k, s, work_root) for k, s in wanted]:
            r = done.result()
            if r["kind"] == "simulate":
                refs["simulate_records"][str(r["seed"])] = {n: t.encode("latin-1") for n, t in r["records"].items()}
            if r["seed"] == 1:
                refs[r["kind"]] = r
        refs["report_s"] = max(refs[k]["report_s"] for k in args.kinds)
        results = []
        specs = plan(args.kills, args.kinds, args.seed, args.report_share)
        futures = [pool.submit(do_kill, spec, refs, work_root) for spec in specs]
        for i, f in enumerate(as_completed(futures), 1):
            results.append(f.result())
            if i % 50 == 0:
                print(f"{i}/{len(futures)} kills, {time.monotonic() - started:.0f} s", file=sys.stderr)
    figures = summarise(sorted(results, key=lambda r: r["index"]), refs, args, time.monotonic() - started)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if not figures["faulty_kills"] and not args.work:
        _remove(Path(work_root))
    return 1 if figures["faulty_kills"] else 0


if __name__ == "__main__":
    sys.exit(main())
