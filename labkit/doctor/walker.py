"""One walk over one file's tree, handing each node to the rules that asked for its type.

The walk is where Python's execution model lives, so the rules do not each
re-derive it:

- scopes: a function body runs when called, not at import; decorators, default
  values and annotations run in the enclosing scope; a class body runs at import;
- ``if __name__ == "__main__":`` bodies run only when the file is the program;
- branches: the two arms of an ``if`` (or the body and the handlers of a
  ``try``, or the cases of a ``match``) never both run, which
  ``duplicate-middleware`` needs to know;
- names: imports, assignments (with their literal values), parameters with
  their annotations, ``with ... as`` targets, ``global`` declarations.

Rules run in pre-order (a node before its children), then a statement's
bindings are recorded after its children, as Python evaluates the right side
before binding the left.

Speed: one walk per file, hooks dispatched by node type (calls by callee
name), leaves nobody asked about never visited, and the body of a function
or class that has none of the words the selected rules react to (see
:class:`labkit.doctor.loudness.Loudness`) not walked at all; a file with none
of them, importing nothing of the project, is not walked either (see
:mod:`labkit.doctor.prefilter`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.doctor.context import FileContext, Scope
from labkit.doctor.literals import integer, string
from labkit.doctor.values import UNKNOWN, Value

Hook = Callable[[Any, FileContext], None]
ROUTE_METHODS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "trace",
        "api_route",
        "route",
        "websocket",
        "websocket_route",
    }
)
_SKIPPED_FIELDS = frozenset({"ctx", "type_comment"})
_LEAVES = frozenset(
    {
        ast.Name,
        ast.Constant,
        ast.Pass,
        ast.Break,
        ast.Continue,
        ast.Load,
        ast.Store,
        ast.Del,
        *ast.operator.__subclasses__(),
        *ast.cmpop.__subclasses__(),
        *ast.unaryop.__subclasses__(),
        *ast.boolop.__subclasses__(),
    }
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS)  # type: ignore[attr-defined]
    return fields


def is_main_guard(test: ast.expr) -> int:
    """1 for ``__name__ == "__main__"``, -1 for ``!=`` (the else arm is the guarded one), 0 otherwise."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and len(test.comparators) == 1):
        return 0
    sides = (test.left, test.comparators[0])
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    if not (names and mains):
        return 0
    if isinstance(test.ops[0], ast.Eq):
        return 1
    return -1 if isinstance(test.ops[0], ast.NotEq) else 0


def is_route_decorator(decorator: ast.expr) -> bool:
    """``@app.get("/x")``, ``@router.post(path="/y")``, ``@app.api_route("/z", ...)``."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return False
    if decorator.func.attr not in ROUTE_METHODS:
        return False
    if decorator.args:
        first = decorator.args[0]
        return isinstance(first, (ast.Constant, ast.JoinedStr)) and (
            not isinstance(first, ast.Constant) or isinstance(first.value, str)
        )
    return any(kw.arg == "path" for kw in decorator.keywords)


def is_middleware_decorator(decorator: ast.expr) -> bool:
    """``@app.middleware("http")``: a function that runs on every request, like a route."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "middleware"
        and bool(decorator.args)
        and isinstance(decorator.args[0], ast.Constant)
        and decorator.args[0].value == "http"
    )


def is_dispatch_method(node: ast.FunctionDef | ast.AsyncFunctionDef, enclosing: str) -> bool:
    """``async def dispatch(self, request, call_next)`` of a ``BaseHTTPMiddleware``: runs on every request."""
    names = [a.arg for a in node.args.args]
    return (
        isinstance(node, ast.AsyncFunctionDef)
        and enclosing == "class"
        and node.name == "dispatch"
        and len(names) == 3
        and names[2] == "call_next"
    )


