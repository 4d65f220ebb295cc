"""Write docs/claims.md: every incident-report claim the notebooks test, with its verdict and where it is shown.

The ledger is built from the committed notebooks' outputs: each ``labkit.claim(...)`` call in a
verification cell displays one line, and nbval compares that line with a fresh run, so the
ledger cannot say what the notebooks do not show. Versions come from ``requirements.lock``.

``docs/claims_audit.toml`` is the audit of the reports themselves: every claim they make that could be
checked, marked "measured" (naming the ledger claim that measures it), "to measure" (with the notebook
that should) or "not checkable" (and why). The page shows its counts and open list; a notebook claim
with no audit entry, or an audit entry naming a claim no notebook states, stops the generator.

    .venv/bin/python tools/claims_ledger.py          # write docs/claims.md
    .venv/bin/python tools/claims_ledger.py --check  # exit 1 if docs/claims.md is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # labkit from this checkout, also when it is not installed

from labkit._claims import DEPENDS, MIME, NO_EFFECT, PARTLY, Claim, parse, reports  # noqa: E402

LEDGER = ROOT / "docs" / "claims.md"
AUDIT = Path("docs") / "claims_audit.toml"  # under the root
PINNED = ("fastapi", "starlette", "sqlalchemy", "uvicorn", "asyncpg", "psycopg2-binary", "pydantic", "pytest-asyncio")
# The verdict words of the claim line (labkit._claims), as this page shows them.
SHOWN = {
    "holds": "holds",
    "false": "**false**",
    DEPENDS: "*depends on version*",
    PARTLY: "*holds in part*",
    NO_EFFECT: "*no measurable effect*",
}
STATUSES = ("measured", "to measure", "not checkable")
WHY = ("opinion", "plan", "code nobody can run")  # why a claim is not checkable


class LedgerError(Exception):
    """A notebook output the ledger cannot use as it is."""


@dataclass(frozen=True)
class Entry:
    claim: Claim
    notebook: str  # path under notebooks/, e.g. "09-middleware-twice-and-order.ipynb", "deep-dives/01a-x.ipynb"
    cell: int  # index of the cell in the notebook


def notebooks(root: Path = ROOT) -> list[Path]:
    """The main notebooks, then the deep dives (notebooks/deep-dives/), each in name order."""
    folder = root / "notebooks"
    return sorted(folder.glob("[0-9][0-9]-*.ipynb")) + sorted(folder.glob("deep-dives/[0-9][0-9]*.ipynb"))


def claims_in(path: Path) -> list[Entry]:
    """The claims a notebook's committed outputs state, in cell order."""
    found = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = output.get("data", {})
            if MIME not in data:
                continue
            text = data.get("text/plain", "")
            text = text if isinstance(text, str) else "".join(text)
            claim = parse(text)
            if claim is None:
                raise LedgerError(f"{path.name}, cell {index}: a claim output whose text is not a claim line: {text!r}")
            if claim.as_json() != data[MIME]:
                raise LedgerError(f"{path.name}, cell {index}: the claim's text and JSON disagree: {text!r}")
            found.append(
                Entry(
                    claim, path.parent.name + "/" + path.name if path.parent.name == "deep-dives" else path.name, index
                )
            )
    return found


@dataclass(frozen=True)
class AuditEntry:
    """One claim of one incident report, from docs/claims_audit.toml."""

    report: str
    line: int  # the line of the report the quote starts on
    quote: str  # short, verbatim
    claim: str  # the claim as the report makes it, in its own setting
    status: str  # one of STATUSES
    ledger: str = ""  # measured: the `says` of the notebook claim that measures it
    ledger_report: str = ""  # measured: that claim's report, when it is not `report`
    fairness: str = ""  # measured: what the verdict should answer instead, when it answers another claim
    home: str = ""  # to measure: the notebook that should measure it, e.g. "07-connection-pool"
    how: str = ""  # to measure: how
    in_notebook: bool = False  # to measure: the home notebook measures it already, without a labkit.claim
    why: str = ""  # not checkable: one of WHY
    reason: str = ""  # not checkable: more

    @property
    def key(self) -> tuple[str, str]:
        """The notebook claim a measured entry names: (report, says)."""
        return (self.ledger_report or self.report, self.ledger)


_NEEDS = {
    "measured": ("ledger",),
    "to measure": ("home", "how"),
    "not checkable": ("why", "reason"),
}
_ONLY = {  # fields that belong to one status only
    "ledger": "measured",
    "ledger_report": "measured",
    "fairness": "measured",
    "home": "to measure",
    "how": "to measure",
    "in_notebook": "to measure",
    "why": "not checkable",
    "reason": "not checkable",
}


