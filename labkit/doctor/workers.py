"""Checking files in several processes at once, for large trees on machines with more than one core.

Each worker walks a contiguous share of the files (in order) with a symbol table of its own and
sends back what it found, what waits for the whole project, and its share of the symbol table. The
parent merges the shares in file order, so the result is the one a single process would give:
bindings are appended in the same order, and the first definition of a name still wins.

Workers are forked (on platforms that have ``fork``), so the rules need not be imported again, and
only where the caller asked for it: a scan inside a Jupyter kernel or a test runner stays in one
process unless told otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.doctor.context import Pending
from labkit.doctor.findings import DoctorError, Finding
from labkit.doctor.suppress import Suppressions
from labkit.doctor.values import SymbolTable

if TYPE_CHECKING:
    from labkit.doctor.options import Options

# Below this many files the cost of starting processes is more than the walk saves.
MIN_FILES_PER_WORKER = 150
MAX_WORKERS = 8


@dataclass
class Share:
    """What checking some of the files produced: findings, pending findings, and facts for the whole project."""

    found: list[Finding] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    errors: list[DoctorError] = field(default_factory=list)
    symbols: SymbolTable = field(default_factory=SymbolTable)
    suppressions: dict[str, Suppressions] = field(default_factory=dict)
    files: int = 0
    lines: int = 0
    imported: set[str] = field(default_factory=set)  # what the walked files import (see labkit.doctor.prefilter)
    unwalked: list[tuple[Path, str, str]] = field(default_factory=list)  # (file, relative path, module)
    creates_engine: bool = False
    uses_async_engine: bool = False


def workers_for(jobs: int, files: int) -> int:
    """How many processes to use: ``jobs`` (0: as many as the cores allow and the files are worth)."""
    if jobs == 1 or files < 2:
        return 1
    import multiprocessing  # only here: a scan in one process does not pay for importing it

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if jobs > 1:
        return min(jobs, max(1, files))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])  # cores other work already keeps busy: more processes only queue
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(cores - busy, MAX_WORKERS, files // MIN_FILES_PER_WORKER))


def split(files: Sequence[tuple[Path, str]], parts: int) -> list[list[tuple[Path, str]]]:
    """Contiguous shares of about the same size in bytes (file order kept)."""
    sizes = []
    for path, _ in files:
        try:
            sizes.append(max(path.stat().st_size, 1))
        except OSError:
            sizes.append(1)
    target = sum(sizes) / parts
    shares: list[list[tuple[Path, str]]] = [[]]
    filled = 0.0
    for item, size in zip(files, sizes, strict=False):
        if filled >= target * len(shares) and len(shares) < parts:
            shares.append([])
        shares[-1].append(item)
        filled += size
    return [share for share in shares if share]


# Set in the parent just before forking: the forked workers read it instead of receiving it pickled.
_JOB: tuple[object, ...] | None = None


def _run_share(index: int) -> Share:
    from labkit.doctor.scanner import check_share

    assert _JOB is not None
    shares, root, base, modules, first_party, options, prefix, walk_all = _JOB
    return check_share(
        shares[index],  # type: ignore[index]
        root,  # type: ignore[arg-type]
        base,  # type: ignore[arg-type]
        modules,  # type: ignore[arg-type]
        first_party,  # type: ignore[arg-type]
        options,  # type: ignore[arg-type]
        prefix,  # type: ignore[arg-type]
        walk_all,  # type: ignore[arg-type]
    )


def check_in_workers(
    shares: list[list[tuple[Path, str]]],
    root: Path,
    base: Path,
    modules: dict[str, str],
    first_party: frozenset[str],
    options: Options,
    prefix: list[str],
    walk_all: frozenset[str],
) -> list[Share]:
    """Each share checked in a forked process; the results in share order."""
    import multiprocessing

    global _JOB
    _JOB = (shares, root, base, modules, first_party, options, prefix, walk_all)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(len(shares)) as pool:
            return pool.map(_run_share, range(len(shares)))
    finally:
        _JOB = None
