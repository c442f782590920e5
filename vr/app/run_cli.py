"""Argument parsing for ``vr run``, ``vr preview`` and ``vr demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from vr.app.cli_common import (
    CommandError, add_common, default_out, exit_status, pick_pseudonym, session_setup, stop_on_signals, tell,
    write_summary,
)

DEMO_PROFILE = "exposure_profiles/demo_tour.yaml"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use WIDTHxHEIGHT, e.g. 960x540") from None
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: each side from 64 to 8192 pixels")
    return w, h


def choose_backend(quiet: bool) -> str:
    """``--backend auto``: a headset when an OpenXR runtime answers with one, else a window, else offscreen."""
    from vr.app.doctor import headless
    from vr.app.run import display_available

    try:
        from vr.backends.openxr.instance import HeadsetRefused, HeadsetUnavailable, probe

        info = probe(headless())
    except ImportError:
        reason = "pyopenxr is not installed"
    except (HeadsetUnavailable, HeadsetRefused) as e:
        reason = str(e).splitlines()[0].rstrip(":. ")
        if isinstance(e, HeadsetUnavailable):
            reason = "no OpenXR runtime with a headset answered (`vr doctor` says more)"
    else:
        if not quiet:
            tell(f"backend: openxr ({info.runtime_name}, {info.system_name})")  # names the runtime gives
        return "openxr"
    backend = "desktop" if display_available() else "offscreen"
    if not quiet:
        where = "a display is available" if backend == "desktop" else "no display found (DISPLAY is not set)"
        print(f"backend: {backend} ({reason}; {where})")
    return backend


def cmd_run(args: argparse.Namespace) -> int:
    from vr.app.run import display_available, run_rendered

    backend = args.backend
    if backend == "auto":
        backend = choose_backend(args.quiet)
    if backend == "desktop" and not display_available():
        raise CommandError(f"vr {args.command}: no display for a window; use --backend offscreen, or run under Xvfb")
    seconds = args.seconds if args.seconds and args.seconds > 0 else None
    pseudonym, params, loaded, out = session_setup(args)
    if backend == "offscreen" and seconds is None and not getattr(loaded, "distraction", False):
        raise CommandError(f"vr {args.command}: an offscreen run needs --seconds "
                           "(a distraction run ends when its simulated procedure does)")
    if backend == "openxr" and not 0.25 <= args.xr_scale <= 2.0:
        raise CommandError(f"vr {args.command}: --xr-scale {args.xr_scale} is outside 0.25 to 2.0")
    shots = Path(args.screenshots) if args.screenshots else None
    console = None if args.no_console else _console_options(args)
    with stop_on_signals() as stop:  # Ctrl-C, kill, timeout, systemd, a closed terminal: a clean end
        try:
            result = run_rendered(loaded, backend_kind=backend, seconds=seconds, seed=args.seed, out=out,
                                  pseudonym=pseudonym, screenshots=shots, size=args.size, fps=args.fps,
                                  patient=params, screenshot_every_s=args.screenshot_every, xr_scale=args.xr_scale,
                                  dialogue=not args.no_dialogue, phase_scale=args.phase_scale, console=console,
                                  stop_requested=stop)
        except (OSError, RuntimeError) as e:
            raise CommandError(f"vr {args.command}: {e}", 1) from None
        summary = result.summary
        write_summary(out, {**summary.to_dict(), "frames": result.frames,
                            "screenshots": [p.name for p in result.screenshots]})
        if not args.quiet:
            shown = f"\nscreenshots: {shots} ({len(result.screenshots)})" if result.screenshots else ""
            tell(f"{summary.text()}\n{result.frames} frames rendered; record: {out}{shown}")
    return exit_status(summary.ended)


def _console_options(args: argparse.Namespace):
    from vr.console import ConsoleOptions
    from vr.console.server import is_loopback

    host = args.console_host or "127.0.0.1"
    if args.console_port is not None and not 0 <= args.console_port <= 65535:
        raise CommandError(f"vr {args.command}: --console-port {args.console_port} is not a port (1-65535, or 0)")

    def announce(url: str) -> None:
        # Printed even with --quiet: it is the only way to the console (and, on a network, its token).
        note = "" if is_loopback(host) else "   (anyone with this address can steer the session: keep it private)"
        print(f"console: {url}{note}", flush=True)

    return ConsoleOptions(host=host, port=args.console_port, announce=announce)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.backend == "auto":
        args.backend = choose_backend(args.quiet)
    if args.out:
        out = Path(args.out)
    else:
        try:
            out = default_out(pick_pseudonym(args.pseudonym, None))
        except ValueError as e:
            raise CommandError(f"vr {args.command}: {e}", 2) from None
    if args.backend == "offscreen" and not args.screenshots:
        args.screenshots = str(out / "screenshots")
    args.out = str(out)
    return cmd_run(args)


def add_run_parsers(sub: argparse._SubParsersAction) -> None:
    for name, help_text in (
            ("run", "a rendered session: offscreen (headless, synthetic patient) or in a desktop window"),
            ("preview", "the desktop preview: a window, mouse-look and WASD, keys for the essentials"),
            ("demo", "the two-minute public-speaking tour: a window if there is a display, else headless")):
        p = sub.add_parser(name, help=help_text)
        demo = name == "demo"
        add_common(p, seconds=130.0 if demo else 0.0, profile_required=name == "run",
                   profile_default=DEMO_PROFILE if name != "run" else None)
        default_backend = {"run": "auto", "preview": "desktop", "demo": "auto"}[name]
        p.add_argument("--backend", choices=("auto", "openxr", "desktop", "offscreen"), default=default_backend,
                       help="where frames go (auto: a headset when an OpenXR runtime answers, else a window "
                            "when a display exists, else offscreen)")
        p.add_argument("--phase-scale", type=float, default=1.0, metavar="F",
                       help="offscreen distraction runs: phases last this share of their expected length")
        p.add_argument("--no-dialogue", action="store_true",
                       help="the humans stay silent (no dialogue worker, no sentence model, no voices)")
        p.add_argument("--xr-scale", type=float, default=1.0, metavar="F",
                       help="openxr: eye resolution as a share of the headset's recommended size (0.25-2.0)")
        p.add_argument("--console-port", type=int, default=None, metavar="PORT",
                       help="the clinician console's port (default 8765 or the next free one; 0: any free port)")
        p.add_argument("--console-host", metavar="ADDRESS",
                       help="serve the console on this address (e.g. 0.0.0.0) for a tablet on the local network; "
                            "a token is then required (default: 127.0.0.1, this computer only)")
        p.add_argument("--no-console", action="store_true", help="no clinician console")
        p.add_argument("--screenshots", metavar="DIR", help="save a screenshot every --screenshot-every seconds")
        p.add_argument("--screenshot-every", type=float, default=20.0 if demo else 10.0, metavar="S")
        p.add_argument("--size", type=_size, default=(960, 540), help="window or buffer size, e.g. 1280x720")
        p.add_argument("--fps", type=float, default=15.0 if demo else 30.0,
                       help="offscreen: frames per simulated second")
        p.set_defaults(func=cmd_demo if demo else cmd_run)
