"""The learner's path through a notebook: try first (lab.check), the reference fix folded away until asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import support

pytestmark = pytest.mark.unit

NOTEBOOKS = sorted(support.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
FIX_HEADING = re.compile(r"^#+ .*(fix, step by step|the reference fix)", re.IGNORECASE)
# JupyterLab's own cell metadata for a folded heading: the section stays folded on open, "Run All" still runs it
COLLAPSED = "jp-MarkdownHeadingCollapsed"


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_reference_fix_is_folded_and_comes_after_the_learners_check(notebook: Path) -> None:
    all_cells = cells(notebook)
    headings = [
        i for i, c in enumerate(all_cells) if c["cell_type"] == "markdown" and FIX_HEADING.match("".join(c["source"]))
    ]
    assert len(headings) == 1, f"{notebook.name}: expected one 'Fix, step by step' heading, found {len(headings)}"
    fix = headings[0]
    assert all_cells[fix]["metadata"].get(COLLAPSED) is True, (
        f"{notebook.name}: the fix heading must be folded in JupyterLab so the solution is not in view before "
        f"the learner tries; set cell metadata {COLLAPSED!r}: true on cell {fix}"
    )
    before = ["".join(c["source"]) for c in all_cells[:fix] if c["cell_type"] == "code"]
    assert any("lab.check()" in source for source in before), (
        f"{notebook.name}: no lab.check() before the reference fix: the learner has nothing to try their fix with"
    )


def test_every_numbered_notebook_is_covered() -> None:
    assert len(NOTEBOOKS) >= 13
