"""Read one file and parse it once, or say why it cannot be checked.

A file that cannot be read or parsed never stops a scan: it becomes a finding
(``unreadable-file`` or ``syntax-error``) and the scan goes on with the next.
Code for a newer Python than the one running (3.12-3.14) is read too, see
:mod:`labkit.doctor.newer_syntax`. Only regular files are opened, without
blocking, so a FIFO named ``x.py`` cannot hang a scan.
Encodings follow Python's own rules (PEP 263): UTF-8 unless a coding cookie
says otherwise, so a latin-1 file with its cookie is checked like any other.
"""

from __future__ import annotations

import ast
import os
import stat
import symtable
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit.doctor.findings import Finding
from labkit.doctor.rules.unchecked import SYNTAX_ERROR, UNREADABLE_FILE

# The newest grammar the doctor reads, whatever Python runs it (see labkit.doctor.newer_syntax).
NEWEST_READ = (3, 14)
RUNNING = sys.version_info[:2]


@dataclass(frozen=True)
class Source:
    """A parsed file: its text (for suppressions and quick text checks), its tree, its line count."""

    text: str
    tree: ast.Module
    lines: int


def decode(data: bytes) -> str:
    """Bytes -> text the way the interpreter would decode the module (UTF-8, or the cookie's codec)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        import io
        import tokenize  # only for the rare file that is not UTF-8

        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def parse(text: str, rel: str) -> ast.Module:
    """The tree of ``text``; newer syntax (3.12-3.14) is read through :mod:`labkit.doctor.newer_syntax`."""
    try:
        return ast.parse(text, filename=rel)
    except SyntaxError:
        from labkit.doctor import newer_syntax  # only files that failed to parse pay for its import

        rewritten = newer_syntax.downgrade(text)
        if rewritten is None:
            raise
        try:
            return ast.parse(rewritten, filename=rel)
        except SyntaxError:
            pass
        raise  # the error in the file as written, not in the rewrite


def load(path: Path, rel: str, requires: tuple[int, int] | None = None) -> Source | Finding:
    """The parsed file, or the finding that explains why it was not checked.

    ``requires``: the oldest Python the project supports (its ``requires-python``). A file
    that does not parse in a project for a Python newer than the grammar the doctor reads
    is an ``info`` finding: it may well be valid there, so it must not fail a build.
    """
    text = read_text(path, rel)
    return text if isinstance(text, Finding) else load_text(text, rel, requires)


def read_text(path: Path, rel: str) -> str | Finding:
    """The text of the file, or the finding that explains why it cannot be read."""
    try:
        data = read_regular(path)
    except OSError as exc:
        return UNREADABLE_FILE.at(rel, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    try:
        return decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        return SYNTAX_ERROR.at(rel, 1, 1, f"cannot decode the file as Python source: {reason}")


def parses(text: str, rel: str) -> bool:
    """Whether ``text`` parses, without building its tree (for files no rule will walk).

    :mod:`symtable` runs the same parser as :func:`ast.parse` and keeps its result in C: about
    0.6 times the cost. It is stricter (``nonlocal`` at module level...), never more lenient,
    so a False only sends the file the usual way, where the error is told as ever.
    """
    try:
        symtable.symtable(text, rel, "exec")
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError...: the usual way says which
        return False
    return True


def count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def load_text(text: str, rel: str, requires: tuple[int, int] | None = None) -> Source | Finding:
    """The parsed text of a file, or the finding that explains why it was not checked (see :func:`load`)."""
    try:
        tree = parse(text, rel)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = (exc.offset or 1) if exc.lineno else 1
        if requires is not None and requires > RUNNING:
            # It may use syntax newer than the doctor knows of: say so, but do not fail a build on a guess.
            return SYNTAX_ERROR.at(
                rel,
                line,
                max(col, 1),
                f"{exc.msg}: the project requires Python {requires[0]}.{requires[1]}, newer than the Python running "
                f"the doctor ({RUNNING[0]}.{RUNNING[1]}); the file was not checked. Run the doctor with Python "
                f"{requires[0]}.{requires[1]} to check it",
                severity="info",
            )
        return SYNTAX_ERROR.at(
            rel,
            line,
            max(col, 1),
            f"not valid Python ({exc.msg}), not even for Python {NEWEST_READ[0]}."
            f"{NEWEST_READ[1]}; the file was not checked",
        )
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes; absurdly deep nesting
        return SYNTAX_ERROR.at(rel, 1, 1, f"cannot parse the file: {exc}; the file was not checked")
    return Source(text, tree, count_lines(text))


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; a FIFO, socket or device named ``*.py`` is refused without blocking on it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(0, "not a regular file (a FIFO, socket or device named like Python)")
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)
