"""Notebooks and scenario checks use labkit's public API only, so its private modules can change.

Public: the names in ``labkit.__all__`` and the public modules below. Everything else
(``labkit._name`` modules, names not exported) is labkit's own business.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

import labkit
from support import NOTEBOOKS, ROOT

pytestmark = pytest.mark.unit

PUBLIC_MODULES = {"checking", "doctor"}  # labkit.checking may not exist yet
PUBLIC = set(labkit.__all__) | PUBLIC_MODULES

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "deep-dives").glob("*.ipynb"))
CHECKS = sorted((NOTEBOOKS / "scenarios").glob("*/check.py"))


def public_module(dotted: str) -> bool:
    """labkit itself, or a public module of it and its non-private submodules."""
    parts = dotted.split(".")
    if parts[0] != "labkit" or len(parts) == 1:
        return True
    return parts[1] in PUBLIC_MODULES and not any(part.startswith("_") for part in parts)


def private_uses(source: str) -> list[str]:
    """Each use of a non-public labkit name in ``source``: "line N: what"."""
    # a cell may hold IPython syntax (%magic, !shell) and a top-level await
    python = TransformerManager().transform_cell(source)
    tree = compile(python, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    aliases = {"labkit"} | {
        a.asname
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
        if a.name == "labkit" and a.asname
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if not public_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if not public_module(node.module):
                found.append((node.lineno, f"from {node.module} import {', '.join(a.name for a in node.names)}"))
            elif node.module == "labkit":
                found += [(node.lineno, f"from labkit import {a.name}") for a in node.names if a.name not in PUBLIC]
            elif node.module.startswith("labkit."):
                found += [
                    (node.lineno, f"from {node.module} import {a.name}") for a in node.names if a.name.startswith("_")
                ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in PUBLIC
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return [f"line {line}: {use}" for line, use in sorted(found)]


def code_cells(notebook: Path) -> Iterator[tuple[int, str]]:
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        if cell["cell_type"] == "code":
            yield index, "".join(cell["source"])


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_uses_only_public_names(notebook: Path) -> None:
    found = [f"cell {index}, {use}" for index, source in code_cells(notebook) for use in private_uses(source)]
    assert not found, f"{notebook.relative_to(ROOT)} uses labkit's internals:\n" + "\n".join(found)


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.parent.name)
def test_scenario_check_uses_only_public_names(check: Path) -> None:
    found = private_uses(check.read_text())
    assert not found, f"{check.relative_to(ROOT)} uses labkit's internals:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "uses"),
    [
        ("from labkit._ports import free_port", ["line 1: from labkit._ports import free_port"]),
        ("import labkit._cleanup as cleanup", ["line 1: import labkit._cleanup"]),
        ("from labkit import _cleanup, Table", ["line 1: from labkit import _cleanup"]),
        ("import labkit as lk\nlk._display.Table", ["line 2: lk._display"]),
        ("import labkit\nlabkit.display.Table(['a'], [])", ["line 2: labkit.display"]),
        (
            "from labkit.doctor._walk import x\nfrom labkit.doctor import _rules",
            ["line 1: from labkit.doctor._walk import x", "line 2: from labkit.doctor import _rules"],
        ),
        ("%time import labkit\nawait labkit._load.run()", ["line 2: labkit._load"]),
        (
            "import labkit, labkit.doctor\nfrom labkit import Lab, free_port\nfrom labkit.checking import x\n"
            "from labkit.doctor import scan\nlabkit.postgres()",
            [],
        ),
    ],
)
def test_private_uses_are_found(source: str, uses: list[str]) -> None:
    assert private_uses(source) == uses


def test_a_tabular_result_shows_its_table_as_text_and_html() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, repr=False)
    class Counted(labkit.Tabular):
        count: int

        def table(self) -> labkit.Table:
            return labkit.Table(("what", "count"), (("requests", str(self.count)),))

    shown = Counted(3)
    assert repr(shown) == str(labkit.Table(("what", "count"), (("requests", "3"),)))
    assert "<td style='text-align:left'>3</td>" in shown._repr_html_()

    class Forgot(labkit.Tabular):
        pass

    with pytest.raises(NotImplementedError, match="Forgot must define table"):
        repr(Forgot())
