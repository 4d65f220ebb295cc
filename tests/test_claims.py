"""The claims ledger: made from the notebooks' own claim outputs, complete, and in step with them."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import labkit
from labkit._claims import DEPENDS, MIME, NO_EFFECT, PARTLY, Claim, claim, make_claim, parse, report_names
from support import ROOT

pytestmark = pytest.mark.unit
_spec = importlib.util.spec_from_file_location("claims_ledger", ROOT / "tools" / "claims_ledger.py")
ledger = importlib.util.module_from_spec(_spec)
sys.modules["claims_ledger"] = ledger  # dataclasses look their module up while the class is made
_spec.loader.exec_module(ledger)

ENTRIES = ledger.collect(ROOT)


def test_committed_ledger_is_the_generated_one() -> None:
    assert (ROOT / "docs" / "claims.md").read_text() == ledger.generate(ROOT), (
        "docs/claims.md is out of date: run .venv/bin/python tools/claims_ledger.py"
    )
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "claims_ledger.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_every_incident_report_has_a_claim() -> None:
    assert {entry.claim.report for entry in ENTRIES} == set(report_names())


def test_every_notebook_from_01_to_11_has_a_claim() -> None:
    with_claims = {entry.notebook[:2] for entry in ENTRIES}
    assert {f"{n:02d}" for n in range(1, 12)} <= with_claims


def test_the_ledger_states_the_pinned_versions() -> None:
    page = (ROOT / "docs" / "claims.md").read_text()
    for name, version in ledger.pinned_versions(ROOT / "requirements.lock").items():
        assert f"{name} {version}" in page
    assert ".venv/bin/python tools/claims_ledger.py" in page


def _claim_calls(source: str) -> list[tuple[ast.Call, list[ast.AST]]]:
    """Each labkit.claim(...) call of a cell, with the self-checks that come before it: a
    ``labkit.expect(...)`` (strict under nbval and CI), or a bare assert in a notebook not yet rewritten."""
    tree = compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    nodes = list(ast.walk(tree))
    calls = [n for n in nodes if isinstance(n, ast.Call) and ast.unparse(n.func) == "labkit.claim"]
    pins = [
        n
        for n in nodes
        if isinstance(n, ast.Assert) or (isinstance(n, ast.Call) and ast.unparse(n.func) == "labkit.expect")
    ]
    return [(call, [pin for pin in pins if pin.lineno < call.lineno]) for call in calls]


@pytest.mark.parametrize("path", ledger.notebooks(ROOT), ids=lambda p: p.stem)
def test_claims_are_measured_asserted_and_executed(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    calls = 0
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "labkit.claim(" not in source:
            continue
        for call, asserts_before in _claim_calls(source):
            calls += 1
            holds = next(k.value for k in call.keywords if k.arg == "holds")
            assert not isinstance(holds, ast.Constant), f"cell {index}: holds= must be computed from the measurement"
            assert asserts_before, (
                f"cell {index}: a claim comes after the self-checks (labkit.expect) that pin its measurement"
            )
    # one output per call: the committed outputs come from running these very sources
    assert calls == len(ledger.claims_in(path)), "re-execute the notebook: its claim calls and outputs differ"


def test_one_line_per_verdict() -> None:
    says, evidence = "Middleware added twice runs once", "one request made 2 usage writes"
    assert make_claim("004", says, holds=False, evidence=evidence).text() == (
        'claim (incident report 004): "Middleware added twice runs once" -> FALSE on today\'s versions: '
        "one request made 2 usage writes"
    )
    assert (
        make_claim("004", says, holds=True, evidence=evidence)
        .text()
        .endswith("-> HOLDS on today's versions: one request made 2 usage writes")
    )
    depends = make_claim("002", says, holds=DEPENDS, evidence="SQLAlchemy 2.0 reads it as psycopg2, 2.1 as psycopg")
    assert depends.text() == (
        f'claim (incident report 002): "{says}" -> DEPENDS ON VERSION: '
        "SQLAlchemy 2.0 reads it as psycopg2, 2.1 as psycopg"
    )


def test_the_line_carries_everything_the_ledger_reads() -> None:
    for holds in (True, False, DEPENDS, PARTLY, NO_EFFECT):
        made = make_claim(
            "003",
            "`pool_recycle` keeps stale connections away",
            holds=holds,
            evidence="on SQLAlchemy 2.0 and 2.1 a young dead connection was handed out",
        )
        assert parse(made.text()) == made
        bundle = made.bundle()
        assert bundle["text/plain"] == made.text() and bundle[MIME] == made.as_json()
        assert "&ldquo;`pool_recycle` keeps stale connections away&rdquo;" in bundle["text/html"]
    assert parse("verdict: something else") is None


def test_claim_shows_the_line_outside_jupyter(capsys: pytest.CaptureFixture[str]) -> None:
    assert labkit.claim is claim
    assert claim("001", "A claim", holds=True, evidence="measured") is None
    assert capsys.readouterr().out == 'claim (incident report 001): "A claim" -> HOLDS on today\'s versions: measured\n'


@pytest.mark.parametrize(
    "holds", [1, 0, None, "holds", "false", "yes", "depends", 0.0, "partly", "Holds in part", "no effect", "in part"]
)
def test_claim_refuses_a_verdict_that_is_not_a_bool_or_a_verdict_word(holds: object) -> None:
    with pytest.raises(
        TypeError,
        match="holds must be True, False or one of 'depends on version', 'holds in part', 'no measurable effect'",
    ):
        claim("003", "A claim", holds=holds, evidence="measured")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("report", "says", "evidence", "error"),
    [
        ("005", "A claim", "measured", "report must be one of"),
        ("3", "A claim", "measured", "report must be one of"),
        ("003", "", "measured", "one non-empty line"),
        ("003", "A claim", "two\nlines", "one non-empty line"),
        ("003", "A claim ", "measured", "one non-empty line"),
        ("003", 'A "quoted" claim', "measured", "double quotes"),
        ("003", "A claim", "took 0.25 s", "a timing"),
        ("003", "A claim", "on 127.0.0.1:5432", "a host:port"),
        ("003", "A claim", "process [4711] ended", "a pid"),
        ("003", "A claim", "wrote /tmp/lab/x", "a temporary path"),
        ("003", "A claim", "SQLAlchemy 2.1.9 says so", "a version number"),
        ("003", "x" * 121, "measured", "keep it under"),
    ],
)
def test_claim_refuses_text_that_would_drift_or_break_the_line(
    report: str, says: str, evidence: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        claim(report, says, holds=True, evidence=evidence)


def test_depends_on_version_names_the_versions() -> None:
    with pytest.raises(ValueError, match="say which versions"):
        claim("002", "A claim", holds=DEPENDS, evidence="it depends")


def _notebook(tmp_path: Path, *outputs: dict) -> Path:
    path = tmp_path / "notebooks" / "01-example.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = {"cell_type": "code", "source": ["x = 1"], "metadata": {}, "execution_count": 1, "outputs": list(outputs)}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _output(made: Claim, **changes: object) -> dict:
    data = {**made.bundle(), **changes}
    return {"output_type": "display_data", "metadata": {}, "data": data}


def test_the_generator_reads_outputs_and_refuses_what_it_cannot_trust(tmp_path: Path) -> None:
    made = make_claim("000", "A claim", holds=False, evidence="measured")
    assert [e.claim for e in ledger.claims_in(_notebook(tmp_path, _output(made)))] == [made]
    tampered = _output(made, **{MIME: {**made.as_json(), "verdict": "holds"}})
    with pytest.raises(ledger.LedgerError, match="text and JSON disagree"):
        ledger.claims_in(_notebook(tmp_path, tampered))
    with pytest.raises(ledger.LedgerError, match="not a claim line"):
        ledger.claims_in(_notebook(tmp_path, _output(made, **{"text/plain": "something else"})))
    first = _notebook(tmp_path, _output(made))
    (tmp_path / "notebooks" / "02-example.ipynb").write_text(first.read_text())  # the same claim again
    with pytest.raises(ledger.LedgerError, match="stated twice"):
        ledger.collect(tmp_path)


def test_rendered_rows_are_grouped_by_report_and_link_the_notebook() -> None:
    entries = [ledger.Entry(make_claim("004", "Pipes | in text", holds=False, evidence="a | b"), "09-x.ipynb", 3)]
    page = ledger.render(entries, {name: "1.0" for name in ledger.PINNED}, "3.11")
    assert "## Incident report 004" in page and "No claim of this incident report is tested yet." in page
    assert "| \u201cPipes \\| in text\u201d |  | **false** | a \\| b | [09-x](../notebooks/09-x.ipynb) |" in page


@pytest.mark.parametrize(
    ("holds", "line_word", "ledger_word"),
    [
        (PARTLY, "HOLDS IN PART on today's versions", "*holds in part*"),
        (NO_EFFECT, "NO MEASURABLE EFFECT on today's versions", "*no measurable effect*"),
    ],
)
def test_the_third_verdict_words_read_the_same_in_the_line_and_the_ledger(
    holds: str, line_word: str, ledger_word: str
) -> None:
    made = make_claim("003", "Disabling `pool_pre_ping` improves performance", holds=holds, evidence="measured")
    assert made.verdict == holds
    assert made.text() == f'claim (incident report 003): "{made.says}" -> {line_word}: measured'
    assert parse(made.text()) == made
    assert f">{line_word.split(' on ')[0]}</span>" in made.html()
    # the ledger shows the verdict in the same words, lower case, and explains it in the legend
    assert ledger.SHOWN[holds].strip("*") == holds == line_word.split(" on ")[0].lower()
    page = ledger.render([ledger.Entry(made, "07-x.ipynb", 1)], {name: "1.0" for name in ledger.PINNED}, "3.11")
    assert f"| {ledger_word} | measured |" in page  # the reports' words are shown with the audit only
    assert f"- **{holds}**:" in page
    assert f"- report 003, {ledger_word}:" in page  # listed under "Not true as written"


def test_every_verdict_word_has_a_line_a_badge_and_a_ledger_word() -> None:
    from labkit import _claims

    assert set(_claims._SHOWN) == set(_claims._BADGE) == set(ledger.SHOWN) == {"holds", "false", *_claims.VERDICT_WORDS}


def test_the_generated_ledger_says_incident_report_not_seed() -> None:
    page = (ROOT / "docs" / "claims.md").read_text()
    assert "seed" not in page.lower()
    assert "## Incident report 000: the fix report" in page


# ---- the audit of the incident reports (docs/claims_audit.toml)

AUDIT = ledger.load_audit(ROOT / ledger.AUDIT)


def _audit_file(tmp_path: Path, *entries: dict) -> Path:
    def value(v: object) -> str:
        return "true" if v is True else "false" if v is False else str(v) if isinstance(v, int) else json.dumps(v)

    text = "".join("[[claim]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in e.items()) + "\n" for e in entries)
    path = tmp_path / "claims_audit.toml"
    path.write_text(text)
    return path


_MEASURED = {"report": "000", "line": 1, "quote": "q", "claim": "c", "status": "measured", "ledger": "A claim"}


def test_every_notebook_claim_has_an_audit_entry_and_every_measured_entry_a_claim() -> None:
    assert ledger.reconcile(ENTRIES, AUDIT) == AUDIT
    named = {entry.key for entry in AUDIT if entry.status == "measured"}
    assert {(entry.claim.report, entry.claim.says) for entry in ENTRIES} == named


def test_reconcile_refuses_a_notebook_claim_the_audit_does_not_name() -> None:
    made = make_claim("000", "A claim no report line was audited for", holds=True, evidence="measured")
    with pytest.raises(ledger.LedgerError, match="has no measured entry in claims_audit.toml"):
        ledger.reconcile([*ENTRIES, ledger.Entry(made, "01-x.ipynb", 1)], AUDIT)


def test_reconcile_refuses_a_measured_entry_that_names_no_notebook_claim(tmp_path: Path) -> None:
    made_up = ledger.load_audit(_audit_file(tmp_path, {**_MEASURED, "ledger": "A claim no notebook states"}))
    with pytest.raises(ledger.LedgerError, match="'A claim no notebook states', which no notebook states"):
        ledger.reconcile(ENTRIES, AUDIT + made_up)
    # the same words under another report are another claim
    real = next(entry for entry in AUDIT if entry.status == "measured" and not entry.ledger_report)
    other = next(number for number in report_names() if number != real.report)
    moved = ledger.load_audit(_audit_file(tmp_path, {**_MEASURED, "ledger": real.ledger, "ledger_report": other}))
    with pytest.raises(ledger.LedgerError, match="which no notebook states"):
        ledger.reconcile(ENTRIES, AUDIT + moved)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"status": "measured?"}, "status must be one of"),
        ({"report": "005"}, "the report must be one of"),
        ({"ledger": ""}, "a 'measured' entry needs ledger"),
        ({"quote": " "}, "needs quote"),
        ({"home": "07-connection-pool"}, "home belongs to a 'to measure' entry"),
        ({"status": "to measure", "ledger": None, "home": "99-nowhere", "how": "x"}, "is not a notebook"),
        ({"status": "to measure", "ledger": None, "home": "07-connection-pool"}, "needs how"),
        ({"status": "not checkable", "ledger": None, "why": "too hard", "reason": "x"}, "why must be one of"),
        ({"status": "not checkable", "ledger": None, "why": "plan"}, "needs reason"),
        ({"verdict": "holds"}, "unknown fields verdict"),
    ],
)
def test_the_audit_refuses_an_entry_it_cannot_use(tmp_path: Path, changes: dict, error: str) -> None:
    entry = {key: value for key, value in {**_MEASURED, **changes}.items() if value is not None}
    with pytest.raises(ledger.LedgerError, match=error):
        ledger.load_audit(_audit_file(tmp_path, entry))


def test_the_check_fails_when_the_audit_and_the_notebooks_disagree(tmp_path: Path) -> None:
    made = make_claim("000", "A claim", holds=False, evidence="measured")
    _notebook(tmp_path, _output(made))
    (tmp_path / "requirements.lock").write_text((ROOT / "requirements.lock").read_text())
    (tmp_path / "docs").mkdir()
    (tmp_path / ledger.AUDIT).write_text(_audit_file(tmp_path, _MEASURED).read_text())
    page = ledger.generate(tmp_path)
    assert "**1 are checkable here: 1 measured**" in page
    (tmp_path / ledger.AUDIT).write_text(_audit_file(tmp_path, {**_MEASURED, "ledger": "Another claim"}).read_text())
    with pytest.raises(ledger.LedgerError, match="has no measured entry"):
        ledger.generate(tmp_path)


def test_the_ledger_shows_the_audit_counts_and_its_open_lists() -> None:
    page = (ROOT / "docs" / "claims.md").read_text()
    status = {word: sum(entry.status == word for entry in AUDIT) for word in ledger.STATUSES}
    assert f"**{status['measured'] + status['to measure']} are checkable here: {status['measured']} measured**" in page
    if status["to measure"]:
        assert f"**{status['to measure']} still to measure**" in page
    else:
        assert (
            "still to measure" not in page
            and "measured** by a claim below (several report lines can share one), every one of them." in page
        )
    assert f"**{status['not checkable']} are not checkable**: " in page
    for word in ledger.WHY:
        assert f"{sum(entry.why == word for entry in AUDIT)} {word}" in page
    for entry in AUDIT:
        if entry.status == "to measure":
            assert f"line {entry.line}, \u201c{entry.quote}\u201d ({entry.claim}). How: {entry.how}." in page
        elif entry.status == "not checkable":
            assert f"- {entry.why}: report {entry.report}, line {entry.line}, \u201c{entry.quote}\u201d" in page
        elif entry.fairness:
            assert f"line {entry.line}, \u201c{entry.quote}\u201d: today \u201c{entry.ledger}\u201d" in page


REPORTS_DIR = ROOT.parent / "shared" / "seeds"  # the authors' copy of the incident reports, not in the repository


@pytest.mark.skipif(not REPORTS_DIR.is_dir(), reason="the incident reports are not beside this checkout")
def test_every_audit_quote_is_on_its_line_of_the_report() -> None:
    assert ledger.quotes_not_found(AUDIT, REPORTS_DIR) == []


def test_a_quote_not_on_its_line_is_reported(tmp_path: Path) -> None:
    (tmp_path / "000_x.txt").write_text("first line\nthe report says this\n")
    audit = ledger.load_audit(_audit_file(tmp_path, {**_MEASURED, "line": 2, "quote": "says this"}))
    assert ledger.quotes_not_found(audit, tmp_path) == []
    moved = ledger.load_audit(_audit_file(tmp_path, {**_MEASURED, "line": 1, "quote": "says this"}))
    assert ledger.quotes_not_found(moved, tmp_path) == ["report 000 line 1: 'says this'"]


def test_each_ledger_row_quotes_the_report_lines_it_answers() -> None:
    page = (ROOT / "docs" / "claims.md").read_text()
    rows = {line.split(" | ")[0]: line for line in page.splitlines() if line.startswith("| \u201c")}
    for entry in AUDIT:
        if entry.status != "measured":
            continue
        row = rows["| \u201c" + entry.ledger.replace("|", "\\|") + "\u201d"]
        assert f"line {entry.line}: \u201c{entry.quote.replace('|', chr(92) + '|')}\u201d" in row
        assert ("[to restate](#verdicts-to-restate)" in row) >= bool(entry.fairness)