def load_audit(path: Path, root: Path = ROOT) -> list[AuditEntry]:
    """The audit's entries, checked one by one; raises LedgerError on any entry the page cannot use."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LedgerError(f"{path.name}: {exc}") from exc
    fields = set(AuditEntry.__dataclass_fields__)
    audit = []
    for number, item in enumerate(raw.get("claim", []), start=1):
        where = f"{path.name}, claim {number} ({item.get('report', '?')}: {item.get('quote', '?')!r})"
        unknown = set(item) - fields
        if unknown:
            raise LedgerError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
        try:
            entry = AuditEntry(**item)
        except TypeError as exc:
            raise LedgerError(f"{where}: {exc}") from exc
        if entry.report not in reports() or (entry.ledger_report and entry.ledger_report not in reports()):
            raise LedgerError(f"{where}: the report must be one of {', '.join(reports())}")
        if entry.status not in STATUSES:
            raise LedgerError(f"{where}: status must be one of {', '.join(STATUSES)}, not {entry.status!r}")
        for name in ("quote", "claim", *_NEEDS[entry.status]):
            value = getattr(entry, name)
            if not isinstance(value, str) or not value.strip():
                raise LedgerError(f"{where}: a {entry.status!r} entry needs {name}")
        for name, status in _ONLY.items():
            if name in item and status != entry.status:
                raise LedgerError(f"{where}: {name} belongs to a {status!r} entry, not a {entry.status!r} one")
        if entry.status == "not checkable" and entry.why not in WHY:
            raise LedgerError(f"{where}: why must be one of {', '.join(WHY)}, not {entry.why!r}")
        if entry.status == "to measure" and not (root / "notebooks" / f"{entry.home}.ipynb").exists():
            raise LedgerError(f"{where}: home {entry.home!r} is not a notebook under notebooks/")
        audit.append(entry)
    if not audit:
        raise LedgerError(f"{path.name} has no [[claim]] entries")
    return audit


def reconcile(entries: list[Entry], audit: list[AuditEntry]) -> list[AuditEntry]:
    """The audit, once every notebook claim has an audit entry and every measured entry names a notebook claim."""
    stated = {(entry.claim.report, entry.claim.says) for entry in entries}
    named = {entry.key for entry in audit if entry.status == "measured"}
    problems = [
        f"report {report} claim {says!r} is stated in a notebook but has no measured entry in {AUDIT.name}"
        for report, says in sorted(stated - named)
    ] + [
        f"{AUDIT.name}: report {e.report} line {e.line} ({e.quote!r}) is marked measured by report {e.key[0]} "
        f"claim {e.ledger!r}, which no notebook states"
        for e in audit
        if e.status == "measured" and e.key not in stated
    ]
    if problems:
        raise LedgerError("the audit and the notebooks disagree:\n  " + "\n  ".join(problems))
    return audit


def quotes_not_found(audit: list[AuditEntry], reports_dir: Path) -> list[str]:
    """The audit's quotes that are not on their line of the report (NNN_*.txt in reports_dir, the authors'
    copy of the incident reports, which the repository does not hold)."""
    missing = []
    for entry in audit:
        found = sorted(reports_dir.glob(f"{entry.report}_*.txt"))
        lines = found[0].read_text(encoding="utf-8", errors="replace").splitlines() if found else []
        if not 0 < entry.line <= len(lines) or entry.quote not in lines[entry.line - 1]:
            missing.append(f"report {entry.report} line {entry.line}: {entry.quote!r}")
    return missing


def collect(root: Path = ROOT) -> list[Entry]:
    """Every claim of every numbered notebook; one claim (report and words) is stated in one place only."""
    entries = [entry for path in notebooks(root) for entry in claims_in(path)]
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        key = (entry.claim.report, entry.claim.says)
        if key in seen:
            raise LedgerError(
                f"report {key[0]} claim {key[1]!r} is stated twice: in {seen[key].notebook} "
                f"and in {entry.notebook}; keep the one that measures it best"
            )
        seen[key] = entry
    return entries


def pinned_versions(lock: Path) -> dict[str, str]:
    """The lock's version of each package in PINNED."""
    versions = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match and match[1].lower() in PINNED:
            versions[match[1].lower()] = match[2]
    missing = [name for name in PINNED if name not in versions]
    if missing:
        raise LedgerError(f"{lock.name} pins no version of {', '.join(missing)}")
    return versions


