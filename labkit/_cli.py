"""The ``labkit`` command: ``env``, ``doctor``, ``progress``, ``save`` and ``restore``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Backend Lifecycle Lab helpers.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env", help="which PostgreSQL backend would be used and why; versions; what is missing")
    from labkit.doctor.command import add_arguments as doctor_arguments

    doctor_arguments(
        commands.add_parser(
            "doctor",
            help="find the workbook's failure patterns in a FastAPI + SQLAlchemy project",
            description="Static checks over every .py file under PATH (nothing is imported unless --app is given). "
            "Exit code: 0 nothing that fails (info findings never do), 1 error or warning findings, "
            "2 usage error, unreadable PATH, no Python file, or internal error.",
        )
    )
    progress_command = commands.add_parser(
        "progress", help="which notebooks you have finished, from the checks that passed"
    )
    progress_command.add_argument(
        "--work", metavar="DIR", help="the work root (default: notebooks/work of this checkout)"
    )
    save_command = commands.add_parser("save", help="write your work (every work dir, progress) to one zip file")
    save_command.add_argument("file", nargs="?", help="where to write it (default: labkit-work-<date>.zip here)")
    save_command.add_argument("--work", metavar="DIR", help="the work root (default: notebooks/work of this checkout)")
    restore_command = commands.add_parser("restore", help="put back the work that `labkit save` wrote")
    restore_command.add_argument("file", help="the zip file `labkit save` wrote")
    restore_command.add_argument(
        "--work", metavar="DIR", help="the work root (default: notebooks/work of this checkout)"
    )
    args = parser.parse_args(argv)
    if args.command in ("save", "restore"):
        from labkit._errors import LabkitError
        from labkit._saves import restore, save

        try:
            if args.command == "save":
                print(save(args.file, args.work))
            else:
                names = restore(args.file, args.work)
                print(f"Restored {', '.join(names)}. Work dirs that were here are kept in .history.")
        except LabkitError as exc:
            print(f"labkit {args.command}: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "progress":
        from labkit._progress import progress, summary

        table = progress(args.work)
        print(table)
        print(summary(table))
        return 0
    if args.command == "doctor":
        from labkit.doctor.command import run as doctor

        return doctor(args)
    if args.command == "env":
        from labkit._envreport import env

        report = env()
        print(report)
        return 0 if report.ok else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
