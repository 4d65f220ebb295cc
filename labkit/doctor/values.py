"""What an expression holds, as far as the database rules care: a sync engine, an async session...

Several rules hinge on one question the source of a single file often cannot
answer: is this ``engine`` sync or async? It may be imported from another
module, built by a factory declared ``-> AsyncEngine``, or set on
``app.state`` in a lifespan three files away. So a value is recorded lazily,
as a symbol plus the operations applied to it (``app.db.make_engine``, then
called, then ``.connect()``), and resolved once every file has been read.
One parse and one walk per file, and still cross-module answers.

Anything not understood resolves to ``None``, and a rule that gets ``None``
stays silent: unknown is never reported as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kinds of runtime values.
ENGINE = "engine"
ASYNC_ENGINE = "async-engine"
CONNECTION = "connection"
ASYNC_CONNECTION = "async-connection"
SESSION = "session"
ASYNC_SESSION = "async-session"
SESSIONMAKER = "sessionmaker"
ASYNC_SESSIONMAKER = "async-sessionmaker"
METADATA = "metadata"
# An object of a library other than SQLAlchemy (``databases.Database()``, ``requests.Session``): known not to be ours.
FOREIGN = "foreign"
# Kinds of the things that make them: ``type:session`` is the Session class, ``factory:engine`` create_engine.
TYPE = "type:"
FACTORY = "factory:"

SYNC_DB = frozenset({ENGINE, CONNECTION, SESSION})
# How a message names a kind; KIND in a message template is replaced by it once the kind is known.
KIND = "\x00kind\x00"
KIND_NAMES = {
    ENGINE: "sync Engine",
    CONNECTION: "sync Connection",
    SESSION: "sync Session",
    ASYNC_ENGINE: "AsyncEngine",
    ASYNC_SESSION: "AsyncSession",
    ASYNC_CONNECTION: "AsyncConnection",
}
ENGINES = frozenset({ENGINE, ASYNC_ENGINE})

# SQLAlchemy's (and SQLModel's) public names, by their last dotted part: they are re-exported from many modules.
EXTERNAL_ROOTS = frozenset({"sqlalchemy", "sqlmodel"})
EXTERNAL: dict[str, str] = {
    "create_engine": FACTORY + ENGINE,
    "create_async_engine": FACTORY + ASYNC_ENGINE,
    "Engine": TYPE + ENGINE,
    "AsyncEngine": TYPE + ASYNC_ENGINE,
    "Connection": TYPE + CONNECTION,
    "AsyncConnection": TYPE + ASYNC_CONNECTION,
    "Session": TYPE + SESSION,
    "AsyncSession": TYPE + ASYNC_SESSION,
    "sessionmaker": FACTORY + SESSIONMAKER,
    "async_sessionmaker": FACTORY + ASYNC_SESSIONMAKER,
    "MetaData": TYPE + METADATA,
}
# Names outside SQLAlchemy that hand out its objects, by full symbol.
EXTERNAL_SYMBOLS: dict[str, str] = {
    "alembic.op.get_bind": FACTORY + CONNECTION,  # a migration's real Connection
}
_CALL = {SESSIONMAKER: SESSION, ASYNC_SESSIONMAKER: ASYNC_SESSION}
_METHODS = {
    (ENGINE, "connect"): CONNECTION,
    (ENGINE, "begin"): CONNECTION,
    (ASYNC_ENGINE, "connect"): ASYNC_CONNECTION,
    (ASYNC_ENGINE, "begin"): ASYNC_CONNECTION,
    (SESSIONMAKER, "begin"): SESSION,
    (ASYNC_SESSIONMAKER, "begin"): ASYNC_SESSION,
}
_MAKER_OF = {TYPE + SESSION: SESSIONMAKER, TYPE + ASYNC_SESSION: ASYNC_SESSIONMAKER}


@dataclass(frozen=True, slots=True)
class Value:
    """A kind known now, or a symbol to look up later; then ``ops`` applied in order.

    ops: ``call`` (called), ``instance`` (an object of this annotated type),
    ``meth:NAME`` (the result of calling method NAME), ``maker`` (a sessionmaker
    whose ``class_`` is this type).
    """

    kind: str | None = None
    symbol: str | None = None
    ops: tuple[str, ...] = ()
    is_none: bool = False  # the literal None: "not set yet", never a conflicting assignment

    def then(self, *ops: str) -> Value:
        if self.kind is None and self.symbol is None:
            return UNKNOWN
        return Value(self.kind, self.symbol, self.ops + ops)


UNKNOWN = Value()
NONE = Value(is_none=True)


def external_kind(symbol: str) -> str | None:
    """``sqlalchemy.orm.Session`` -> ``type:session``; ``None`` for anything else."""
    special = EXTERNAL_SYMBOLS.get(symbol)
    if special is not None:
        return special
    root, _, _ = symbol.partition(".")
    if root not in EXTERNAL_ROOTS:
        return None
    return EXTERNAL.get(symbol.rpartition(".")[2])


def apply(kind: str | None, op: str) -> str | None:
    """One operation on a known kind; ``None`` when the result is not a kind the rules track."""
    if kind is None or kind == FOREIGN:
        return kind  # whatever is done to a foreign object stays foreign
    if op == "call":
        if kind.startswith(FACTORY) or kind.startswith(TYPE):
            return kind.split(":", 1)[1]
        return _CALL.get(kind)
    if op == "instance":
        return kind[len(TYPE) :] if kind.startswith(TYPE) else None
    if op.startswith("meth:"):
        return _METHODS.get((kind, op[5:]))
    if op == "maker":
        return _MAKER_OF.get(kind)
    return None


class SymbolTable:
    """Every module-level binding of the project, the declared return types, and ``app.state`` attributes.

    Keys are qualified names (``app.db.engine``); ``@state.engine`` holds what
    any lifespan stores on ``app.state.engine``, since routes read it back
    through ``request.app.state.engine`` in other modules.
    """

    def __init__(self, first_party: frozenset[str] = frozenset()) -> None:
        self.first_party = first_party  # top-level names of the project's own modules
        self.bindings: dict[str, list[Value]] = {}
        self.returns: dict[str, Value] = {}
        self.inferred: dict[str, list[Value]] = {}  # functions without a return annotation: what they return/yield
        self.stars: dict[str, list[str]] = {}  # module -> the modules it star-imports
        self.io: dict[str, list[Value]] = {}  # function -> values it calls database methods on (sync if they are)
        self.passes: dict[str, list[str]] = {}  # function -> project functions it hands its session to
        self.defined_at: dict[str, tuple[str, int]] = {}
        # Answers of kind_of and canonical: asked once every file is in (see merge), many times over.
        self._memo: dict[str, str | None] = {}
        self._canonical: dict[str, str] = {}
        self._outside: SymbolTable | None = None

    # -- filling ---------------------------------------------------------------

    def bind(self, symbol: str, value: Value) -> None:
        self.bindings.setdefault(symbol, []).append(value)

    def merge(self, later: SymbolTable) -> None:
        """Add what another share of the files (later in file order) learned, as if read after this one."""
        for symbol, values in later.bindings.items():
            self.bindings.setdefault(symbol, []).extend(values)
        self.returns.update(later.returns)
        for table, extra in (
            (self.inferred, later.inferred),
            (self.stars, later.stars),
            (self.io, later.io),
            (self.passes, later.passes),
        ):
            for key, items in extra.items():
                table.setdefault(key, []).extend(items)  # type: ignore[arg-type]
        for symbol, where in later.defined_at.items():
            self.defined_at.setdefault(symbol, where)
        self._memo.clear()
        self._canonical.clear()

    def declare_return(self, symbol: str, value: Value) -> None:
        self.returns[symbol] = value

    def infer_return(self, symbol: str, value: Value) -> None:
        """A value a function without a return annotation returns (or, a generator, yields)."""
        self.inferred.setdefault(symbol, []).append(value)

    def star_import(self, module: str, source: str) -> None:
        self.stars.setdefault(module, []).append(source)

    def does_io(self, function: str, value: Value) -> None:
        """``function`` calls a database method on ``value`` (blocking when the value is sync)."""
        self.io.setdefault(function, []).append(value)

    def hands_session(self, function: str, callee: str) -> None:
        """``function`` passes the session it was given on to ``callee`` (a helper of the project)."""
        self.passes.setdefault(function, []).append(callee)

    def blocks(self, function: str, depth: int = 2, seen: frozenset[str] = frozenset()) -> str | None:
        """The sync kind a function does database work on, or None.

        Its own body counts, and (``depth`` 2) the body of a helper it hands its session to.
        ``service.fetch`` where ``service = UserService()`` is ``UserService.fetch``: the method's body counts.
        """
        function = self._method_of_instance(self.canonical(function))
        if function in seen:
            return None
        for value in self.io.get(function, ()):
            kind = self.resolve(value)
            if kind in SYNC_DB:
                return kind
        if depth > 1:
            for callee in self.passes.get(function, ()):
                kind = self.blocks(callee, depth - 1, seen | {function})
                if kind is not None:
                    return kind
        return None

    def _method_of_instance(self, function: str) -> str:
        """``app.services.users.fetch`` where ``users = Users()`` -> ``app.services.Users.fetch``."""
        if function in self.io or function in self.passes:
            return function
        owner, _, method = function.rpartition(".")
        made = self.bindings.get(owner)
        if made and len(made) == 1 and made[0].symbol is not None and made[0].ops == ("call",):
            return f"{self.canonical(made[0].symbol)}.{method}"
        return function

    def outside(self) -> SymbolTable:
        """A table of the same project that binds nothing: how a value naming nothing of the project resolves.

        Every binding is under a module of the project (or ``@state``), so such a value resolves there
        as it will here once every file is in; its answers are kept for the whole scan.
        """
        if self._outside is None:
            self._outside = SymbolTable(self.first_party)
        return self._outside

    # -- reading (after every file is in) ----------------------------------------

    def canonical(self, symbol: str) -> str:
        """Follow pure aliases (imports): ``app.main.engine`` -> ``app.db.engine``."""
        found = self._canonical.get(symbol)
        if found is None:
            found = self._canonical[symbol] = self._follow(symbol)
        return found

    def _follow(self, symbol: str) -> str:
        for _ in range(25):
            target = self._alias(symbol)
            if target is None:
                parts = symbol.split(".")
                for cut in range(len(parts) - 1, 0, -1):  # an imported module: app.main.db.engine
                    base = self._alias(".".join(parts[:cut]))
                    if base is not None:
                        target = ".".join([base, *parts[cut:]])
                        break
            if target is None and symbol not in self.bindings:
                target = self._through_star(symbol)
            if target is None or target == symbol:
                return symbol
            symbol = target
        return symbol

    def _through_star(self, symbol: str) -> str | None:
        """``app.routes.SessionLocal`` -> ``app.db.SessionLocal`` when app.routes did ``from app.db import *``."""
        module, _, name = symbol.rpartition(".")
        for source in self.stars.get(module, ()):
            candidate = f"{source}.{name}"
            if candidate in self.bindings or candidate in self.returns or candidate in self.inferred:
                return candidate
        return None

    def _alias(self, symbol: str) -> str | None:
        values = self.bindings.get(symbol)
        if values and len(values) == 1:
            only = values[0]
            if only.symbol is not None and not only.ops and only.kind is None:
                return only.symbol
        return None

    def kind_of(self, symbol: str, seen: frozenset[str] = frozenset()) -> str | None:
        symbol = self.canonical(symbol)
        if symbol in self._memo:
            return self._memo[symbol]
        if symbol in seen:
            return None
        values = self.bindings.get(symbol)
        if values is None:
            kind = external_kind(symbol)
            if kind is None and self.first_party:
                root = symbol.split(".", 1)[0]
                if root not in self.first_party and root not in EXTERNAL_ROOTS and not root.startswith("@"):
                    kind = FOREIGN  # imported from another library
        else:
            kinds = {self.resolve(v, seen | {symbol}) for v in values if not v.is_none}
            kinds.discard(None)
            kind = kinds.pop() if len(kinds) == 1 else None  # two different kinds: not sure, so nothing
        if not seen:
            self._memo[symbol] = kind
        return kind

    def resolve(self, value: Value, seen: frozenset[str] = frozenset()) -> str | None:
        """The kind ``value`` holds, or ``None`` when that is not known for sure.

        The op ``io`` on a function asks another question: the sync kind it does database work on.
        """
        ops = value.ops
        if ops == ("io",) and value.symbol is not None:
            return self.blocks(value.symbol)
        if value.kind is not None:
            kind: str | None = value.kind
        elif value.symbol is not None:
            symbol = self.canonical(value.symbol)
            if ops and ops[0].startswith("meth:"):
                # `db.make_engine()` (a function of a module) or `engine.connect()` (a method)?
                member = self.canonical(f"{symbol}.{ops[0][5:]}")
                if member in self.returns or member in self.inferred or external_kind(member) is not None:
                    symbol, ops = member, ("call", *ops[1:])
            if ops and ops[0] == "call" and symbol in self.returns and symbol not in seen:
                kind = self.resolve(self.returns[symbol], seen | {symbol})
                ops = ops[1:]
            elif ops and ops[0] == "call" and symbol in self.inferred and symbol not in seen:
                kinds = {self.resolve(v, seen | {symbol}) for v in self.inferred[symbol] if not v.is_none}
                kinds.discard(None)
                kind = kinds.pop() if len(kinds) == 1 else None  # returns of two kinds: not sure
                ops = ops[1:]
            else:
                kind = self.kind_of(symbol, seen)
        else:
            return None
        for op in ops:
            kind = apply(kind, op)
            if kind is None:
                return None
        return kind

    def where(self, symbol: str) -> tuple[str, int] | None:
        """The file and line where a module-level name was first bound."""
        return self.defined_at.get(symbol)
