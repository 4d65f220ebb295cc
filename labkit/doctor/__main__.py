"""``python -m labkit.doctor PATH ...``: the same as ``labkit doctor PATH ...``."""

from __future__ import annotations

import argparse
import sys

from labkit.doctor.command import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.doctor",
        description="Find the workbook's failure patterns in a FastAPI + SQLAlchemy project.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
