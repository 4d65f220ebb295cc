"""A scan of a project: list the files, parse and walk each once, then settle what needed the whole project.

The order matters for the cross-module rules: every file is walked first
(filling the project's symbol table), then the pending findings are resolved
against it, then inline suppressions are applied, file by file. A file no
selected rule can report on is only checked for syntax errors, and walked
after the others if one of them imports it (see :mod:`labkit.doctor.prefilter`).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from labkit._errors import LabkitError
from labkit.doctor import prefilter, source, values, workers
from labkit.doctor.context import FileContext, Pending
from labkit.doctor.files import Unlisted, first_party, module_name, package_prefix, python_files
from labkit.doctor.findings import DoctorError, Finding, Report
from labkit.doctor.loudness import Loudness
from labkit.doctor.options import Options
from labkit.doctor.rules.unchecked import SYNTAX_ERROR, UNREADABLE_FILE
from labkit.doctor.suppress import Suppressions
from labkit.doctor.values import SymbolTable
from labkit.doctor.walker import Walker
from labkit.doctor.wiring import wire


@dataclass
class Project:
    """What the scan learned about the project as a whole (the ``--app`` probe uses it too)."""

    root: Path
    base: Path  # the folder paths are relative to
    modules: dict[str, str] = field(default_factory=dict)  # module name -> relative path
    symbols: SymbolTable = field(default_factory=SymbolTable)
    creates_engine: bool = False  # some file calls create_engine / create_async_engine
    uses_async_engine: bool = False  # some file calls create_async_engine
    suppressions: dict[str, Suppressions] = field(default_factory=dict)  # by relative path, files that have any

    def silenced(self, finding: Finding) -> bool:
        """Whether an inline ``# labkit: ignore[...]`` covers this finding."""
        suppression = self.suppressions.get(finding.path)
        return suppression is not None and suppression.silences(finding)


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def _base(roots: list[Path]) -> Path:
    """The folder finding paths are relative to: PATH's own (one PATH), else the working directory or the common one."""
    folders = [root if root.is_dir() else root.parent for root in roots]
    if len(folders) == 1:
        return folders[0]
    here = Path.cwd().resolve()
    resolved = [folder.resolve() for folder in folders]
    if all(folder == here or here in folder.parents for folder in resolved):
        return Path(".")  # pre-commit's case: files of the repository, named from its root
    return Path(os.path.commonpath([str(folder) for folder in resolved]))


def _files(roots: list[Path], base: Path, exclude: tuple[str, ...], unlisted: list[Unlisted]) -> list[tuple[Path, str]]:
    """(file, path relative to base) for every Python file under the roots, each once."""
    found: dict[Path, str] = {}
    for root in roots:
        if root.is_dir() and not os.access(root, os.R_OK | os.X_OK):
            raise LabkitError(
                f"Cannot list {root}: permission denied.",
                "Give the doctor read access to the folder, or check another one.",
            )
        for file in python_files(root, exclude, unlisted):
            found.setdefault(file, _relative(file, base))
    if not found:
        where = ", ".join(str(root) for root in roots)
        raise LabkitError(
            f"No Python files to check in {where}.",
            "Give the folder of the project (or its .py files); check the spelling and --exclude.",
        )
    return list(found.items())


def scan(paths: str | Path | Sequence[str | Path], options: Options | None = None) -> Report:
    """Check every Python file under ``paths`` (one folder or file, or several); the report.

    ``report.project`` holds what was learned on the way (the ``--app`` probe uses it).
    Raises :class:`LabkitError` for a path that does not exist or cannot be listed, and
    when there is no Python file to check at all: an empty or mistyped folder must not pass.
    """
    roots = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not roots:
        raise LabkitError("No path to check.", "Give the folder (or files) of the project to check.")
    for root in roots:
        if not root.exists():
            raise LabkitError(f"{root} does not exist.", "Give the folder (or file) of the project to check.")
    options = options or Options()
    started = time.perf_counter()
    base = _base(roots)
    prefix = package_prefix(roots[0] if len(roots) == 1 else base)
    unlisted: list[Unlisted] = []
    files = _files(roots, base, options.exclude, unlisted)
    project = Project(roots[0], base)
    named: dict[str, int] = {}
    for _, rel in files:
        module = module_name(rel, prefix)
        project.modules.setdefault(module, rel)
        named[module] = named.get(module, 0) + 1
    # Two files of one module name: their bindings must be read in file order, so both are walked in turn.
    walk_all = frozenset(module for module, count in named.items() if count > 1)
    project.symbols.first_party = first_party(project.modules) | frozenset(prefix[:1])
    report = Report(root=" ".join(str(root) for root in roots), project=project)
    found: list[Finding] = [
        UNREADABLE_FILE.at(
            _relative(item.path, base),
            1,
            1,
            f"cannot look inside ({item.reason}): nothing in it was checked; give the doctor read access "
            "or leave it out with --exclude",
            severity="warning",
        )
        for item in unlisted
    ]

    collecting = gc.isenabled()
    gc.disable()  # ASTs are acyclic: reference counting frees them, the cycle collector only costs time
    try:
        count = workers.workers_for(options.jobs, len(files))
        if count > 1:
            parts = workers.check_in_workers(
                workers.split(files, count),
                project.root,
                base,
                project.modules,
                project.symbols.first_party,
                options,
                prefix,
                walk_all,
            )
        else:
            parts = [
                check_share(
                    files, project.root, base, project.modules, project.symbols.first_party, options, prefix, walk_all
                )
            ]
        for part in parts:
            report.files += part.files
            report.lines += part.lines
        # Files left unwalked that a walked file imports after all: walked now (counted already). Each
        # file's bindings are its own module's, so the order in which shares are merged changes nothing.
        imported = set().union(*(part.imported for part in parts))
        unwalked = [item for part in parts for item in part.unwalked]
        needed = prefilter.referenced((module for _, _, module in unwalked), imported)
        if needed:
            late = [(file, rel) for file, rel, module in unwalked if module in needed]
            parts.append(
                check_share(
                    late, project.root, base, project.modules, project.symbols.first_party, options, prefix, None
                )
            )
        pending = []
        for part in parts:
            found.extend(part.found)
            pending.extend(part.pending)
            report.errors.extend(part.errors)
            project.symbols.merge(part.symbols)
            project.suppressions.update(part.suppressions)
            project.creates_engine |= part.creates_engine
            project.uses_async_engine |= part.uses_async_engine
        found.extend(settle(pending, project.symbols))
    finally:
        if collecting:
            gc.enable()

    report.findings.extend(f for f in found if f.rule in options.rules and not project.silenced(f))
    report.findings.sort()
    report.seconds = time.perf_counter() - started
    return report


