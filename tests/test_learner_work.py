"""The learner's work is data: never moved by labkit, judged requirement by requirement, hinted, saved."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

import labkit
from labkit import Lab, LabkitError
from labkit._cli import main

pytestmark = pytest.mark.integration  # judging runs the work dir's code in child processes

FIXTURES = Path(__file__).parent / "fixtures"
FIXED = 'GREETING = "hello"\nFAREWELL = "goodbye"\n'
CORE_ONLY = 'GREETING = "hello"\nFAREWELL = "broken"\n'


@pytest.fixture(autouse=True)
def fixture_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))


@pytest.fixture
def work_root(tmp_path: Path) -> Path:
    return tmp_path / "work"


def learner(work_root: Path, name: str = "two-steps") -> Lab:
    return Lab(name, workdir=work_root / name)


def words(lab: Lab) -> Path:
    return lab.workdir / "app" / "words.py"


def status(work_root: Path, name: str = "two-steps") -> str:
    rows = {row[0]: row[1] for row in labkit.progress(work_root).rows}
    return rows[name]


# -- the learner's copy is theirs ----------------------------------------------------------------


def test_opening_the_lab_again_never_touches_the_learners_copy(work_root: Path) -> None:
    words(learner(work_root)).write_text(FIXED)
    again = learner(work_root)  # the setup cell re-run, or a new kernel
    assert words(again).read_text() == FIXED


def test_the_reference_walk_through_has_its_own_copy(work_root: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(FIXED)
    ref = lab.reference()
    ref.solve()
    ref.reset()  # the walk-through may reset its own copy freely
    ref.apply(1)
    assert ref.workdir == work_root / "two-steps.reference"
    assert words(lab).read_text() == FIXED
    assert lab.reference().applied == []  # each call starts the walk-through afresh


def test_reset_refuses_edits_no_check_has_judged(work_root: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(CORE_ONLY)
    with pytest.raises(LabkitError, match="no check has judged"):
        lab.reset()
    assert words(lab).read_text() == CORE_ONLY


def test_reset_keeps_every_earlier_state_and_says_where(work_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = learner(work_root)
    words(lab).write_text(CORE_ONLY)
    lab.check()
    lab.reset()
    first = capsys.readouterr().out
    words(lab).write_text(FIXED)
    lab.reset(force=True)
    kept = sorted((work_root / ".history" / "two-steps").iterdir())
    assert [words_in.joinpath("app", "words.py").read_text() for words_in in kept] == [CORE_ONLY, FIXED]
    assert "kept in work/.history/two-steps/" in first
    assert "broken" in words(lab).read_text()


def test_a_reset_of_an_untouched_copy_needs_no_check(work_root: Path) -> None:
    lab = learner(work_root)
    lab.apply(1)  # labkit's own write is not an unjudged edit
    lab.reset()
    assert lab.applied == []


# -- a check that lists every requirement ----------------------------------------------------------


def test_the_check_judges_every_requirement_and_counts(work_root: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(CORE_ONLY)
    checklist = lab.check()
    assert [o.passed for o in checklist.outcomes] == [True, False]
    assert not checklist and checklist.core_done and not checklist.all_done
    text = str(checklist)
    assert text.splitlines()[0] == "work/two-steps: 1 of 2 pass: core done, stretch open"
    assert "✓ 1. GREETING says hello [core, app/words.py]" in text
    assert "✗ 2. FAREWELL says goodbye [stretch, app/words.py]" in text
    assert "FAREWELL is 'broken'" in text and "hint: And last? (more: lab.hint(2))" in text
    html = checklist._repr_html_()
    assert "✗" in html and "background:#f8f8f8" in html and "lab.hint(2)" in html


def test_one_requirement_can_be_judged_alone(work_root: Path) -> None:
    lab = learner(work_root)
    checklist = lab.check(2)
    assert [o.number for o in checklist.outcomes] == [2]
    assert str(checklist).splitlines()[0] == "work/two-steps: 0 of 1 pass (judged 1 of 2)"
    with pytest.raises(LabkitError, match="numbered 1 to 2"):
        lab.check(3)


def test_every_way_a_requirement_can_go_wrong_is_a_cross_not_a_traceback(work_root: Path) -> None:
    lab = learner(work_root, "misbehaving")
    checklist = lab.check()
    started, hung, surprise, plain = checklist.outcomes
    assert not any(o.passed for o in checklist.outcomes)
    assert started.message.startswith("the app did not start: app/main.py:3: ModuleNotFoundError"), started.message
    assert hung.message.startswith("did not finish within 1 s") and hung.seconds < 10
    assert surprise.message == "while judging: KeyError: 'missing'" or "KeyError: 'missing'" in surprise.message
    assert plain.message == "the app said no"


def test_a_syntax_error_in_the_learners_file_names_file_and_line(work_root: Path) -> None:
    lab = learner(work_root, "misbehaving")
    (lab.workdir / "app" / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    started = lab.check(1).outcomes[0]
    assert "app/main.py:2" in started.message and "SyntaxError" in started.message, started.message


# -- hints and progress ----------------------------------------------------------------------------


def test_hints_climb_from_the_nudge_to_the_reference_diff(work_root: Path) -> None:
    lab = learner(work_root)
    checklist = lab.check()
    assert "hint: What does the app say first?" in str(checklist)  # rung 1 comes with the ✗
    second, third, again = lab.hint(), lab.hint(), lab.hint()
    assert str(second).startswith("Hint 2 of 3 for 1. GREETING says hello") and "Set GREETING to 'hello'." in str(
        second
    )
    assert '+GREETING = "hello"' in str(third) and "the reference step" in str(third)
    assert str(again) == str(third)  # the ladder ends at the diff
    assert "Hint 2 of 3" in second._repr_html_()


def test_progress_says_core_done_with_hints_then_all_done(work_root: Path) -> None:
    lab = learner(work_root)
    assert status(work_root) == "not started"
    lab.check()
    assert status(work_root) == "started: 0 of 2 pass"
    lab.hint(1)
    lab.hint(1)
    words(lab).write_text(CORE_ONLY)
    lab.check()
    assert status(work_root) == "core done with 2 hints"
    words(lab).write_text(FIXED)
    lab.check(2)  # judged alone, the other's earlier result still counts
    assert status(work_root) == "all done with 2 hints"


def test_the_reference_run_records_done_with_the_reference(work_root: Path) -> None:
    ref = learner(work_root).reference()
    ref.solve()
    assert ref.check()
    assert status(work_root) == "done with the reference"
    assert main(["progress", "--work", str(work_root)]) == 0


# -- save and restore --------------------------------------------------------------------------------


def test_save_and_restore_carry_the_work_and_the_progress(work_root: Path, tmp_path: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(FIXED)
    lab.check()
    (lab.workdir / ".env").write_text("SECRET_KEY=do-not-carry\n")
    lab.reference()  # rebuilt by labkit, never saved
    saved = labkit.save(tmp_path / "mine.zip", work_root)
    assert saved.left_out == ("two-steps/.env",)
    names = zipfile.ZipFile(saved.path).namelist()
    assert "two-steps/app/words.py" in names and ".progress/two-steps.json" in names
    assert not any(n.startswith("two-steps.reference") or n.endswith(".env") for n in names)

    elsewhere = tmp_path / "other-machine" / "work"
    assert labkit.restore(saved.path, elsewhere) == [".progress", "two-steps"]
    assert words(learner(elsewhere)).read_text() == FIXED
    assert status(elsewhere) == "all done"


def test_restore_over_existing_work_keeps_it_in_history(work_root: Path, tmp_path: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(FIXED)
    saved = labkit.save(tmp_path / "mine.zip", work_root)
    words(lab).write_text(CORE_ONLY)
    labkit.restore(saved.path, work_root)
    assert words(lab).read_text() == FIXED
    (kept,) = (work_root / ".history" / "two-steps").iterdir()
    assert (kept / "app" / "words.py").read_text() == CORE_ONLY


def _zip(path: Path, manifest: object, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("labkit-save.json", json.dumps(manifest))
        for name, body in files.items():
            archive.writestr(name, body)
    return path


@pytest.mark.parametrize("kind", ["not a zip", "foreign zip", "escaping path", "damaged file", "unlisted file"])
def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(kind: str, work_root: Path, tmp_path: Path) -> None:
    lab = learner(work_root)
    words(lab).write_text(CORE_ONLY)
    good = labkit.save(tmp_path / "good.zip", work_root).path
    manifest = json.loads(zipfile.ZipFile(good).read("labkit-save.json"))
    body = zipfile.ZipFile(good).read("two-steps/app/words.py")
    bad = tmp_path / "bad.zip"
    if kind == "not a zip":
        bad.write_text("these are notes, not a save")
    elif kind == "foreign zip":
        _zip(bad, {"format": "something-else/9", "files": {}}, {})
    elif kind == "escaping path":
        _zip(bad, {**manifest, "files": {"../outside.py": "0" * 64}}, {"../outside.py": b"x"})
    elif kind == "damaged file":
        _zip(bad, manifest, {"two-steps/app/words.py": body + b"# changed\n"})
    else:
        _zip(bad, {**manifest, "files": {}}, {"two-steps/app/words.py": body})
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(LabkitError, match="cannot be restored.*Nothing was changed"):
        labkit.restore(bad, work_root)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert words(lab).read_text() == CORE_ONLY
    assert main(["restore", str(bad), "--work", str(work_root)]) == 2


def test_watch_checks_again_after_each_save_until_all_pass(work_root: Path) -> None:
    import threading

    lab = learner(work_root)

    def learner_saves() -> None:
        words(lab).write_text(CORE_ONLY)
        labkit.wait_until(lambda: labkit.progress(work_root).rows, timeout=5, what="a progress table")
        words(lab).write_text(FIXED)

    timer = threading.Timer(1.5, learner_saves)
    timer.start()
    last = lab.watch(interval=0.2, timeout=30)
    timer.join()
    assert last is not None and last.all_done
    assert status(work_root) == "all done"


# -- Run All, twice, in a real kernel -----------------------------------------------------------------


def test_the_learners_edit_survives_run_all_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """00-setup through nbclient twice, on a copy of the notebooks folder with a learner's edit in work/."""
    import nbformat
    from nbclient import NotebookClient

    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    folder = tmp_path / "notebooks"
    shutil.copytree(notebooks / "scenarios" / "00-hello", folder / "scenarios" / "00-hello")
    for name in ("00-setup.ipynb", "incident_reports.toml", "timings.toml"):
        shutil.copy(notebooks / name, folder / name)
    monkeypatch.setenv("LABKIT_SCENARIOS", str(folder / "scenarios"))
    mine = Lab("00-hello", workdir=folder / "work" / "00-hello")
    edited = mine.workdir / "app" / "main.py"
    edited.write_text(edited.read_text() + "# the learner's own line\n")
    for _ in range(2):
        notebook = nbformat.read(folder / "00-setup.ipynb", as_version=4)
        NotebookClient(notebook, timeout=180, resources={"metadata": {"path": str(folder)}}).execute()
        assert edited.read_text().endswith("# the learner's own line\n")


def test_two_kernels_opening_one_scenario_at_once_share_one_whole_copy(work_root: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        labs = list(pool.map(lambda _: learner(work_root), range(4)))
    assert {lab.workdir for lab in labs} == {work_root / "two-steps"}
    assert words(labs[0]).read_text() == 'GREETING = "broken"\nFAREWELL = "broken"\n'
    assert sorted(p.name for p in work_root.iterdir()) == ["two-steps"]  # no staging folder left


def test_a_deep_dive_names_a_reference_copy_of_its_own(work_root: Path) -> None:
    lab = learner(work_root)
    main, deep = lab.reference(), lab.reference("01a")
    main.apply(1)
    assert deep.workdir == work_root / "two-steps.01a" and deep.applied == []
    with pytest.raises(LabkitError, match="cannot name a folder"):
        lab.reference("../elsewhere")
