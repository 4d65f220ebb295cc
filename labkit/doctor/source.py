"""Read one file and parse it once, or say why it cannot be checked.

A file that cannot be read or parsed never stops a scan: it becomes a finding
(``unreadable-file`` or ``syntax-error``) and the scan goes on with the next.
Encodings follow Python's own rules (PEP 263): UTF-8 unless a coding cookie
says otherwise, so a latin-1 file with its cookie is checked like any other.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

from labkit.doctor.findings import Finding
from labkit.doctor.rules.unchecked import SYNTAX_ERROR, UNREADABLE_FILE

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


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
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def load(path: Path, rel: str) -> Source | Finding:
    """The parsed file, or the finding that explains why it was not checked."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return UNREADABLE_FILE.at(rel, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    try:
        text = decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        return SYNTAX_ERROR.at(rel, 1, 1, f"cannot decode the file as Python source: {reason}")
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = (exc.offset or 1) if exc.lineno else 1
        return SYNTAX_ERROR.at(rel, line, max(col, 1),
                               f"not valid Python {PYTHON}: {exc.msg}; the file was not checked")
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes; absurdly deep nesting
        return SYNTAX_ERROR.at(rel, 1, 1, f"cannot parse the file: {exc}; the file was not checked")
    return Source(text, tree, text.count("\n") + (0 if text.endswith("\n") or not text else 1))
