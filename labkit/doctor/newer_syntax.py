"""Read code written for a newer Python than the one running the doctor.

The doctor parses with the running interpreter's :mod:`ast`. When a file does
not parse, it may still be valid Python 3.12-3.14; rather than calling that a
syntax error, the text is rewritten into the oldest grammar the doctor runs on
(3.11) with the same meaning for the rules and the same line numbers, and
parsed again:

- PEP 695 type parameters (``def f[T](x)``, ``class Box[T]:``) are blanked
  with spaces; ``type Alias[T] = ...`` becomes ``Alias = ...``;
- PEP 701 f-strings (the same quotes nested, backslashes or comments in a
  replacement field, a single-quoted f-string over several lines) keep their
  literal text; a replacement field 3.11 cannot read becomes ``{_}``, which is
  what the rules care about (an interpolated value), and a line continuation
  keeps the lines that follow in place;
- PEP 750 template strings (``t"..."``) are read as f-strings;
- PEP 758 ``except A, B:`` gets its parentheses.

Only a file that failed to parse is rewritten, so valid 3.11 code never pays
for this. A file that still does not parse is a real syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PREFIX = re.compile(r"(?i)(?:rb|br|fr|rf|tr|rt|[rbuft])?$")
_IDENT = re.compile(r"[A-Za-z_0-9]")
_NAME = re.compile(r"[A-Za-z_]\w*")
PLACEHOLDER = "_"


@dataclass
class _Span:
    start: int
    end: int
    replacement: str | None = None  # None: keep the text as it is


class _Scanner:
    """Finds strings and comments (with the extent of each f-string's replacement fields) in one pass."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[_Span] = []  # strings and comments, in order

    def run(self) -> None:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            char = text[i]
            if char == "#":
                end = text.find("\n", i)
                end = n if end == -1 else end
                self.spans.append(_Span(i, end))
                i = end
            elif char in "\"'":
                start = self._prefix_start(i)
                end, replacement = self._string(start, i)
                self.spans.append(_Span(start, end, replacement))
                i = end
            else:
                i += 1

    def _prefix_start(self, quote: int) -> int:
        """Where the string that opens at ``quote`` starts, its prefix (``rb``, ``f``, ``t``...) included."""
        start = quote
        while start > 0 and _IDENT.match(self.text[start - 1]) and quote - start < 2:
            start -= 1
        while start < quote and (
            not _PREFIX.match(self.text[start:quote]) or (start > 0 and _IDENT.match(self.text[start - 1]))
        ):
            start += 1
        return start

    def _string(self, start: int, quote_at: int) -> tuple[int, str | None]:
        """The end of the string at ``start`` and, for an f/t-string 3.11 cannot read, its rewrite."""
        text = self.text
        prefix = text[start:quote_at].lower()
        quote = text[quote_at] * 3 if text.startswith(text[quote_at] * 3, quote_at) else text[quote_at]
        body = quote_at + len(quote)
        if "f" not in prefix and "t" not in prefix:
            return self._plain_end(body, quote, raw="r" in prefix), None
        end, parts, needs = self._formatted(body, quote, raw="r" in prefix)
        if "t" in prefix:
            needs = True
        if not needs:
            return end, None
        new_prefix = text[start:quote_at].replace("t", "f").replace("T", "F")
        inner = "".join(parts)
        lost_lines = text.count("\n", start, end) - inner.count("\n")
        return end, new_prefix + quote + inner + quote + "\\\n" * lost_lines

    def _plain_end(self, i: int, quote: str, raw: bool) -> int:
        text, n = self.text, len(self.text)
        while i < n:
            if text[i] == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                return i + len(quote)
            if text[i] == "\n" and len(quote) == 1:
                return i  # an unterminated string: let the parser say so
            i += 1
        return n

    def _formatted(self, i: int, quote: str, raw: bool) -> tuple[int, list[str], bool]:
        """Scan an f-string body from ``i``: its end, its text with unreadable fields replaced, whether any were."""
        text, n = self.text, len(self.text)
        parts: list[str] = []
        needs = False
        literal_start = i
        while i < n:
            char = text[i]
            if char == "\\" and not raw:
                i += 2
                continue
            if text.startswith(quote, i):
                parts.append(text[literal_start:i])
                return i + len(quote), parts, needs
            if char == "\n" and len(quote) == 1:
                parts.append(text[literal_start:i])
                return i, parts, needs
            if char in "{}" and text.startswith(char * 2, i):
                i += 2
                continue
            if char == "{":
                parts.append(text[literal_start:i])
                field_end, readable = self._field(i + 1, quote)
                field = text[i:field_end]
                if readable:
                    parts.append(field)
                else:
                    parts.append("{" + PLACEHOLDER + "}")
                    needs = True
                i = literal_start = field_end
                continue
            i += 1
        parts.append(text[literal_start:n])
        return n, parts, needs

    def _field(self, i: int, quote: str) -> tuple[int, bool]:
        """A replacement field from just after its ``{``: where it ends (after ``}``), and whether 3.11 reads it."""
        text, n = self.text, len(self.text)
        start, depth = i, 0
        readable = True
        while i < n:
            char = text[i]
            if char in "\"'":
                string_start = self._prefix_start(i)
                end, rewrite = self._string(string_start, i)
                if rewrite is not None or quote[0] in text[i:end]:
                    readable = False
                i = end
                continue
            if char == "#" or char == "\\" or (char == "\n" and len(quote) == 1):
                readable = False
            elif char in "([{":
                depth += 1
            elif char in ")]":
                depth -= 1
            elif char == "}":
                if depth == 0:
                    return i + 1, readable and start < i and _readable_expression(text[start:i])
                depth -= 1
            elif char == ":" and depth == 0 and not text.startswith(":=", i):
                # the format spec: literal text with fields of its own, up to this field's closing brace
                end, _, spec_needs = self._formatted_spec(i + 1, quote)
                return end, readable and not spec_needs and _readable_expression(text[start:i])
            i += 1
        return n, False

    def _formatted_spec(self, i: int, quote: str) -> tuple[int, None, bool]:
        text, n = self.text, len(self.text)
        needs = False
        while i < n:
            char = text[i]
            if char == "{":
                i, readable = self._field(i + 1, quote)
                needs = needs or not readable
                continue
            if char == "}":
                return i + 1, None, needs
            if text.startswith(quote, i) or (char == "\n" and len(quote) == 1):
                return i, None, True
            i += 1
        return n, None, True


def _readable_expression(expression: str) -> bool:
    """3.11 refuses a backslash or a ``#`` anywhere in a replacement field's expression, nested strings included."""
    return "\\" not in expression and "#" not in expression


def _masked(text: str, spans: list[_Span]) -> str:
    """The text with every string and comment blanked (newlines kept), so the patterns below see only code."""
    pieces, position = [], 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(re.sub(r"[^\n]", " ", text[span.start : span.end]))
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def _matching(masked: str, open_at: int) -> int:
    """The index just after the bracket that closes the one at ``open_at`` (-1 when none does)."""
    depth = 0
    for i in range(open_at, len(masked)):
        char = masked[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


_TYPE_PARAMS = re.compile(r"\b(?:def|class)[ \t]+[A-Za-z_]\w*[ \t]*(?=\[)")
_TYPE_ALIAS = re.compile(r"(?m)^([ \t]*|.*;[ \t]*)type[ \t]+([A-Za-z_]\w*)[ \t]*(?=[\[=])")
_EXCEPT = re.compile(r"\bexcept\b[ \t]*(\*?)[ \t]*")


def _edits(masked: str) -> list[tuple[int, int, str]]:
    """(start, end, new text) for the statements 3.11 cannot read, found on the masked text."""
    edits: list[tuple[int, int, str]] = []
    for match in _TYPE_PARAMS.finditer(masked):
        end = _matching(masked, match.end())
        if end != -1:
            edits.append((match.end(), end, re.sub(r"[^\n]", " ", masked[match.end() : end])))
    for match in _TYPE_ALIAS.finditer(masked):
        keyword_start = match.end(1)
        after = match.end()
        if masked[after] == "[":
            after = _matching(masked, after)
            if after == -1:
                continue
        name = match.group(2)
        span = masked[keyword_start:after]
        if "\n" in span:
            continue
        edits.append((keyword_start, after, name.ljust(len(span))))
    for match in _EXCEPT.finditer(masked):
        start = match.end()
        depth, i = 0, start
        top_level_comma = False
        while i < len(masked):
            char = masked[i]
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == "," and depth == 0:
                top_level_comma = True
            elif (char == ":" and depth == 0) or (char == "\n" and depth == 0 and masked[i - 1 : i] != "\\"):
                break
            i += 1
        if top_level_comma and i < len(masked) and masked[i] == ":":
            kinds = masked[start:i].rstrip()
            edits.append((start, start + len(kinds), "(" + kinds + ")"))
    return edits


def downgrade(text: str) -> str | None:
    """``text`` rewritten into Python 3.11's grammar, or None when nothing newer was found to rewrite."""
    scanner = _Scanner(text)
    scanner.run()
    edits = [(s.start, s.end, s.replacement) for s in scanner.spans if s.replacement is not None]
    edits += _edits(_masked(text, scanner.spans))
    if not edits:
        return None
    edits.sort()
    pieces, position = [], 0
    for start, end, new in edits:
        if start < position:
            continue  # inside a span already rewritten
        pieces.append(text[position:start])
        pieces.append(new)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
