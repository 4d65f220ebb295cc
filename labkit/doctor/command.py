"""``labkit doctor PATH...``: the command line around :func:`labkit.doctor.scanner.scan`.

Exit codes: 0 nothing that fails (no findings, or ``info`` ones only, or
``--exit-zero``), 1 an ``error`` or ``warning`` finding, 2 a usage error, a
path that cannot be read, no Python file to check, or an error of the doctor
itself (its message on stderr). Findings go to stdout in the chosen format, so
``labkit doctor . --format sarif > doctor.sarif`` works in CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from labkit._errors import LabkitError
from labkit.doctor import learn, registry
from labkit.doctor import options as options_module
from labkit.doctor.files import package_prefix
from labkit.doctor.findings import Finding, Report
from labkit.doctor.formats import FORMATS, render
from labkit.doctor.rules.events import ON_EVENT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="*", help="the project folder to check (or several folders or .py files)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (path:line:col: rule message), json, github (Actions annotations) or "
        "sarif (2.1.0, for code scanning); default: text",
    )
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when there are findings (errors of the doctor itself still exit 2)",
    )
    parser.add_argument(
        "--learn-url",
        metavar="URL",
        help="where the notebooks are read: a base URL, or a template with {notebook} "
        f"(default: learn-url in pyproject, ${learn.ENVIRONMENT}, or labkit's repository)",
    )
    parser.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="also import the app (in a subprocess, database unreachable) for runtime checks",
    )
    parser.add_argument(
        "--select", action="append", metavar="RULES", help="only these rule ids, comma-separated (default: all)"
    )
    parser.add_argument("--ignore", action="append", metavar="RULES", help="leave out these rule ids, comma-separated")
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        default=[],
        help="leave out files or folders matching this pattern (repeatable)",
    )
    parser.add_argument(
        "--pool-limit",
        type=int,
        metavar="N",
        help=f"oversized-pool: the most pool_size + max_overflow may be (default {options_module.DEFAULT_POOL_LIMIT})",
    )
    parser.add_argument(
        "--app-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time limit for importing the app with --app (default 30)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="processes to check files in (default 0: as many as the cores and the tree are worth)",
    )
    parser.add_argument("--no-config", action="store_true", help="ignore [tool.labkit.doctor] in pyproject.toml")
    parser.add_argument("--list-rules", action="store_true", help="print the rules as a markdown table and exit")


def run(args: argparse.Namespace) -> int:
    """Run the doctor for parsed arguments; the process exit code."""
    if args.list_rules:
        print(registry.markdown_table())
        return 0
    if not args.path:
        print("labkit doctor: error: PATH is required (the project folder to check)", file=sys.stderr)
        return 2
    try:
        report, chosen = check(args)
    except LabkitError as exc:
        print(f"labkit doctor: {exc}", file=sys.stderr)
        return 2
    learn_template = learn.template(args.learn_url or chosen.learn_url)
    try:
        print(render(report, args.format, learn_template), flush=True)
    except BrokenPipeError:  # `labkit doctor . | head`: the reader has gone, the verdict stands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.exit_zero and report.exit_code == 1:
        return 0
    return report.exit_code


def check(args: argparse.Namespace) -> tuple[Report, options_module.Options]:
    from labkit.doctor.scanner import scan

    paths = [Path(p) for p in args.path]
    for path, given in zip(paths, args.path, strict=False):
        if not path.exists():
            raise LabkitError(f"{given} does not exist.", "Give the folder (or files) of the project to check.")
    if args.app and len(paths) > 1:
        raise LabkitError(
            "--app takes one PATH (the folder to import the app from).",
            "Run the doctor on the project's folder alone when you use --app.",
        )
    path = paths[0]
    chosen = options_module.build(
        path,
        registry.parse_ids(args.select),
        registry.parse_ids(args.ignore),
        args.exclude,
        args.pool_limit,
        use_config=not args.no_config,
    )
    if args.jobs < 0:
        raise LabkitError(
            f"--jobs {args.jobs} is below 0.", "Give a number of processes, or 0 to let the doctor choose."
        )
    chosen = dataclasses.replace(chosen, jobs=args.jobs)
    if args.app:
        from labkit.doctor.probe import check_target

        check_target(args.app)  # a malformed target is a usage error before any work is done
    report = scan(paths, chosen)
    project = report.project
    if args.app and project is not None:
        from labkit.doctor.probe import probe

        app, found, errors = probe(project, args.app, len(package_prefix(path)), args.app_timeout)
        report.app = app
        report.errors.extend(errors)
        found = [f for f in found if not project.silenced(f)]
        report.findings = sorted(report.findings + _new_runtime(report.findings, found, chosen.rules))
    return report, chosen


def _new_runtime(static: list[Finding], runtime: list[Finding], rules: frozenset[str]) -> list[Finding]:
    """Runtime findings that say something the static ones did not (same rule and subject: kept once)."""
    seen = {(f.rule, f.subject) for f in static}
    seen_rules = {f.rule for f in static}
    fresh = []
    for finding in runtime:
        if finding.rule not in rules:
            continue
        if (finding.rule, finding.subject) in seen or (finding.rule == ON_EVENT.id and ON_EVENT.id in seen_rules):
            continue
        fresh.append(finding)
    return fresh
