"""A package's import graph read from its source (``ast``): which module imports which while it loads.

Only the statements that run at import count: an import inside a function body runs later, and
one under ``if TYPE_CHECKING:`` never does, so neither can close an import cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path


def modules_of(root: Path, package: str = "app") -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of ``package`` under ``root``."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runs_at_import(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a body that run when the module is imported (not inside functions)."""
    kept: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            kept += _runs_at_import(node.orelse)
            continue
        kept.append(node)
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                kept += _runs_at_import(inner)
        for handler in getattr(node, "handlers", []):
            kept += _runs_at_import(handler.body)
    return kept


def _imported(node: ast.stmt, name: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """The dotted names one import statement of module ``name`` loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the module's package, one level up per extra dot
        parts = name.split(".") if is_package else name.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def import_graph(root: Path, package: str = "app") -> dict[str, set[str]]:
    """module -> the package's modules it imports while it is being imported."""
    modules = modules_of(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        try:
            body = ast.parse(path.read_text(), filename=str(path)).body
        except SyntaxError:
            body = []  # it imports nothing, for it cannot be imported: importing it says why, with file:line
        for node in _runs_at_import(body):
            for target in _imported(node, name, path.name == "__init__.py", modules):
                while target and target not in modules:  # `import a.b.c` of a plain attribute: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]`` when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []
