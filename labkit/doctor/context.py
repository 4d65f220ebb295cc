"""The state of one file's walk, as the rules see it.

Rules ask questions about the node in front of them: does this line run when
the module is imported? Are we in an ``async def`` route? What does this name
refer to (``sa.create_engine`` -> ``sqlalchemy.create_engine``)? What kind of
object is this expression? The walker (:mod:`labkit.doctor.walker`) keeps the
scopes up to date; this module answers from them and collects what the rules
report, either now or once the whole project is known (:class:`Pending`).
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labkit.doctor import values
from labkit.doctor.findings import Finding
from labkit.doctor.literals import keyword
from labkit.doctor.values import NONE, UNKNOWN, SymbolTable, Value

if TYPE_CHECKING:
    from labkit.doctor.options import Options
    from labkit.doctor.rule import Rule, Severity

_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([\w., \t]+))", re.MULTILINE)
_TYPING_WRAPPERS = frozenset({"Annotated", "Optional"})


@dataclass(eq=False)
class Scope:
    """A module, class or function body: the names bound in it, in order of execution."""

    kind: str  # "module" | "class" | "function"
    node: ast.AST | None = None
    is_async: bool = False
    is_route: bool = False
    names: dict[str, Value] = field(default_factory=dict)
    consts: dict[str, object] = field(default_factory=dict)  # names bound to a str or int literal
    aliases: dict[str, str] = field(default_factory=dict)  # imports made in this scope
    declared_global: set[str] = field(default_factory=set)
    returns_into: str | None = None  # a module-level function without a known return type: its symbol


@dataclass(frozen=True)
class Pending:
    """A finding that depends on what a value turns out to be, decided once every file is read.

    ``group``: of the pending findings sharing one group, only the first (by
    position) that comes true is reported (one finding per route, not per line).
    """

    finding: Finding
    value: Value
    accept: frozenset[str]
    template: str | None = None  # the message, with values.KIND where the kind's name goes
    group: tuple[str, int, int] | None = None
    unknown_too: bool = False  # also report when the kind stays unknown (but not when it is foreign)


class FileContext:
    """One file being walked: where we are, what names mean, and what was found."""

    def __init__(
        self, rel: str, module: str, text: str, symbols: SymbolTable, first_party: frozenset[str], options: Options
    ) -> None:
        self.rel = rel
        self.module = module
        self.is_package = rel.endswith("__init__.py")
        self.text = text
        self.symbols = symbols
        self.first_party = first_party
        self.options = options
        self.findings: list[Finding] = []
        self.pending: list[Pending] = []
        self.scopes: list[Scope] = [Scope("module")]
        self.functions: list[Scope] = []  # the function scopes among them, innermost last
        self.renamed: dict[str, str] = {}  # `import x as y` / `from m import x as y`: y -> x (any scope)
        self.main_guard = 0  # > 0 inside `if __name__ == "__main__":`
        self.branch: tuple[tuple[int, int], ...] = ()  # (id of an if/try/match, arm) from the module down
        self.star_modules: list[str] = []
        self.imported: set[str] = set()  # what the walked imports name, to know which unwalked files matter
        self.imported_roots = _imported_roots(text)
        # Flask runs each async view on a loop of its own, so a blocking call there stalls no other request.
        self.asgi_routes = not self.imports("flask") or self.imports("fastapi", "starlette")
        self.state: dict[str, object] = {}  # per-file scratch space of the rules, by rule id
        self.loud_lines: list[int] | None = None  # lines with a word some rule reacts to; None: all count
        self._word_lines: dict[str, list[int]] = {}
        self.is_test = _is_test_file(rel)

    def quiet(self, node: ast.AST) -> bool:
        """Whether no line of ``node`` has a word any selected rule reacts to (so its body may be skipped).

        Only a speed-up: a function body without ``execute``, ``create_engine``,
        ``try``, ``global``, ``state``, ``://``... cannot produce a finding
        or a binding another file needs (async routes are always walked).
        """
        lines = self.loud_lines
        body = getattr(node, "body", None)
        if lines is None or not body:
            return False
        # From the first statement of the body: the `def` line itself (an `async def`) does not count.
        first = bisect_left(lines, body[0].lineno)
        return first == len(lines) or lines[first] > (getattr(node, "end_lineno", None) or 1 << 30)

    def mentions(self, word: str | re.Pattern[str], node: ast.AST) -> bool:
        """Whether ``word`` (a string or a pattern) is in the text of ``node``'s lines: a cheap test first."""
        key = word if isinstance(word, str) else word.pattern
        lines = self._word_lines.get(key)
        if lines is None:
            lines = self._word_lines[key] = _lines_with(self.text, word)
        if not lines:
            return False
        first = bisect_left(lines, getattr(node, "lineno", 1))
        return first < len(lines) and lines[first] <= (getattr(node, "end_lineno", None) or 1 << 30)

    # -- where are we -----------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def push(self, scope: Scope) -> None:
        self.scopes.append(scope)
        if scope.kind == "function":
            self.functions.append(scope)

    def pop(self) -> None:
        if self.scopes.pop().kind == "function":
            self.functions.pop()

    @property
    def function(self) -> Scope | None:
        """The innermost function (or lambda) we are in, or None at module/class level."""
        return self.functions[-1] if self.functions else None

    @property
    def at_import_time(self) -> bool:
        """True when the current statement runs as the module is imported (module or class body)."""
        return not self.functions and self.main_guard == 0

    @property
    def in_async_route(self) -> bool:
        scope = self.scope
        return scope.kind == "function" and scope.is_async and scope.is_route

    def imports(self, *roots: str) -> bool:
        """Whether the file imports any of these top-level packages (anywhere in it)."""
        return any(root in self.imported_roots for root in roots)

    # -- what names mean -----------------------------------------------------------

    def symbol(self, node: ast.AST) -> str | None:
        """The qualified name an expression refers to, through imports.

        ``sa.orm.Session`` -> ``sqlalchemy.orm.Session``. Local variables of a
        function have no qualified name (``None``); other module-level names
        are ``<this module>.<name>``.
        """
        if isinstance(node, ast.Attribute):
            base = self.symbol(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if not isinstance(node, ast.Name):
            return None
        name = node.id
        for scope in reversed(self.scopes):
            if scope.kind == "class" and scope is not self.scopes[-1]:
                continue
            target = scope.aliases.get(name)
            if target is not None:
                return target
            if scope.kind != "module" and name in scope.names and name not in scope.declared_global:
                return None
        if self.star_modules and name in values.EXTERNAL:
            return f"{self.star_modules[-1]}.{name}"
        return f"{self.module}.{name}"

    def self_attribute(self, node: ast.AST) -> str | None:
        """``self.db`` in a method of a module-level class -> ``app.services.Users.@self.db``, else None.

        What ``__init__`` stores there (``self.db = db``, a parameter typed ``Session``) is then what
        every method reads back, decided once every file is read.
        """
        scopes = self.scopes
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"):
            return None
        if len(scopes) < 3 or scopes[1].kind != "class" or scopes[2].kind != "function":
            return None
        return f"{self.module}.{getattr(scopes[1].node, 'name', '?')}.@self.{node.attr}"

    def local(self, name: str) -> Value | None:
        """The value of a function-local (or enclosing function's) variable, if bound so far."""
        for scope in reversed(self.scopes):
            if scope.kind == "module":
                return None
            if scope.kind == "class" and scope is not self.scopes[-1]:
                continue
            if name in scope.names and name not in scope.declared_global:
                return scope.names[name]
        return None

    def const(self, name: str) -> object | None:
        """A str/int literal bound to ``name`` (nearest scope first), else None."""
        for scope in reversed(self.scopes):
            if name in scope.consts:
                return scope.consts[name]
            if name in scope.names and scope.kind != "module":
                return None  # bound locally to something that is not a literal
        return None

    @property
    def consts(self) -> _ConstView:
        return _ConstView(self)

    # -- what values are -------------------------------------------------------------

    def value(self, node: ast.AST | None) -> Value:
        """What ``node`` evaluates to, as a (possibly lazy) :class:`Value`."""
        if isinstance(node, ast.Name):
            bound = self.local(node.id)
            if bound is not None:
                return bound
            symbol = self.symbol(node)
            return UNKNOWN if symbol is None else Value(symbol=symbol)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, (ast.Name, ast.Attribute)) and node.keywords:
                symbol = self.symbol(func) or ""
                class_ = keyword(node, "class_")
                if class_ is not None and symbol.rpartition(".")[2] == "sessionmaker":
                    return self.type_value(class_).then("maker")
            if isinstance(func, ast.Attribute):
                # engine.connect() or db.make_engine(): which one is decided by the symbol table
                return self.value(func.value).then(f"meth:{func.attr}")
            return self.value(func).then("call")
        if isinstance(node, ast.Attribute):
            if _is_state(node.value):
                return Value(symbol=f"@state.{node.attr}")
            root = _root_name(node)
            if root is not None and self.local(root) is not None:
                attribute = self.self_attribute(node)
                return UNKNOWN if attribute is None else Value(symbol=attribute)  # else: a local object's, untracked
            symbol = self.symbol(node)
            return UNKNOWN if symbol is None else Value(symbol=symbol)
        if isinstance(node, ast.Subscript):
            return self.type_value(node)
        if isinstance(node, ast.Constant) and node.value is None:
            return NONE
        return UNKNOWN

    def type_value(self, node: ast.AST | None) -> Value:
        """The type an annotation names (not an instance): ``Annotated[Session, Depends(...)]`` -> Session."""
        if isinstance(node, (ast.Name, ast.Attribute)):
            symbol = self.symbol(node)
            return UNKNOWN if symbol is None else Value(symbol=symbol)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if re.fullmatch(r"[A-Za-z_][\w.]*", text):
                try:
                    return self.type_value(ast.parse(text, mode="eval").body)
                except SyntaxError:
                    return UNKNOWN
            return UNKNOWN
        if isinstance(node, ast.Subscript):
            base = self.symbol(node.value) or ""
            last = base.rpartition(".")[2]
            inner = node.slice
            if last in _TYPING_WRAPPERS:
                first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
                return self.type_value(first)
            if last == "Union" and isinstance(inner, ast.Tuple):
                kept = [e for e in inner.elts if not (isinstance(e, ast.Constant) and e.value is None)]
                return self.type_value(kept[0]) if len(kept) == 1 else UNKNOWN
            return UNKNOWN
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            sides = [s for s in (node.left, node.right) if not (isinstance(s, ast.Constant) and s.value is None)]
            return self.type_value(sides[0]) if len(sides) == 1 else UNKNOWN
        return UNKNOWN

    # -- binding -------------------------------------------------------------------------

    def bind(self, name: str, value: Value, node: ast.AST, literal: object | None = None) -> None:
        """``name = <value>`` in the current scope (or the module's, under ``global``)."""
        scope = self.scope
        if scope.kind == "function" and name in scope.declared_global:
            scope = self.scopes[0]
        if scope.kind == "module":
            symbol = f"{self.module}.{name}"
            self.symbols.bind(symbol, value)
            if symbol not in self.symbols.defined_at:
                self.symbols.defined_at[symbol] = (self.rel, getattr(node, "lineno", 1))
        scope.names[name] = value
        if literal is not None:
            scope.consts[name] = literal
        else:
            scope.consts.pop(name, None)
        scope.aliases.pop(name, None)

    # -- reporting -----------------------------------------------------------------------

    def finding(
        self, rule: Rule, node: ast.AST, message: str, subject: str = "", severity: Severity | None = None
    ) -> Finding:
        line = getattr(node, "lineno", 1)
        return Finding(
            self.rel,
            line,
            getattr(node, "col_offset", 0) + 1,
            rule.id,
            message,
            getattr(node, "end_lineno", None) or line,
            subject,
            severity or rule.severity,
        )

    def report(
        self, rule: Rule, node: ast.AST, message: str, subject: str = "", severity: Severity | None = None
    ) -> None:
        self.findings.append(self.finding(rule, node, message, subject, severity))

    def may_become(self, value: Value, accept: frozenset[str], unknown_too: bool = False) -> bool:
        """Whether a finding deferred on ``value`` can still be reported once every file is read.

        A value that names nothing of the project (``sqlalchemy.select(...)``, ``fastapi.HTTPException``)
        resolves the same whatever the project binds (every binding is under a module of the project or
        ``@state``), so it is decided now: most calls in a route are such, and a pending finding costs.
        """
        symbol = value.symbol
        if symbol is not None and (symbol.startswith("@") or symbol.partition(".")[0] in self.first_party):
            return True
        kind = self.symbols.outside().resolve(value)
        return unknown_too if kind is None else kind in accept

    def defer(
        self,
        rule: Rule,
        node: ast.AST,
        value: Value,
        accept: frozenset[str],
        message: str,
        template: str | None = None,
        group: tuple[str, int, int] | None = None,
        unknown_too: bool = False,
    ) -> None:
        """Report ``message`` if ``value`` turns out to be one of ``accept`` once every file is read.

        ``template``: the message to use instead, naming the kind found where :data:`values.KIND` stands.

        ``unknown_too``: also when nothing is known about it, only not when it is known to be something else.
        """
        if value.kind is None and value.symbol is None and not unknown_too:
            return
        if not self.may_become(value, accept, unknown_too):
            return
        self.pending.append(Pending(self.finding(rule, node, message), value, accept, template, group, unknown_too))