def check_share(
    files: Sequence[tuple[Path, str]],
    root: Path,
    base: Path,
    modules: dict[str, str],
    first_party: frozenset[str],
    options: Options,
    prefix: list[str],
    walk_all: frozenset[str] | None,
) -> workers.Share:
    """Check some of the project's files, in order (in this process, or in a worker).

    ``walk_all``: modules whose files are walked even when no rule could report in them (see
    :mod:`labkit.doctor.prefilter`); None: every file is walked.
    """
    project = Project(root, base, modules=modules, symbols=SymbolTable(first_party))
    checker = _FileChecker(project, options, prefix, walk_all)
    share = workers.Share(symbols=project.symbols, suppressions=project.suppressions)
    for file, rel in files:
        checker.check(file, rel, share)
    share.found, share.pending = checker.found, checker.pending
    share.creates_engine, share.uses_async_engine = project.creates_engine, project.uses_async_engine
    return share


class _FileChecker:
    """Checks files one by one with the hooks of the selected rules, collecting what they found."""

    def __init__(self, project: Project, options: Options, prefix: list[str], walk_all: frozenset[str] | None) -> None:
        self.project, self.options, self.prefix = project, options, prefix
        self.wiring = wire(options.rules)
        self.walker = Walker(self.wiring.by_type, self.wiring.by_call)
        self.loudness = Loudness(self.wiring)
        self.prefilter = None if walk_all is None else prefilter.Prefilter(self.wiring, project.symbols.first_party)
        self.walk_all = walk_all or frozenset()
        self.found: list[Finding] = []
        self.pending: list[Pending] = []

    def check(self, file: Path, rel: str, share: workers.Share) -> None:
        share.files += 1
        text = source.read_text(file, rel)
        if isinstance(text, Finding):
            self.found.append(text)
            return
        module = module_name(rel, self.prefix)
        if (
            self.prefilter is not None
            and module not in self.walk_all
            and self.prefilter.skippable(text)
            and source.parses(text, rel)
        ):
            share.lines += source.count_lines(text)
            share.unwalked.append((file, rel, module))
            return
        loaded = source.load_text(text, rel, self.options.python)
        if isinstance(loaded, Finding):
            self.found.append(loaded)
            return
        share.lines += loaded.lines
        project = self.project
        if "create_async_engine" in loaded.text:
            project.creates_engine = project.uses_async_engine = True
        elif "create_engine" in loaded.text:
            project.creates_engine = True
        ctx = FileContext(rel, module, loaded.text, project.symbols, project.symbols.first_party, self.options)
        ctx.loud_lines = self.loudness.lines(loaded.text)
        try:
            self.walker.run(loaded.tree, ctx)
            for finish in self.wiring.finishers:
                finish(ctx)
        except RecursionError:
            self.found.append(
                SYNTAX_ERROR.at(rel, 1, 1, "nested too deeply for the doctor to walk; the file was not checked")
            )
            return
        except Exception as exc:  # a bug of the doctor: say where, keep going, exit 2
            share.errors.append(DoctorError(rel, f"internal error while checking: {type(exc).__name__}: {exc}"))
            return
        finally:
            share.imported |= ctx.imported  # a walk cut short has bound names too
        self.found.extend(ctx.findings)
        self.pending.extend(ctx.pending)
        suppression = Suppressions.parse(loaded.text)
        if suppression.by_line:
            project.suppressions[rel] = suppression


def settle(pending: list[Pending], symbols: SymbolTable) -> list[Finding]:
    """The pending findings whose value turned out to be one the rule was waiting for (first per group)."""
    settled: list[Finding] = []
    done: set[tuple[str, int, int]] = set()
    for item in sorted(pending, key=lambda p: (p.finding.path, p.finding.line, p.finding.col)):
        if item.group is not None and item.group in done:
            continue
        kind = symbols.resolve(item.value)
        if kind is None and item.unknown_too:
            kind = ""
        elif kind is None or kind not in item.accept:
            continue
        finding = item.finding
        if item.template is not None:
            finding = replace(finding, message=item.template.replace(values.KIND, values.KIND_NAMES.get(kind, kind)))
        settled.append(finding)
        if item.group is not None:
            done.add(item.group)
    return settled
