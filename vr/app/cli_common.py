"""What the session commands (simulate, run, preview, demo) share: options, checks, the summary file,
and how a signal ends a session.

A session ended by a signal ends as a clinician's stop does: ``session_ended`` with the reason
(``interrupted`` for Ctrl-C, ``terminated`` for SIGTERM from ``kill``, ``timeout`` or systemd,
``hangup`` when the terminal closes), ``session.json`` marked complete, the summary written, the
dialogue worker and the console closed. The loop reads the request between steps, so a record
is never cut mid-step; a second signal forces the way out (``KeyboardInterrupt``). The exit
status is then 128 + the signal's number, as a shell reports a process a signal ended.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DEFAULT_PSEUDONYM = "SIM-0001"
SIGNAL_REASONS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hangup"}
EXIT_AFTER = {"interrupted": 130, "terminated": 143, "hangup": 129}   # 128 + the signal's number


class CommandError(Exception):
    """A mistake in a command's input: printed as it is (no traceback), exit with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def add_common(p: argparse.ArgumentParser, *, seconds: float, profile_required: bool = True,
               profile_default: str | None = None) -> None:
    """Options every session command shares."""
    p.add_argument("--profile", required=profile_required, default=profile_default, help="exposure profile (YAML)")
    p.add_argument("--seconds", type=float, default=seconds, help="session time to run, in seconds")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same session)")
    p.add_argument("--out", metavar="DIR", help="new session folder (default: sessions/<pseudonym>_<time>)")
    p.add_argument("--patient", metavar="K=V,...", help="synthetic patient parameters, e.g. sensitivity=1.3")
    p.add_argument("--pseudonym", default=None,
                   help="patient pseudonym: 1-3 capital letters, a hyphen, 2-5 digits, e.g. P-0042 (never a name); "
                        "default: the one the --out folder is named by (sessions/P-0042_first), else "
                        f"{DEFAULT_PSEUDONYM}")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def resolve_profile(name: str) -> Path:
    """A profile path as given, or relative to the toolkit's own folder."""
    from vr.config.load import PACKAGE_ROOT

    path = Path(name)
    if not path.exists() and (PACKAGE_ROOT / name).exists():
        return PACKAGE_ROOT / name
    shipped = PACKAGE_ROOT / "exposure_profiles" / f"{name}.yaml"  # a shipped profile by name
    if not path.exists() and path.suffix == "" and shipped.exists():
        return shipped
    return path


def default_out(pseudonym: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("sessions") / f"{pseudonym}_{stamp}"


def folder_pseudonym(out: str | Path | None) -> str | None:
    """The pseudonym a session folder is named by (``P-0042`` or ``P-0042_anything``), or None."""
    from vr.record.privacy import PSEUDONYM_RE

    if not out:
        return None
    head = Path(out).name.split("_", 1)[0]
    return head if PSEUDONYM_RE.fullmatch(head) else None


def pick_pseudonym(given: str | None, out: str | Path | None) -> str:
    """The session's pseudonym: ``--pseudonym``, else the one the ``--out`` folder is named by, else the default.

    A folder named for one patient holding another's session would be misfiled by everyone who
    reads the folder names (and ``vr report --patient`` reads the record), so the two must agree.
    Raises ``ValueError`` for a malformed pseudonym or a disagreement."""
    from vr.record import check_pseudonym

    named = folder_pseudonym(out)
    if given is None:
        return check_pseudonym(named or DEFAULT_PSEUDONYM)  # what names folders is always the checked text
    pseudonym = check_pseudonym(given)
    if named is not None and named != pseudonym:
        raise ValueError(f"--out {Path(out).name!r} is named for {named} but --pseudonym is {pseudonym}; "
                         "make them agree (or leave out --pseudonym: the folder's name is used)")
    return pseudonym


def session_setup(args: argparse.Namespace):
    """Check the pseudonym and patient options, load the profile; returns (pseudonym, params, loaded, out)."""
    from vr.config import ConfigError, load_profile
    from vr.sim import PatientParams

    try:
        pseudonym = pick_pseudonym(args.pseudonym, args.out)
        params = PatientParams.parse(args.patient or "")
    except ValueError as e:
        raise CommandError(f"vr {args.command}: {e}", 2) from None
    try:
        loaded = load_profile(resolve_profile(args.profile))
    except ConfigError as e:
        raise CommandError(str(e), 1) from None
    out = Path(args.out) if args.out else default_out(pseudonym)
    return pseudonym, params, loaded, out


class StopRequest:
    """Why a signal asked the running session to end ('' while none has); the loop calls it between steps."""

    def __init__(self) -> None:
        self.reason = ""

    def __call__(self) -> str:
        return self.reason


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """While a session runs, Ctrl-C, SIGTERM and SIGHUP ask it to end cleanly (see the module's
    docstring); a second signal raises ``KeyboardInterrupt``. The previous handlers come back after.
    Outside the main thread (where Python allows no handlers) nothing is installed."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.reason:  # asked twice: the clean end is not coming (a device hangs?); leave now
            raise KeyboardInterrupt
        stop.reason = SIGNAL_REASONS[signal.Signals(signum).name]

    previous = {}
    for name in SIGNAL_REASONS:
        number = getattr(signal, name, None)   # Windows has no SIGHUP
        if number is not None:
            previous[number] = signal.signal(number, handler)
    try:
        yield stop
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def exit_status(ended: str) -> int:
    """0 for a session that ran its course or was stopped in it; 128 + the signal for one a signal ended."""
    return EXIT_AFTER.get(ended, 0)


def tell(text: str) -> None:
    """Print a result for the person at the terminal, escaped (names come from files); a terminal
    that is gone (hang-up, closed pipe) loses the text, not the session's clean end."""
    from vr.config.text import printable

    try:
        print(printable(text, keep_newlines=True), flush=True)
    except (OSError, ValueError):
        pass


def write_summary(out: Path, data: dict[str, Any]) -> None:
    """Write ``summary.json`` (0600, whole or not at all) beside the record.

    The record is already closed when this runs, so a disk that refuses it costs only this
    file: say so on stderr and go on (no traceback, no temporary file left)."""
    from vr.record.files import replace_private

    path = out / "summary.json"
    try:
        replace_private(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    except OSError as e:
        print(f"warning: cannot write {path}: {e.strerror or e}; the summary is not saved "
              "(the session record itself is closed)", file=sys.stderr)
