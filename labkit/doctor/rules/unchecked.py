"""Findings about files the doctor could not check: not rules about code, but they need ids, hints and severities."""

from __future__ import annotations

from labkit.doctor.rule import Rule

SYNTAX_ERROR = Rule(
    id="syntax-error",
    finds="a file that is not valid Python (for the newest grammar the doctor reads, or the project's "
    "`requires-python`), or has a bad encoding; it was not checked",
    hint="Fix the file, or leave it out with `--exclude`.",
    origin="file",
)
UNREADABLE_FILE = Rule(
    id="unreadable-file",
    finds="a file that could not be read; it was not checked",
    hint="Check its permissions, or leave it out with `--exclude`.",
    origin="file",
)
