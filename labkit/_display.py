"""Code and diffs that render with syntax colours in JupyterLab and as plain text elsewhere."""

from __future__ import annotations

import html
from dataclasses import dataclass

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

_STYLE = "default"


def _lexer(filename: str) -> Lexer:
    lexer: Lexer
    if filename.endswith((".diff", ".patch")):
        lexer = DiffLexer()
    else:
        try:
            lexer = get_lexer_for_filename(filename)
        except ClassNotFound:
            lexer = TextLexer()
    return lexer


# A light card of its own under the listing: the light palette stays readable on JupyterLab's
# dark theme, and code stands apart from the prose around it.
_CARD = "background:#f8f8f8;color:#1f2328;padding:6px 8px;border-radius:3px"


@dataclass(frozen=True)
class Code:
    """Source text with a title (and an optional note); ``str()`` is plain text, Jupyter shows colours."""

    title: str
    text: str
    filename: str  # picks the lexer: "x.py", "step.diff", ...
    note: str = ""  # a sentence or a paragraph under the title, such as why a step is needed

    def __str__(self) -> str:
        heading = f"{self.title}. {self.note}" if self.note else self.title
        return f"# {heading}\n{self.text}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        formatter = HtmlFormatter(style=_STYLE, noclasses=True, nowrap=False, prestyles=_CARD)
        body = highlight(self.text, _lexer(self.filename), formatter)
        note = f'<div style="margin:0 0 6px 0">{html.escape(self.note)}</div>' if self.note else ""
        return (
            f'<div style="font-weight:600;margin:4px 0">{html.escape(self.title)}</div>{note}'
            f'<div style="font-size:90%;overflow-x:auto">{body}</div>'
        )


@dataclass(frozen=True)
class Table:
    """Rows with a header: a text table for logs and nbval, an HTML table in Jupyter."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __str__(self) -> str:
        widths = [max(len(str(c)) for c in col) for col in zip(self.header, *self.rows, strict=True)]
        lines = [
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in (self.header, *self.rows)
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(str(c))}</th>" for c in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Tabular:
    """A measurement that shows itself as its :class:`Table`: text for print and nbval, HTML in Jupyter.

    Subclasses define ``table()``. A dataclass subclass needs ``repr=False``, or the ``__repr__`` the
    dataclass writes hides this one.
    """

    def table(self) -> Table:
        raise NotImplementedError(f"{type(self).__name__} must define table()")

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return str(self.table())
