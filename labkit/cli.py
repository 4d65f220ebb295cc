"""The ``labkit`` command: ``labkit env``, ``labkit doctor`` and ``labkit progress``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Backend Lifecycle Lab helpers.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env", help="which PostgreSQL backend would be used and why; versions; what is missing")
    from labkit.doctor.command import add_arguments as doctor_arguments

    doctor_arguments(commands.add_parser(
        "doctor", help="find the workbook's failure patterns in a FastAPI + SQLAlchemy project",
        description="Static checks over every .py file under PATH (nothing is imported unless --app is given). "
                    "Exit code: 0 nothing that fails (info findings never do), 1 error or warning findings, "
                    "2 usage error, unreadable PATH, no Python file, or internal error."))
    progress_command = commands.add_parser("progress", help="which notebooks you have finished, from the checks that passed")
    progress_command.add_argument("--work", metavar="DIR", help="the work root (default: notebooks/work of this checkout)")
    args = parser.parse_args(argv)
    if args.command == "progress":
        from labkit.learner_progress import progress, summary

        table = progress(args.work)
        print(table)
        print(summary(table))
        return 0
    if args.command == "doctor":
        from labkit.doctor.command import run as doctor

        return doctor(args)
    if args.command == "env":
        from labkit.envreport import env

        report = env()
        print(report)
        return 0 if report.ok else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
