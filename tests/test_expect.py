"""labkit.expect: a notebook's self-check, strict when nobody watches, one calm line when a learner does.

Through a real kernel (JupyterLab's allow_stdin against nbval's) in tests/test_status_line.py.
"""

from __future__ import annotations

import pytest

import labkit

pytestmark = pytest.mark.unit


def test_expect_is_strict_unattended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    labkit.expect(2 == 2, "two is two")
    with pytest.raises(AssertionError, match=r"expects that one request makes two writes.*measured: 3"):
        labkit.expect(3 == 2, "one request makes two writes", measured=3)


def test_expect_is_calm_when_told_a_learner_watches(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABKIT_STRICT", "0")
    labkit.expect(3 == 2, "one request makes two writes", measured=3)
    out = capsys.readouterr().out
    assert out.startswith("ℹ This machine did not show what the text expects: one request makes two writes")
    assert "(measured: 3)" in out and "carry on" in out
