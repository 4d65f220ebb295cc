"""Claims from the source documents, judged by the run that measured them.

A verification cell measures, asserts what it measured, then states which claim of which incident report
that settles::

    assert writes == 2
    labkit.claim("004", "Middleware registered twice runs twice on every request",
                 holds=(writes == 2), evidence="one request made 2 usage writes")

:func:`claim` shows one deterministic line (``text/plain``), a small badge (``text/html``) and
the same facts as JSON (``application/vnd.labkit.claim+json``). nbval compares all three when it
re-runs the notebook, so a committed claim cannot drift from a real run, and
``tools/claims_ledger.py`` builds ``docs/claims.md`` from the text line alone.

The verdict is the measurement itself (``holds=(writes == 1)``), never a constant typed next to
it. Besides ``True`` and ``False`` there are three verdict words for a claim that is not simply
true or false: ``"depends on version"`` (the evidence names the versions), ``"holds in part"`` (true
in some of the settings the claim covers, not in others: the evidence says which) and ``"no
measurable effect"`` (the claimed gain or harm is smaller than what the measurement can tell apart).
A word is chosen by the measurement too (``holds=PARTLY if refused else True``). The asserts before
the call pin the expected value, the asserts before the call pin the expected value, so a library that changes behaviour
fails the cell instead of quietly flipping the ledger. What is shown must be the same on every
run: no timings, ports, pids, paths or version numbers (the ledger takes versions from the lock).
"""

from __future__ import annotations

import functools
import html
import re
import tomllib
from dataclasses import dataclass
from typing import Final, Literal, cast

from labkit._scenario import scenarios_root

REPORTS_FILE = "incident_reports.toml"  # course content, beside the scenarios folder
DEPENDS: Final = "depends on version"
PARTLY: Final = "holds in part"
NO_EFFECT: Final = "no measurable effect"
MIME = "application/vnd.labkit.claim+json"

ClaimVerdict = Literal["holds", "false", "depends on version", "holds in part", "no measurable effect"]
VERDICT_WORDS: Final = (DEPENDS, PARTLY, NO_EFFECT)  # what holds= accepts besides True and False

# How the claim line shows each verdict; the ledger (tools/claims_ledger.py) uses the same words.
_SHOWN = {
    "holds": "HOLDS on today's versions",
    "false": "FALSE on today's versions",
    DEPENDS: "DEPENDS ON VERSION",
    PARTLY: "HOLDS IN PART on today's versions",
    NO_EFFECT: "NO MEASURABLE EFFECT on today's versions",
}
_LINE = re.compile(
    r'^claim \(incident report (?P<report>\d{3})\): "(?P<says>[^"]+)" -> '
    r"(?P<shown>" + "|".join(re.escape(shown) for shown in _SHOWN.values()) + r"): (?P<evidence>.+)$"
)
# What would change from run to run (or be masked by tests/nbval_sanitize.cfg before nbval compares).
_VOLATILE = {
    "a timing": re.compile(r"\d+\.\d+ ?(s|ms|seconds)\b"),
    "a host:port": re.compile(r"\b\d{1,3}(\.\d{1,3}){3}:\d+"),
    "a pid": re.compile(r"\[\d+\]"),
    "a temporary path": re.compile(r"(/tmp|/dev/shm)/"),
    "a version number (the ledger reads versions from the lock)": re.compile(r"\b\d+\.\d+\.\d+\b"),
}
_BADGE = {"holds": "#1a7f37", "false": "#cf222e", DEPENDS: "#9a6700", PARTLY: "#9a6700", NO_EFFECT: "#57606a"}
_HOLDS: dict[str, bool | str] = {"holds": True, "false": False, **{word: word for word in VERDICT_WORDS}}
MAX_SAYS, MAX_EVIDENCE = 120, 240


@functools.cache
def reports() -> dict[str, dict[str, str]]:
    """The incident reports of the course, by number: ``{"000": {"name": ..., "about": ...}}``."""
    return tomllib.loads((scenarios_root().parent / REPORTS_FILE).read_text())


def report_names() -> dict[str, str]:
    """The short name of each incident report, by number (``"000": "fix report"``)."""
    return {number: report["name"] for number, report in reports().items()}


