"""The README states what the code does: its rules table and its commands."""

import re
import subprocess
import sys

import pytest

from support import ROOT

pytestmark = pytest.mark.unit

README = (ROOT / "README.md").read_text()


def test_rules_table_matches_the_doctor() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "labkit", "doctor", "--list-rules"], capture_output=True, text=True, check=True
    ).stdout.strip()
    block = re.search(r"<!-- rules table.*?-->\n(.*?)\n<!-- end of rules table -->", README, re.S)
    assert block is not None and block.group(1).strip() == listed


def test_two_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "make lab" in README and "make test" in README
    assert re.search(r"^lab: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M)


def test_every_notebook_is_in_the_readme() -> None:
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        assert f"`{notebook.stem}`" in README, f"{notebook.name} is missing from the README's notebook table"
