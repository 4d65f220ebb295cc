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
from labkit._claims import DEPENDS, MIME, Claim, claim, make_claim, parse, report_names
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


def test_every_seed_has_a_claim() -> None:
    assert {entry.claim.seed for entry in ENTRIES} == set(report_names())


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
        'claim (seed 004): "Middleware added twice runs once" -> FALSE on today\'s versions: '
        "one request made 2 usage writes"
    )
    assert (
        make_claim("004", says, holds=True, evidence=evidence)
        .text()
        .endswith("-> HOLDS on today's versions: one request made 2 usage writes")
    )
    depends = make_claim("002", says, holds=DEPENDS, evidence="SQLAlchemy 2.0 reads it as psycopg2, 2.1 as psycopg")
    assert depends.text() == (
        f'claim (seed 002): "{says}" -> DEPENDS ON VERSION: SQLAlchemy 2.0 reads it as psycopg2, 2.1 as psycopg'
    )


def test_the_line_carries_everything_the_ledger_reads() -> None:
    for holds in (True, False, DEPENDS):
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
    assert capsys.readouterr().out == 'claim (seed 001): "A claim" -> HOLDS on today\'s versions: measured\n'


@pytest.mark.parametrize("holds", [1, 0, None, "holds", "false", "yes", "depends", 0.0])
def test_claim_refuses_a_verdict_that_is_not_a_bool_or_depends(holds: object) -> None:
    with pytest.raises(TypeError, match="holds must be True, False or 'depends on version'"):
        claim("003", "A claim", holds=holds, evidence="measured")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seed", "says", "evidence", "error"),
    [
        ("005", "A claim", "measured", "seed must be one of"),
        ("3", "A claim", "measured", "seed must be one of"),
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
def test_claim_refuses_text_that_would_drift_or_break_the_line(seed: str, says: str, evidence: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        claim(seed, says, holds=True, evidence=evidence)


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


def test_rendered_rows_are_grouped_by_seed_and_link_the_notebook() -> None:
    entries = [ledger.Entry(make_claim("004", "Pipes | in text", holds=False, evidence="a | b"), "09-x.ipynb", 3)]
    page = ledger.render(entries, {name: "1.0" for name in ledger.PINNED}, "3.11")
    assert "## Seed 004" in page and "No claim of this seed is tested yet." in page
    assert "| \u201cPipes \\| in text\u201d | **false** | a \\| b | [09-x](../notebooks/09-x.ipynb) |" in page
