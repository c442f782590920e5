"""The ``vr`` command: each subcommand parses its arguments, loads what it needs and calls one function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _yaml_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml"))))
        else:
            out.append(p)
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    from vr.config import ConfigError, validate_file
    from vr.config.text import printable

    files = _yaml_files(args.paths)
    if not files:
        print("vr validate: no .yaml files found in the paths given", file=sys.stderr)
        return EXIT_USAGE
    bad = 0
    scene_dirs = [Path(d) for d in args.scenes] if args.scenes else None
    for path in files:
        try:
            kind = validate_file(path, scene_dirs)
        except ConfigError as e:
            bad += 1
            print(str(e), file=sys.stderr)
        else:
            if not args.quiet:
                print(printable(f"{path}: ok ({kind})"))
    if bad:
        print(f"{bad} of {len(files)} file(s) have problems", file=sys.stderr)
    return EXIT_INVALID if bad else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from vr.config.schema import json_schema_text, markdown_reference

    text = markdown_reference() if args.markdown else json_schema_text(args.kind)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from vr.record.verify import verify_events

    worst = EXIT_OK
    for folder in args.dirs:
        path = Path(folder)
        if not path.exists() or (path.is_dir() and not (path / "events.jsonl").exists()):
            print(f"vr verify: {path}: not a session record (no events.jsonl)", file=sys.stderr)
            worst = EXIT_INVALID
            continue
        verdict = verify_events(path)  # unreadable files come back as problems, not exceptions
        print(verdict.text(), file=sys.stdout if verdict.ok else sys.stderr)
        if not verdict.ok:
            worst = EXIT_INVALID
    return worst


def cmd_report(args: argparse.Namespace) -> int:
    from vr.record import RecordError

    worst = EXIT_OK
    targets = [args.dirs[0]] if args.patient else args.dirs
    for folder in targets:
        try:
            if args.patient:
                from vr.record import check_pseudonym
                from vr.record.course import course_report

                written = course_report(Path(folder), check_pseudonym(args.patient),
                                        Path(args.out) if args.out else None)
            else:
                from vr.record.report import session_report

                written = session_report(Path(folder))
        except (RecordError, FileNotFoundError, ValueError) as e:
            print(f"vr report: {e}", file=sys.stderr)
            worst = EXIT_INVALID
            continue
        except OSError as e:  # the report's own files: a full disk, a folder we may not write into
            print(f"vr report: cannot write {e.filename or folder}: {e.strerror or e}; free space or choose "
                  "a folder you may write into (the record itself is unchanged)", file=sys.stderr)
            worst = EXIT_INVALID
            continue
        files = ", ".join(p.name for p in written.files)
        print(f"wrote {written.path}" + (f" (and {files})" if files else ""))
        if not written.trusted:
            more = f" (and {len(written.problems) - 1} more)" if len(written.problems) > 1 else ""
            marked = ("the course report marks it" if args.patient else
                      "the report and its CSV files are marked untrustworthy (see the banner and VERIFY.txt)")
            print(f"vr report: {folder}: do not rely on this report: {written.problems[0]}{more}; {marked}",
                  file=sys.stderr)
            worst = EXIT_INVALID
    return worst


def cmd_replay(args: argparse.Namespace) -> int:
    from vr.record import RecordError
    from vr.record.replay import verify_replay

    if not args.verify:
        from vr.app.replay_view import replay_rendered

        return replay_rendered(args)
    try:
        verdict = verify_replay(Path(args.dir))
    except (RecordError, OSError, ValueError) as e:
        print(f"vr replay: {e}", file=sys.stderr)
        return EXIT_INVALID
    print(verdict.message, file=sys.stdout if verdict.same else sys.stderr)
    return EXIT_OK if verdict.same else EXIT_INVALID


def cmd_export(args: argparse.Namespace) -> int:
    from vr.record import RecordError
    from vr.record.export import write_tables, write_xdf

    if not (args.xdf or args.tables):
        print("vr export: say what to write: --xdf FILE (one session) or --tables DIR (every session under DIR)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.xdf:
            print(f"wrote {write_xdf(Path(args.dir), Path(args.xdf))}")
        if args.tables:
            written = write_tables(Path(args.dir), Path(args.tables))
            print(f"wrote {written.folder} ({written.sessions} session(s): "
                  f"{', '.join(p.name for p in written.files)})")
            for problem in written.problems:
                print(f"vr export: left out: {problem}", file=sys.stderr)
            if written.problems:
                return EXIT_INVALID
    except (RecordError, FileExistsError, ValueError) as e:
        print(f"vr export: {e}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as e:
        print(f"vr export: cannot write {e.filename or args.dir}: {e.strerror or e}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vr", description="Virtual-reality exposure therapy and pain distraction toolkit.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check profiles and scenes; list every problem with file:line:col")
    p.add_argument("paths", nargs="+", help="YAML files or folders of them")
    p.add_argument("--scenes", action="append", metavar="DIR", help="where scene files are (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="write the JSON Schema for profiles or scenes (for editors)")
    p.add_argument("--kind", choices=("profile", "scene", "distraction", "lines"), default="profile")
    p.add_argument("--markdown", action="store_true", help="write the parameter reference instead")
    p.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("verify", help="check session records: hash chain and numbering; names the first bad line")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="session folders")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("report", help="report.html and CSV files for a session; --patient compares a course")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="session folders (with --patient: the folder of sessions)")
    p.add_argument("--patient", metavar="PSEUDONYM", help="compare every session of this patient under DIR")
    p.add_argument("--out", metavar="FILE", help="with --patient: where to write the course report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("replay", help="re-run a recorded session from its seed and inputs (--verify), or watch it")
    p.add_argument("dir", metavar="DIR", help="session folder")
    p.add_argument("--verify", action="store_true", help="confirm the re-run gives the recorded events")
    p.add_argument("--backend", choices=("auto", "offscreen", "desktop"), default="auto")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed (desktop; +/- change it)")
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="start at this session time")
    p.add_argument("--screenshots", metavar="DIR", help="offscreen: save a picture every --screenshot-every s")
    p.add_argument("--screenshot-every", type=float, default=10.0, metavar="S")
    p.add_argument("--size", default="960x540", help="window or buffer size")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("export", help="a session as XDF (--xdf) or every session under a folder as tables (--tables)")
    p.add_argument("dir", metavar="DIR", help="a session folder (--xdf), or a folder of sessions (--tables)")
    p.add_argument("--xdf", metavar="FILE", help="write the session as XDF: markers, head pose, physiology")
    p.add_argument("--tables", metavar="OUTDIR", help="write long-format tables (CSV; Parquet too with pyarrow) "
                                                       "into this new folder")
    p.set_defaults(func=cmd_export)

    from vr.app.doctor import add_doctor_parser
    from vr.app.run_cli import add_run_parsers
    from vr.app.say import add_say_parser
    from vr.app.simulate_cli import add_simulate_parser

    add_simulate_parser(sub)
    add_run_parsers(sub)
    add_doctor_parser(sub)
    add_say_parser(sub)
    return parser


def _version() -> str:
    from vr import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from vr.app.cli_common import CommandError

    try:
        return int(args.func(args))
    except CommandError as e:
        from vr.config.text import printable

        print(printable(str(e), keep_newlines=True), file=sys.stderr)  # it may quote a file or a device
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
