"""``default-secret``: a secret setting with a literal default, or a password setting that is a plain ``str``.

A default written in the code is the value wherever the variable is missing:
the signing key of every deployment that forgot ``SECRET_KEY`` is the one in
the repository (notebook 11). Flagged:

- a field of a pydantic ``BaseSettings`` class whose name says secret, key,
  token or password and whose default is a non-empty string literal
  (``secret_key: str = "dev-secret"``, ``= Field("...")``, ``= Field(default="...")``);
- ``SECRET_KEY = "..."`` or ``os.getenv("SECRET_KEY", "...")`` at module level;
- (a warning) a password or secret field of a settings class typed ``str``:
  it shows in ``repr()``, logs and error pages, where ``SecretStr`` shows ``**********``.

Not flagged: fields without a default, ``SecretStr`` fields without a literal
default, empty defaults, test files, and names like ``token_url`` or
``key_prefix`` that are not secrets.
"""

from __future__ import annotations

import ast
import re

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, environment_default, string
from labkit.doctor.rule import Rule

DEFAULT_SECRET = Rule(
    id="default-secret",
    finds="a secret setting (`secret_key`, `*_password`, `*_token`...) with a literal default, or a password "
    "setting typed `str` instead of `SecretStr`",
    hint="Give secret settings no default (the app refuses to start without them) and type them `SecretStr`; "
    "put development values in a local .env that git ignores.",
    notebooks=("11-config-and-secrets",),
)
DEFAULT_SECRET.needs("secret", "passw", "pwd", "token", "apikey", "_key")  # the secret names _SECRET_NAME matches
_SECRET_NAME = re.compile(
    r"(^|_)(secret|secret_key|password|passwd|pwd|token|api_key|apikey|private_key|signing_key|jwt_key|"
    r"access_key|client_secret|auth_key|encryption_key)$",
    re.I,
)
_PASSWORD_NAME = re.compile(r"(^|_)(password|passwd|pwd|secret|secret_key|client_secret)$", re.I)
_SETTINGS_BASES = frozenset({"BaseSettings"})
_PLACEHOLDER = re.compile(r"^(\*+|x+|<.*>|\$\{?\w+\}?|\.\.\.|none|null|changeme_in_env)$", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _literal_default(value: ast.expr | None, ctx: FileContext) -> str | None:
    """The string a field or variable defaults to, when it is written in the code."""
    if value is None:
        return None
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "Field":
            value = argument(value, 0, "default")
        elif name == "SecretStr":
            value = argument(value, 0, "secret_value")
        else:
            return environment_default(value)
    text = string(value) if isinstance(value, (ast.Constant, ast.JoinedStr)) else None
    if not text or "\x00" in text or _PLACEHOLDER.match(text.strip()) or "://" in text:
        return None  # a URL with a password is hardcoded-db-password's to report
    return text


def _is_settings_class(node: ast.ClassDef, ctx: FileContext) -> bool:
    for base in node.bases:
        symbol = ctx.symbol(base) or ""
        if symbol.rpartition(".")[2] in _SETTINGS_BASES:
            return True
    return False


def _annotation_name(annotation: ast.expr) -> str:
    if isinstance(annotation, ast.Subscript):  # Optional[str], Annotated[str, ...]
        inner = annotation.slice
        annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
    if isinstance(annotation, ast.BinOp):  # str | None
        annotation = annotation.left
    if isinstance(annotation, ast.Attribute):
        return annotation.attr
    return annotation.id if isinstance(annotation, ast.Name) else ""


@DEFAULT_SECRET.on_node(ast.ClassDef)
def settings_fields(node: ast.ClassDef, ctx: FileContext) -> None:
    if ctx.is_test or not node.bases or not _is_settings_class(node, ctx):
        return
    for statement in node.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        name = statement.target.id
        if not is_secret_name(name):
            continue
        default = _literal_default(statement.value, ctx)
        if default is not None:
            ctx.report(
                DEFAULT_SECRET,
                statement,
                f"{node.name}.{name} defaults to a literal: wherever {name.upper()} is not set, the secret "
                "is the one in the repository, the same for everybody",
            )
        elif _PASSWORD_NAME.search(name) and _annotation_name(statement.annotation) == "str":
            ctx.report(
                DEFAULT_SECRET,
                statement,
                f"{node.name}.{name} is a plain str: repr(settings), logs and validation errors show it; "
                "SecretStr shows **********",
                severity="warning",
            )


@DEFAULT_SECRET.on_node(ast.Assign)
def module_secret(node: ast.Assign, ctx: FileContext) -> None:
    """``SECRET_KEY = "..."`` / ``SECRET_KEY = os.getenv("SECRET_KEY", "...")`` where the module is imported."""
    if ctx.function is not None or ctx.scope.kind != "module" or ctx.is_test:
        return
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        return
    name = node.targets[0].id
    if not name.isupper() or not is_secret_name(name):
        return
    default = _literal_default(node.value, ctx)
    if default is not None and default.lower() not in name.lower():  # TOKEN = "token": a key name, not a secret
        how = "defaults to" if isinstance(node.value, ast.Call) else "is"
        ctx.report(
            DEFAULT_SECRET,
            node,
            f"{name} {how} a literal: every copy of the code, and of its history, holds the secret",
        )