_DECLARATIONS = (ast.AnnAssign, ast.Assign, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


_PRODUCERS = frozenset({"Iterator", "AsyncIterator", "Generator", "AsyncGenerator", "Iterable", "AsyncIterable"})


def _produced(annotation: ast.expr) -> ast.expr:
    """``Iterator[Session]`` -> ``Session``: what a generator dependency hands out (else the annotation itself)."""
    if isinstance(annotation, ast.Subscript):
        base = annotation.value
        name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
        if name in _PRODUCERS:
            inner = annotation.slice
            return inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
    return annotation


def _depends_in(annotation: ast.expr) -> ast.expr | None:
    """The ``Depends(...)`` inside ``Annotated[X, Depends(f)]``, if any."""
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
        for item in annotation.slice.elts[1:]:
            if isinstance(item, ast.Call):
                return item
    return None


class Walker:
    """Walks trees for a fixed set of rule hooks (built once per scan, reused for every file).

    ``hooks``: node type -> functions called with each such node. ``calls``:
    callee name (the last part: ``create_engine`` for ``sa.create_engine``, the
    imported name for an alias) -> functions called with each such call; under
    ``None``, functions called with every call. Dispatching calls by name keeps
    a rule that cares about ``add_middleware`` from looking at every call.
    """

    def __init__(
        self, hooks: Mapping[type, Sequence[Hook]], calls: Mapping[str | None, Sequence[Hook]] | None = None
    ) -> None:
        self.hooks = {cls: tuple(fns) for cls, fns in hooks.items() if fns and cls is not ast.Call}
        calls = dict(calls or {})
        self.call_any = tuple(hooks.get(ast.Call, ())) + tuple(calls.pop(None, ()))
        self.call_at_import = tuple(calls.pop("@import", ()))  # every call that runs at import time
        self.call_in_async_route = tuple(calls.pop("@async-route", ()))  # every call in an async def route
        self.call_named = {name: tuple(fns) for name, fns in calls.items() if fns}
        self.ctx: FileContext | None = None
        structural: dict[type, Callable[[Any], None]] = {
            ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function,
            ast.Lambda: self._lambda,
            ast.ClassDef: self._class,
            ast.If: self._if,
            ast.Try: self._try,
            ast.TryStar: self._try,
            ast.Match: self._match,
            ast.Assign: self._assign,
            ast.AnnAssign: self._annassign,
            ast.NamedExpr: self._namedexpr,
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.Import: self._import,
            ast.ImportFrom: self._import_from,
            ast.Global: self._global,
            ast.Nonlocal: self._global,
            ast.Call: self._call,
            ast.Return: self._returned,
            ast.Yield: self._returned,
        }
        self._structural = structural
        self._dispatch: dict[type, Callable[[Any], None]] = {}
        # Leaves nobody asked about, and plain values: not worth a call each.
        self._skip: frozenset[type] = frozenset(
            {str, int, float, complex, bytes, bool, type(None), type(...)}
            | {cls for cls in _LEAVES if cls not in self.hooks and cls not in structural}
        )

    def run(self, tree: ast.Module, ctx: FileContext) -> None:
        self.ctx = ctx
        try:
            self._visit_all(tree.body)
        finally:
            self.ctx = None

    # -- the generic walk ---------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        handler = self._dispatch.get(node.__class__)
        if handler is None:
            handler = self._handler(node.__class__)
        handler(node)

    def _handler(self, cls: type) -> Callable[[Any], None]:
        """What visiting a node of this class does: the rules' hooks, then the structure or the children."""
        hooks = self.hooks.get(cls, ())
        then = self._structural.get(cls, self._children)
        if not hooks:
            handler = then
        else:

            def handler(node: ast.AST) -> None:
                ctx = self._ctx
                for hook in hooks:
                    hook(node, ctx)
                then(node)

        self._dispatch[cls] = handler
        return handler

    def _children(self, node: ast.AST) -> None:
        skip, visit = self._skip, self.visit
        for name in _FIELDS.get(node.__class__) or _fields(node.__class__):
            value: Any = getattr(node, name, None)  # None and plain values are in `skip`
            if value.__class__ is list:
                for item in value:
                    if item.__class__ not in skip:
                        visit(item)
            elif value.__class__ not in skip:
                visit(value)

    def _call(self, node: ast.Call) -> None:
        ctx = self._ctx
        for hook in self.call_any:
            hook(node, ctx)
        if self.call_at_import and not ctx.functions and ctx.main_guard == 0:
            for hook in self.call_at_import:
                hook(node, ctx)
        elif self.call_in_async_route and ctx.in_async_route:
            for hook in self.call_in_async_route:
                hook(node, ctx)
        func = node.func
        if isinstance(func, ast.Attribute):
            name: str | None = func.attr
        elif isinstance(func, ast.Name):
            name = ctx.renamed.get(func.id, func.id)
        else:
            name = None
        if name is not None:
            hooks = self.call_named.get(name)
            if hooks is not None:
                for hook in hooks:
                    hook(node, ctx)
        self._children(node)

    def _visit_all(self, nodes: Sequence[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def _arm(self, owner: ast.AST, arm: int, body: Sequence[ast.AST], guard: int = 0) -> None:
        """Walk ``body`` as arm ``arm`` of the branching statement ``owner``."""
        ctx = self._ctx
        saved = ctx.branch
        ctx.branch = (*saved, (id(owner), arm))
        ctx.main_guard += guard
        try:
            self._visit_all(body)
        finally:
            ctx.branch = saved
            ctx.main_guard -= guard

    @property
    def _ctx(self) -> FileContext:
        assert self.ctx is not None
        return self.ctx

    # -- scopes --------------------------------------------------------------------

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        ctx = self._ctx
        self._visit_all(node.decorator_list)
        self._outer_arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        scope = Scope(
            "function",
            node,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            is_route=ctx.asgi_routes
            and (
                any(is_route_decorator(d) or is_middleware_decorator(d) for d in node.decorator_list)
                or is_dispatch_method(node, ctx.scope.kind)
            ),
        )
        if ctx.scope.kind == "module":
            declared = ctx.type_value(_produced(node.returns)).then("instance") if node.returns else UNKNOWN
            if declared is not UNKNOWN:
                ctx.symbols.declare_return(f"{ctx.module}.{node.name}", declared)
            else:  # no annotation, or one naming nothing known: what the body returns may say more
                scope.returns_into = f"{ctx.module}.{node.name}"
        constructor = node.name == "__init__" and ctx.scope.kind == "class"  # self.db = db: methods read it back
        if not (scope.is_async and scope.is_route) and not constructor and ctx.quiet(node):
            ctx.bind(node.name, UNKNOWN, node)  # nothing in the body can matter to any rule: not walked
            return
        self._bind_parameters(node.args, scope, annotated=True)
        ctx.push(scope)
        try:
            self._visit_all(node.body)
        finally:
            ctx.pop()
        ctx.bind(node.name, UNKNOWN, node)

    def _lambda(self, node: ast.Lambda) -> None:
        ctx = self._ctx
        self._outer_arguments(node.args)
        scope = Scope("function", node)
        self._bind_parameters(node.args, scope, annotated=False)
        ctx.push(scope)
        try:
            self.visit(node.body)
        finally:
            ctx.pop()

    def _class(self, node: ast.ClassDef) -> None:
        ctx = self._ctx
        self._visit_all(node.decorator_list)
        self._visit_all(node.bases)
        self._visit_all([kw.value for kw in node.keywords])
        if ctx.quiet(node) and all(isinstance(item, _DECLARATIONS) or _is_docstring(item) for item in node.body):
            # models, schemas, services: fields no rule reacts to (a statement that does something is walked);
            # the hooks on its methods still see them, as hooks on a function see it before its body
            self._method_hooks(node)
            ctx.bind(node.name, UNKNOWN, node)
            return
        ctx.push(Scope("class", node))
        try:
            self._visit_all(node.body)
        finally:
            ctx.pop()
        ctx.bind(node.name, UNKNOWN, node)

    def _method_hooks(self, node: ast.ClassDef) -> None:
        """The rules' hooks on each method of a class whose body is not walked."""
        ctx = self._ctx
        methods = [item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if not methods or not (self.hooks.get(ast.FunctionDef) or self.hooks.get(ast.AsyncFunctionDef)):
            return
        ctx.push(Scope("class", node))
        try:
            for method in methods:
                for hook in self.hooks.get(method.__class__, ()):
                    hook(method, ctx)
        finally:
            ctx.pop()

    def _outer_arguments(self, args: ast.arguments) -> None:
        """Defaults and annotations run where the function is defined, not where it runs."""
        self._visit_all(args.defaults)
        self._visit_all(args.kw_defaults)
        for arg in (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def _bind_parameters(self, args: ast.arguments, scope: Scope, annotated: bool) -> None:
        ctx = self._ctx
        positional = (*args.posonlyargs, *args.args)
        defaults: dict[str, ast.expr] = dict(
            zip((a.arg for a in positional[len(positional) - len(args.defaults) :]), args.defaults, strict=False)
        )
        defaults.update((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=False) if d is not None)
        for arg in (*positional, args.vararg, *args.kwonlyargs, args.kwarg):
            if arg is None:
                continue
            value = UNKNOWN
            if annotated and arg.annotation is not None:
                value = ctx.type_value(arg.annotation).then("instance")
                if value is UNKNOWN:  # `db: Annotated[Any, Depends(get_db)]`: what the dependency gives
                    value = self._dependency(_depends_in(arg.annotation))
            if value is UNKNOWN and annotated:
                value = self._dependency(defaults.get(arg.arg))  # `db=Depends(get_db)`
            scope.names[arg.arg] = value

    def _dependency(self, node: ast.expr | None) -> Value:
        """What ``Depends(f)`` hands a parameter: what ``f`` returns, or yields (decided once every file is read)."""
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.func, (ast.Name, ast.Attribute))):
            return UNKNOWN
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if name != "Depends":
            return UNKNOWN
        provider = node.args[0]
        if not isinstance(provider, (ast.Name, ast.Attribute)):
            return UNKNOWN
        return self._ctx.value(provider).then("call")

    def _returned(self, node: ast.Return | ast.Yield) -> None:
        """``return x`` / ``yield x`` in a module-level function: what calling it (or Depends on it) gives."""
        if node.value is None:
            return
        self.visit(node.value)
        target = self._ctx.scope.returns_into
        if target is not None:
            value = self._ctx.value(node.value)
            if value is not UNKNOWN:
                self._ctx.symbols.infer_return(target, value)

    # -- branches ------------------------------------------------------------------

    def _if(self, node: ast.If) -> None:
        self.visit(node.test)
        guard = is_main_guard(node.test)
        self._arm(node, 0, node.body, 1 if guard == 1 else 0)
        self._arm(node, 1, node.orelse, 1 if guard == -1 else 0)

    def _try(self, node: ast.Try) -> None:
        ctx = self._ctx
        self._arm(node, 0, node.body)
        for number, handler in enumerate(node.handlers, start=1):
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                ctx.bind(handler.name, UNKNOWN, handler)
            self._arm(node, number, handler.body)
        self._arm(node, 0, node.orelse)  # runs only when the body did
        self._visit_all(node.finalbody)

    def _match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        for number, case in enumerate(node.cases):
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            self._arm(node, number, case.body)

    # -- bindings ------------------------------------------------------------------

    def _assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        self._visit_all(node.targets)
        value = self._ctx.value(node.value)
        literal = self._literal(node.value)
        for target in node.targets:
            self._bind_target(target, value, literal, node)

    def _annassign(self, node: ast.AnnAssign) -> None:
        ctx = self._ctx
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)
        value = ctx.value(node.value) if node.value is not None else UNKNOWN
        if value.kind is None and value.symbol is None:  # nothing (or None) assigned: the annotation says it
            value = ctx.type_value(node.annotation).then("instance")
        self._bind_target(node.target, value, self._literal(node.value), node)

    def _namedexpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind_target(node.target, self._ctx.value(node.value), self._literal(node.value), node)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        ctx = self._ctx
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
                # `with Session(engine) as session`: what is entered stands for what is bound
                self._bind_target(item.optional_vars, ctx.value(item.context_expr), None, node)
        self._visit_all(node.body)

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        self._bind_target(node.target, UNKNOWN, None, node)
        self._visit_all(node.body)
        self._visit_all(node.orelse)

    def _bind_target(self, target: ast.AST, value: Value, literal: object | None, node: ast.AST) -> None:
        ctx = self._ctx
        if isinstance(target, ast.Name):
            ctx.bind(target.id, value, node, literal)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element.value if isinstance(element, ast.Starred) else element, UNKNOWN, None, node)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "state"
        ):
            ctx.symbols.bind(f"@state.{target.attr}", value)  # app.state.engine = ... (in a lifespan)
        elif isinstance(target, ast.Attribute):
            attribute = ctx.self_attribute(target)  # self.db = db (in __init__), read back by the methods
            if attribute is not None:
                ctx.symbols.bind(attribute, value)

    def _literal(self, node: ast.AST | None) -> object | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, (str, int)) and not isinstance(node.value, bool) else None
        if isinstance(node, ast.JoinedStr):
            return string(node)
        if isinstance(node, (ast.UnaryOp, ast.Call)):
            return integer(node)
        return None

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._alias(alias.asname, alias.name, node)
            else:
                root = alias.name.split(".", 1)[0]
                self._alias(root, root, node)

    def _import_from(self, node: ast.ImportFrom) -> None:
        ctx = self._ctx
        base = node.module or ""
        if node.level:
            package = ctx.module.split(".") if ctx.is_package else ctx.module.split(".")[:-1]
            if node.level > 1:
                package = package[: len(package) - (node.level - 1)]
            base = ".".join(part for part in (*package, node.module or "") if part)
        for alias in node.names:
            if alias.name == "*":
                ctx.star_modules.append(base)
                ctx.imported.add(base)
                if ctx.scope.kind == "module":
                    ctx.symbols.star_import(ctx.module, base)
                continue
            self._alias(alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name, node)

    def _alias(self, name: str, target: str, node: ast.AST) -> None:
        ctx = self._ctx
        ctx.imported.add(target)
        scope = ctx.scope
        if scope.kind == "module":
            symbol = f"{ctx.module}.{name}"
            if symbol != target:
                ctx.symbols.bind(symbol, Value(symbol=target))
        scope.names.pop(name, None)
        scope.consts.pop(name, None)
        scope.aliases[name] = target
        original = target.rpartition(".")[2]
        if original != name:
            ctx.renamed[name] = original

    def _global(self, node: ast.Global | ast.Nonlocal) -> None:
        if isinstance(node, ast.Global):
            self._ctx.scope.declared_global.update(node.names)