@dataclass(frozen=True)
class Claim:
    """One claim of one incident report and what the run made of it."""

    report: str  # "000" ... "004"
    says: str  # the claim, short, in the report's sense (quoted in the line)
    verdict: ClaimVerdict
    evidence: str  # what was measured, one line

    def text(self) -> str:
        """The line nbval compares and the ledger parses."""
        return f'claim (incident report {self.report}): "{self.says}" -> {_SHOWN[self.verdict]}: {self.evidence}'

    def html(self) -> str:
        badge = _SHOWN[self.verdict].split(" on ")[0]
        return (
            f'<div style="margin:4px 0" title="every claim and its verdict: docs/claims.md">'
            f'<span style="background:{_BADGE[self.verdict]};color:#fff;border-radius:3px;padding:1px 6px;'
            f'font-weight:600">{html.escape(badge)}</span> '
            f"the {report_names()[self.report]} (incident report {self.report}) says: "
            f"&ldquo;{html.escape(self.says)}&rdquo;. Measured: {html.escape(self.evidence)}</div>"
        )

    def as_json(self) -> dict[str, str]:
        return {"report": self.report, "says": self.says, "verdict": self.verdict, "evidence": self.evidence}

    def bundle(self) -> dict[str, object]:
        """The display data: the text line, the badge, and the JSON form."""
        return {"text/plain": self.text(), "text/html": self.html(), MIME: self.as_json()}

    def __str__(self) -> str:
        return self.text()


def make_claim(report: str, says: str, *, holds: bool | str, evidence: str) -> Claim:
    """A checked :class:`Claim`; raises ``TypeError``/``ValueError`` on anything the ledger cannot use."""
    if type(holds) is bool:  # not 0/1, not numpy.bool_: a measured comparison gives a bool
        verdict: ClaimVerdict = "holds" if holds else "false"
    elif isinstance(holds, str) and holds in VERDICT_WORDS:
        verdict = cast(ClaimVerdict, holds)  # one of the Literal's words, checked just above
    else:
        words = ", ".join(repr(word) for word in VERDICT_WORDS)
        raise TypeError(f"holds must be True, False or one of {words}, not {holds!r}")
    if report not in report_names():
        raise ValueError(f"report must be one of {', '.join(report_names())}, not {report!r}")
    for name, value, limit in (("says", says, MAX_SAYS), ("evidence", evidence, MAX_EVIDENCE)):
        if not isinstance(value, str) or not value.strip() or value != value.strip() or "\n" in value:
            raise ValueError(f"{name} must be one non-empty line without surrounding spaces: {value!r}")
        if len(value) > limit:
            raise ValueError(f"{name} is {len(value)} characters; keep it under {limit}: {value!r}")
        for what, pattern in _VOLATILE.items():
            if pattern.search(value):
                raise ValueError(f"{name} contains {what}, which is not the same on every run: {value!r}")
    if '"' in says:
        raise ValueError(f"says is shown in double quotes; use `backticks` or 'single quotes' inside: {says!r}")
    if verdict == DEPENDS and not re.search(r"\d+\.\d+", evidence):
        raise ValueError(f"a claim that depends on the version must say which versions: {evidence!r}")
    return Claim(report, says, verdict, evidence)


def claim(report: str, says: str, *, holds: bool | str, evidence: str) -> None:
    """Show the verdict on one claim of an incident report, right after the asserts that measured it.

    ``holds`` is the measured outcome: ``True`` (the claim holds on today's versions), ``False``
    (it does not), ``"depends on version"`` (with the versions named in ``evidence``), ``"holds in
    part"`` (in some of the claim's settings; ``evidence`` says which) or ``"no measurable effect"``
    (the claimed effect is within what the measurement cannot tell apart). Returns
    nothing, so that a call on a cell's last line shows the claim once.
    """
    checked = make_claim(report, says, holds=holds, evidence=evidence)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(checked.bundle(), raw=True)
    else:
        print(checked.text())


def parse(line: str) -> Claim | None:
    """The claim a displayed line states, or ``None`` for any other line."""
    match = _LINE.match(line)
    if match is None:
        return None
    verdict = next(v for v, shown in _SHOWN.items() if shown == match["shown"])
    return make_claim(match["report"], match["says"], holds=_HOLDS[verdict], evidence=match["evidence"])