def python_version(lock: Path) -> str:
    match = re.search(r"--python-version (\S+)", lock.read_text())
    return match[1] if match else "?"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _link(notebook: str) -> str:
    """A link to a notebook given as a path under notebooks/ without .ipynb, or with it."""
    path = notebook if notebook.endswith(".ipynb") else notebook + ".ipynb"
    return f"[{Path(path).stem}](../notebooks/{path})"


def render(entries: list[Entry], versions: dict[str, str], python: str, audit: list[AuditEntry] | None = None) -> str:
    """The ledger page; with the audit, its counts and the claims still open."""
    totals = Counter(entry.claim.verdict for entry in entries)
    notebooks_used = sorted({entry.notebook for entry in entries})
    reports_used = {entry.claim.report for entry in entries}
    sources: dict[tuple[str, str], list[AuditEntry]] = {}  # the report lines each notebook claim measures
    for source in audit or []:
        if source.status == "measured":
            sources.setdefault(source.key, []).append(source)
    lines = [
        "# Claims ledger",
        "",
        "<!-- Generated by tools/claims_ledger.py from the notebooks' outputs. Do not edit by hand. -->",
        "",
        "The workbook is built from five incident reports: fix reports, an audit, a user story and an",
        "architecture review of FastAPI + SQLAlchemy + PostgreSQL backends. This page lists every claim of theirs that",
        "a notebook measures, with the verdict of that measurement and the notebook that shows it.",
        "",
        "- **holds**: measured true on the pinned versions below;",
        "- **false**: measured, and not true on them (the notebook shows what happens instead);",
        "- **holds in part**: true in some of the settings the claim covers and not in others; the evidence says",
        "  which;",
        "- **no measurable effect**: the gain or harm the claim promises is smaller than what the measurement can tell",
        "  apart;",
        "- **depends on version**: true on some versions and not on others; the evidence names them.",
        "",
        "A notebook shows the same verdict in its claim line, in capitals (`HOLDS IN PART on today's versions`).",
        "",
        f"**Today's versions** (`requirements.lock`, Python {python}): "
        + ", ".join(f"{name} {versions[name]}" for name in PINNED)
        + ".",
        "",
        "**How it is made.** Each verdict comes from a `labkit.claim(...)` call in a notebook's (or a deep dive's)",
        "verification cell, right after the `labkit.expect(...)` self-checks that pin its measurement (strict under",
        "nbval and CI); the call displays one line, and nbval compares that line with a",
        "fresh run of the notebook, so a behaviour that changes fails the notebook before it can change this page.",
        "The page is generated from the committed notebooks: `.venv/bin/python tools/claims_ledger.py`",
        "(`--check` exits 1 when this file is out of date; `tests/test_claims.py` runs it).",
        "",
        f"**{len(entries)} claims** from {_count(len(reports_used), 'incident report', 'incident reports')},"
        f" tested in {len(notebooks_used)} notebooks: {_count(totals['holds'], 'holds', 'hold')}, "
        f"{_count(totals[PARTLY], 'holds', 'hold')} in part, "
        f"{_count(totals['false'], 'is', 'are')} false, "
        f"{_count(totals[NO_EFFECT], 'shows', 'show')} no measurable effect, "
        f"{_count(totals[DEPENDS], 'depends', 'depend')} on the version.",
    ]
    if audit is not None:
        lines += _audit_summary(audit)
    for number, report in reports().items():
        rows = [entry for entry in entries if entry.claim.report == number]
        lines += [
            "",
            f"## Incident report {number}: the {report['name']}",
            "",
            report["about"][0].upper() + report["about"][1:] + ".",
            "",
        ]
        if not rows:
            lines.append("No claim of this incident report is tested yet.")
            continue
        lines += ["| claim | the reports say | verdict | evidence | notebook |", "|---|---|---|---|---|"]
        for entry in rows:
            c = entry.claim
            said = sources.get((c.report, c.says), [])
            quotes = "; ".join(
                f"{'' if source.report == c.report else f'report {source.report}, '}line {source.line}: "
                f"\u201c{source.quote}\u201d"
                for source in said
            )
            restate = " ([to restate](#verdicts-to-restate))" if any(source.fairness for source in said) else ""
            lines.append(
                f"| \u201c{_cell(c.says)}\u201d | {_cell(quotes)} | {SHOWN[c.verdict]}{restate} | {_cell(c.evidence)} "
                f"| {_link(entry.notebook)} |"
            )
    not_holds = sorted(
        (entry for entry in entries if entry.claim.verdict != "holds"), key=lambda entry: entry.claim.report
    )  # stable: notebook order within a report
    if not_holds:
        lines += [
            "",
            "## Not true as written",
            "",
            "The claims above that are false, hold only in part, show no measurable effect or depend on the version,",
            "in one list:",
            "",
        ]
        lines += [
            f"- report {e.claim.report}, {SHOWN[e.claim.verdict]}: \u201c{e.claim.says}\u201d ({_link(e.notebook)})"
            for e in not_holds
        ]
    if audit is not None:
        lines += _audit_lists(audit)
    return "\n".join(lines) + "\n"