class _ConstView:
    """``ctx.consts``: the :class:`labkit.doctor.literals.Literals` lookup of the current scopes."""

    def __init__(self, ctx: FileContext) -> None:
        self._ctx = ctx

    def get(self, name: str, default: object = None) -> object:
        value = self._ctx.const(name)
        return default if value is None else value


def _is_test_file(rel: str) -> bool:
    """Tests hold throwaway credentials for throwaway databases: ``tests/``, ``test_*.py``, ``*_test.py``, conftest."""
    parts = rel.split("/")
    name = parts[-1]
    return (
        any(part in ("tests", "test", "testing") for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _lines_with(text: str, word: str | re.Pattern[str]) -> list[int]:
    """The numbers of the lines where ``word`` occurs, in order (one scan of the text)."""
    found: list[int] = []
    line, position = 1, 0
    starts = (m.start() for m in (re.finditer(re.escape(word), text) if isinstance(word, str) else word.finditer(text)))
    for start in starts:
        line += text.count("\n", position, start)
        position = start
        if not found or found[-1] != line:
            found.append(line)
    return found


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_state(node: ast.AST) -> bool:
    """``app.state`` / ``request.app.state`` / ``self.app.state``: where FastAPI apps keep their engine."""
    return isinstance(node, ast.Attribute) and node.attr == "state"


def _import_lines(text: str) -> Iterator[re.Match[str]]:
    """``_IMPORT_LINE.finditer(text)``, trying only the lines that have ``import`` on them.

    A match starts at a line's start and ends on that line, so one per line at most: the same
    matches, without the regex engine trying every position of the file (it did not skip ahead).
    """
    start = text.find("import")
    while start != -1:
        line = text.rfind("\n", 0, start) + 1
        match = _IMPORT_LINE.match(text, line)
        if match is not None:
            yield match
        end = text.find("\n", start)
        if end == -1:
            return
        start = text.find("import", end)


def _imported_roots(text: str) -> frozenset[str]:
    """The top-level packages a file imports (``.`` for relative imports), read from its text in one pass."""
    roots = set()
    for match in _import_lines(text):
        module = match.group(1)
        if module is not None:
            roots.add("." if module.startswith(".") else module.split(".", 1)[0])
            continue
        for part in match.group(2).split(","):
            words = part.split()
            if words:
                roots.add(words[0].split(".", 1)[0])
    return frozenset(roots)
