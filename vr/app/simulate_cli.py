"""Argument parsing for ``vr simulate`` (kept beside the loop it drives)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

def default_out(pseudonym: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("sessions") / f"{pseudonym}_{stamp}"


def cmd_simulate(args: argparse.Namespace) -> int:
    from vr.app.simulate import run_simulation
    from vr.config import ConfigError, load_profile
    from vr.record import check_pseudonym
    from vr.sim import PatientParams

    try:
        pseudonym = check_pseudonym(args.pseudonym)
        params = PatientParams.parse(args.patient or "")
    except ValueError as e:
        print(f"vr {args.command}: {e}", file=sys.stderr)
        return 2
    try:
        loaded = load_profile(resolve_profile(args.profile))
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else default_out(pseudonym)
    try:
        summary = run_simulation(loaded, seconds=args.seconds, seed=args.seed, out=out, pseudonym=pseudonym,
                                 patient=params, rate_hz=args.rate_hz)
    except (FileExistsError, PermissionError) as e:
        print(f"vr {args.command}: {e}", file=sys.stderr)
        return 1
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out / "summary.json").chmod(0o600)
    if not args.quiet:
        print(summary.text())
        print(f"record: {out}")
    return 0


def add_common(p: argparse.ArgumentParser, *, seconds: float, profile_required: bool = True,
               profile_default: str | None = None) -> None:
    """Options every session command shares."""
    p.add_argument("--profile", required=profile_required, default=profile_default, help="exposure profile (YAML)")
    p.add_argument("--seconds", type=float, default=seconds, help="session time to run, in seconds")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same session)")
    p.add_argument("--out", metavar="DIR", help="new session folder (default: sessions/<pseudonym>_<time>)")
    p.add_argument("--patient", metavar="K=V,...", help="synthetic patient parameters, e.g. sensitivity=1.3")
    p.add_argument("--pseudonym", default="SIM-0001", help="patient pseudonym (letters-digits, never a name)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def resolve_profile(name: str) -> Path:
    """A profile path as given, or relative to the toolkit's own folder."""
    from vr.config.load import PACKAGE_ROOT

    path = Path(name)
    if not path.exists() and (PACKAGE_ROOT / name).exists():
        return PACKAGE_ROOT / name
    return path


def add_simulate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="dry-run a profile with a synthetic patient; writes a session record")
    add_common(p, seconds=1800.0)
    p.add_argument("--rate-hz", type=float, default=30.0,
                   help="simulation steps per second (a headset run steps at its display rate)")
    p.set_defaults(func=cmd_simulate)