def _audit_summary(audit: list[AuditEntry]) -> list[str]:
    status = Counter(entry.status for entry in audit)
    why = Counter(entry.why for entry in audit if entry.status == "not checkable")
    in_notebook = sum(entry.in_notebook for entry in audit)
    checkable = status["measured"] + status["to measure"]
    fairness = sum(bool(entry.fairness) for entry in audit)
    return [
        "",
        f"**The audit** (`{AUDIT.as_posix()}`) goes through the five reports line by line: "
        f"{_count(len(audit), 'claim', 'claims')}, each with its quote. "
        f"**{checkable} are checkable here: {status['measured']} measured** by a claim below "
        f"(several report lines can share one), "
        + (
            f"**{status['to measure']} still to measure** "
            f"({in_notebook} of them measured in their notebook already, with no `labkit.claim` yet). "
            if status["to measure"]
            else "every one of them. "
        )
        + f"**{status['not checkable']} are not checkable**: "
        + ", ".join(f"{why[word]} {word}" for word in WHY)
        + (
            f". {_count(fairness, 'verdict answers', 'verdicts answer')} another claim than the report made; "
            "they are listed under *Verdicts to restate*."
            if fairness
            else ". Every verdict answers the claim as its report made it."
        ),
    ]


def _audit_lists(audit: list[AuditEntry]) -> list[str]:
    lines: list[str] = []
    restate = [entry for entry in audit if entry.fairness]
    if restate:
        lines += [
            "",
            "## Verdicts to restate",
            "",
            "These verdicts answer another claim than the report made (another setting, words the report does not use,",
            "or the same word read two ways). Each is to be restated in its notebook as the report made it:",
            "",
        ]
        lines += [
            f"- report {e.report}, line {e.line}, \u201c{e.quote}\u201d: today \u201c{e.ledger}\u201d"
            f"{'' if not e.ledger_report else f' (report {e.ledger_report})'}. {e.fairness[0].upper()}{e.fairness[1:]}."
            for e in restate
        ]
    to_measure = sorted((e for e in audit if e.status == "to measure"), key=lambda e: (e.home, e.report, e.line))
    if to_measure:
        lines += [
            "",
            "## Still to measure",
            "",
            "Claims that can be checked here and are not yet, by the notebook that should measure them (*in the",
            "notebook*: it measures the claim already; only the `labkit.claim` call is missing):",
            "",
        ]
        lines += [
            f"- {_link(e.home)}{', *in the notebook*' if e.in_notebook else ''}: report {e.report}, line {e.line}, "
            f"\u201c{e.quote}\u201d ({e.claim}). How: {e.how}."
            for e in to_measure
        ]
    not_checkable = [e for e in audit if e.status == "not checkable"]
    if not_checkable:
        lines += ["", "## Not checkable", "", "Claims no run can settle, and why:", ""]
        for word in WHY:
            lines += [
                f"- {word}: report {e.report}, line {e.line}, \u201c{e.quote}\u201d: {e.reason}."
                for e in not_checkable
                if e.why == word
            ]
    return lines


def generate(root: Path = ROOT) -> str:
    lock = root / "requirements.lock"
    entries = collect(root)
    audit = reconcile(entries, load_audit(root / AUDIT, root))
    return render(entries, pinned_versions(lock), python_version(lock), audit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if docs/claims.md differs from what would be written"
    )
    args = parser.parse_args(argv)
    try:
        page = generate()
    except LedgerError as exc:
        print(f"claims ledger: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = LEDGER.read_text() if LEDGER.exists() else ""
        if current != page:
            print(
                f"{LEDGER.relative_to(ROOT)} is out of date: run .venv/bin/python tools/claims_ledger.py",
                file=sys.stderr,
            )
            return 1
        print(f"{LEDGER.relative_to(ROOT)} is up to date")
        return 0
    LEDGER.write_text(page)
    print(f"wrote {LEDGER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
