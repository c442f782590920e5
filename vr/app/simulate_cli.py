"""Argument parsing for ``vr simulate`` (kept beside the loop it drives)."""

from __future__ import annotations

import argparse

from vr.app.cli_common import (
    CommandError, add_common, exit_status, session_setup, stop_on_signals, tell, write_summary,
)


def cmd_simulate(args: argparse.Namespace) -> int:
    from vr.app.simulate import run_simulation

    pseudonym, params, loaded, out = session_setup(args)
    with stop_on_signals() as stop:  # Ctrl-C, kill, timeout, systemd: a clean end with the reason
        try:
            summary = run_simulation(loaded, seconds=args.seconds, seed=args.seed, out=out, pseudonym=pseudonym,
                                     patient=params, rate_hz=args.rate_hz, stop_requested=stop)
        except OSError as e:  # the record could not be started (it says where)
            raise CommandError(f"vr {args.command}: {e}", 1) from None
        write_summary(out, summary.to_dict())
        if not args.quiet:
            tell(f"{summary.text()}\nrecord: {out}")
    return exit_status(summary.ended)


def add_simulate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="dry-run a profile with a synthetic patient; writes a session record")
    add_common(p, seconds=1800.0)
    p.add_argument("--rate-hz", type=float, default=30.0,
                   help="simulation steps per second (a headset run steps at its display rate)")
    p.set_defaults(func=cmd_simulate)
