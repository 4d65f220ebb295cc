"""Rules only the ``--app`` probe reports (see :mod:`labkit.doctor.probe`): they need the live app."""

from __future__ import annotations

from labkit.doctor.rule import Rule

IMPORT_FAILED = Rule(
    id="import-failed",
    finds="with `--app`: importing the app fails while the database is unreachable",
    hint="Importing must not connect: build engines, create tables and read settings in the lifespan.",
    notebooks=("01-import-time-engine",),
    origin="runtime",
)
NO_LIFESPAN = Rule(
    id="no-lifespan",
    finds="with `--app`: the app has no lifespan (and no startup hooks) although the project creates an engine",
    hint="Give the app a lifespan that builds the engine and disposes it when the app stops.",
    notebooks=("02-lifespan-and-shutdown",),
    origin="runtime",
    severity="warning",
)
