"""The ``labkit`` command: ``labkit env`` for now."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Backend Lifecycle Lab helpers.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env", help="which PostgreSQL backend would be used and why; versions; what is missing")
    args = parser.parse_args(argv)
    if args.command == "env":
        from labkit.envreport import env

        report = env()
        print(report)
        return 0 if report.ok else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
