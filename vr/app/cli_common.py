"""What the session commands (simulate, run, preview, demo) share: options, checks, the summary file."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


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
    p.add_argument("--pseudonym", default="SIM-0001", help="patient pseudonym: 1-3 capital letters, a hyphen, 2-5 digits, e.g. P-0042 (never a name)")
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


def session_setup(args: argparse.Namespace):
    """Check the pseudonym and patient options, load the profile; returns (pseudonym, params, loaded, out)."""
    from vr.config import ConfigError, load_profile
    from vr.record import check_pseudonym
    from vr.sim import PatientParams

    try:
        pseudonym = check_pseudonym(args.pseudonym)
        params = PatientParams.parse(args.patient or "")
    except ValueError as e:
        raise CommandError(f"vr {args.command}: {e}", 2) from None
    try:
        loaded = load_profile(resolve_profile(args.profile))
    except ConfigError as e:
        raise CommandError(str(e), 1) from None
    out = Path(args.out) if args.out else default_out(pseudonym)
    return pseudonym, params, loaded, out


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
