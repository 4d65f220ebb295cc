"""``labkit doctor``: every rule on fixture projects, the workbook's scenarios, the command line, ``--app``.

Each rule's fixture project is ``tests/doctor_fixtures/<rule-id>/``, found by its
name (folders starting with ``_`` check something else, e.g. suppressions). A
line that must be flagged says so with ``# expect: rule-id`` (several:
comma-separated); every other line must stay silent, so each project checks its
rule's positives and its tricky negatives (the ``good_*`` files) at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import textwrap
from pathlib import Path

import pytest

import labkit
from labkit._cli import main
from labkit._scenario import Scenario, available
from labkit.doctor import Options, registry, scan
from labkit.doctor.walker import Walker

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "doctor_fixtures"
MARK = re.compile(r"#.*?\bexpect:\s*([\w-]+(?:\s*,\s*[\w-]+)*)")
PROJECTS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
Found = set[tuple[str, int, str]]


def expected_in(project: Path) -> Found:
    expected: Found = set()
    for file in sorted(project.rglob("*.py")):
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            match = MARK.search(line)
            if match:
                expected |= {
                    (file.relative_to(project).as_posix(), number, rule.strip()) for rule in match.group(1).split(",")
                }
    return expected


def found_in(path: Path, options: Options | None = None) -> Found:
    report = scan(path, options)
    assert report.errors == []
    return {(f.path, f.line, f.rule) for f in report.findings}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def doctor(*args: str, config: bool = False) -> int:
    """``labkit doctor ARGS``; without the repository's own pyproject config unless asked for."""
    return main(
        ["doctor", *args] if config or not args or args[0].startswith("--list") else ["doctor", *args, "--no-config"]
    )


# -- the rules, on fixture projects ----------------------------------------------------------


@pytest.mark.parametrize("project", PROJECTS)
def test_fixture_project_gives_exactly_its_expected_findings(project: str) -> None:
    expected, found = expected_in(FIXTURES / project), found_in(FIXTURES / project)
    assert found == expected, f"missing: {sorted(expected - found)}; unexpected: {sorted(found - expected)}"


def test_every_static_rule_has_a_fixture_project_named_by_its_id_with_positives_and_negatives() -> None:
    static = {rule.id for rule in registry.RULES.values() if rule.origin == "static"}
    rule_folders = {p for p in PROJECTS if not p.startswith("_")}
    assert rule_folders == static, (
        f"folders without a rule: {rule_folders - static}; rules without: {static - rule_folders}"
    )
    for rule in static:
        assert any(r == rule for _, _, r in expected_in(FIXTURES / rule)), f"{rule}: no positive in its folder"
        good = [f for f in (FIXTURES / rule).rglob("good_*.py") if not MARK.search(f.read_text())]
        assert good, f"{rule}: no good_*.py of negatives in its folder"


RULE_IN_PROJECT = sorted({(rule, project) for project in PROJECTS for _, _, rule in expected_in(FIXTURES / project)})


@pytest.mark.parametrize(("rule", "project"), RULE_IN_PROJECT)
def test_each_rule_alone_finds_the_same(rule: str, project: str) -> None:
    """``--select`` wires fewer hooks and skips more function bodies; a rule must not depend on the others."""
    expected = {item for item in expected_in(FIXTURES / project) if item[2] == rule}
    assert found_in(FIXTURES / project, Options(rules=frozenset({rule}))) == expected


def test_a_package_given_as_path_keeps_its_module_names(tmp_path: Path) -> None:
    """``labkit doctor app/``: app.db is still app.db, so what routes import from it is still known."""
    project = FIXTURES / "blocking-db-call-in-async-route"
    whole = {(path.removeprefix("app/"), line, rule) for path, line, rule in found_in(project)}
    assert found_in(project / "app") == whole


def test_one_file_as_path(tmp_path: Path) -> None:
    report = scan(FIXTURES / "on-event" / "bad_events.py")
    assert {f.path for f in report.findings} == {"bad_events.py"} and report.files == 1


def test_the_scan_never_imports_the_project(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.py": """
        from pathlib import Path
        Path(__file__).with_name("imported").write_text("yes")
        raise SystemExit("imported")
    """
        },
    )
    assert doctor(str(tmp_path)) == 0
    assert not (tmp_path / "app" / "imported").exists()


# -- the workbook's scenarios ------------------------------------------------------------------------

# What the doctor must find in each broken tree: (rule, path). A solved tree must give nothing.
SCENARIO_FINDINGS: dict[str, set[tuple[str, str]]] = {
    "00-hello": {("raw-sql-string", "app/main.py")},
    "01-import-time-engine": {("engine-at-import", "app/db.py"), ("create-all-at-import", "app/main.py")},
    "02-lifespan-and-shutdown": {("on-event", "app/main.py")},
    "03-reload-crashes": {
        ("engine-at-import", "app/db.py"),
        ("create-all-at-import", "app/main.py"),
        ("reload-without-main-guard", "app/main.py"),
        ("reload-with-app-object", "app/main.py"),
    },
    "04-sync-driver-under-async-engine": {
        ("hardcoded-db-password", "app/config.py"),
        ("blocking-db-call-in-async-route", "app/main.py"),
    },
    "05-async-session-pitfalls": {("raw-sql-string", "app/main.py"), ("session-not-closed", "app/db.py")},
    "06-testing-async-backends": {("engine-at-import", "app/db.py")},
    "07-connection-pool": {("engine-at-import", "app/db.py"), ("oversized-pool", "app/db.py")},
    "08-health-and-outages": {("health-check-always-ok", "app/main.py")},
    "09-middleware-twice-and-order": {
        ("duplicate-middleware", "app/main.py"),
        ("cors-wildcard-with-credentials", "app/main.py"),
        ("middleware-after-startup", "app/main.py"),
    },
    "10-one-app-one-database": {
        ("engine-at-import", "app/database.py"),
        ("engine-at-import", "app/db.py"),
        ("swallowed-import-error", "app/main.py"),
        ("swallowed-import-error", "app/main_incremental.py"),
    },
    "11-config-and-secrets": {("default-secret", "app/config.py")},
    "12-capstone": {
        ("engine-at-import", "app/database.py"),
        ("on-event", "app/main.py"),
        ("duplicate-middleware", "app/main.py"),
        ("hardcoded-db-password", "app/config.py"),
        ("health-check-always-ok", "app/routes.py"),
    },
}


def _pairs(path: Path) -> set[tuple[str, str]]:
    report = scan(path)
    assert report.errors == []
    return {(f.rule, f.path) for f in report.findings}


@pytest.mark.parametrize("name", available())
def test_scenario_broken_tree_gives_its_findings_and_solved_tree_none(name: str, tmp_path: Path) -> None:
    scenario = Scenario.load(name)
    broken = _pairs(scenario.broken)
    assert name in SCENARIO_FINDINGS, (
        f"scenario {name} has no expected findings in SCENARIO_FINDINGS (the doctor finds {sorted(broken)}); "
        "add them, or set() if it has nothing the doctor can see"
    )
    assert broken == SCENARIO_FINDINGS[name]
    if not scenario.steps:
        pytest.skip(f"{name} has no fix steps yet (being written): only its broken tree is checked")
    lab = labkit.Lab(name, workdir=tmp_path / name)
    try:
        lab.solve()
        solved = _pairs(lab.workdir)
    finally:
        lab.close()
    assert solved == set(), f"{name}: the solved tree still has {sorted(solved)}"


# -- the command line --------------------------------------------------------------------------------


def test_text_output_is_grouped_with_a_fix_and_a_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(str(FIXTURES / "on-event")) == 1
    out = capsys.readouterr().out
    findings = [line for line in out.splitlines() if re.match(r"^\S+\.py:\d+:\d+: on-event \[warning\] \S", line)]
    assert len(findings) == 4
    assert out.count("  fix: Use one lifespan") == 1
    assert "  learn: notebooks/02-lifespan-and-shutdown.ipynb" in out
    assert "4 findings (4 warnings; 1 rule) in 1 file" in out


def test_json_output_lists_findings_with_relative_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(str(FIXTURES / "engine-at-import"), "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    finding = document["findings"][0]
    assert {"rule", "path", "line", "message"} <= set(finding)
    assert finding["path"] == "app/bad_engines.py" and finding["rule"] == "engine-at-import"
    assert document["errors"] == [] and document["app"] is None
    assert document["summary"]["exit_code"] == 1 and document["summary"]["findings"] == len(document["findings"])


def test_clean_project_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(str(FIXTURES / "hardcoded-db-password" / "good_urls.py")) == 0
    assert "No findings" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(str(tmp_path / "nowhere")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert doctor(str(FIXTURES / "on-event"), "--select", "on-evnt") == 2
    assert "Unknown rule id(s): on-evnt" in capsys.readouterr().err
    assert doctor(str(FIXTURES / "on-event"), "--app", "not a target") == 2
    assert "module:attr" in capsys.readouterr().err
    assert doctor() == 2


def test_select_and_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    project = str(FIXTURES / "engine-at-import")
    assert doctor(project, "--select", "on-event") == 0
    capsys.readouterr()
    assert doctor(project, "--select", "engine-at-import,on-event", "--format", "json") == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert rules == {"engine-at-import"}
    assert doctor(project, "--ignore", "engine-at-import", "--ignore", "create-all-at-import") == 0


def test_list_rules_prints_the_markdown_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor("--list-rules") == 0
    out = capsys.readouterr().out
    assert out.startswith("| rule | finds | fix | notebook |")
    for rule in registry.RULES.values():
        assert f"| `{rule.id}` |" in out
        for notebook in rule.notebooks:
            assert f"`{notebook}`" in out


def test_env_command_is_still_there(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "env" in out and "doctor" in out


def test_pool_limit_from_the_command_line_and_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path,
        {
            "db.py": """
        from sqlalchemy import create_engine

        def make(url):
            return create_engine(url, pool_size=20, max_overflow=20)
    """
        },
    )
    (tmp_path / ".git").mkdir()  # the search for pyproject.toml stops at the repository's root
    assert doctor(str(tmp_path), config=True) == 1
    assert "= 40 connections per process, above 30" in capsys.readouterr().out
    assert doctor(str(tmp_path), "--pool-limit", "40", config=True) == 0
    (tmp_path / "pyproject.toml").write_text("[tool.labkit.doctor]\npool-limit = 50\n")
    assert doctor(str(tmp_path), config=True) == 0
    assert doctor(str(tmp_path), "--no-config", config=True) == 1
    (tmp_path / "pyproject.toml").write_text('[tool.labkit.doctor]\nignore = ["oversized-pool"]\n')
    assert doctor(str(tmp_path), config=True) == 0
    (tmp_path / "pyproject.toml").write_text("[tool.labkit.doctor]\npool-limit = -3\n")
    assert doctor(str(tmp_path), config=True) == 2


def test_bad_files_are_reported_and_the_scan_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path,
        {
            "a_broken.py": "def f(:\n    pass\n",
            "b_nul.py": "x = 1\n",
            "c_latin1.py": "# -*- coding: latin-1 -*-\nimport uvicorn\nNAME = 'caf\xe9'\n"
            "uvicorn.run('m:app', reload=True)\n",
            "d_good.py": "from fastapi import FastAPI\napp = FastAPI()\napp.add_event_handler('startup', print)\n",
        },
    )
    (tmp_path / "b_nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "c_latin1.py").write_bytes((tmp_path / "c_latin1.py").read_text().encode("latin-1"))
    (tmp_path / "e_not_utf8.py").write_bytes(b"NAME = '\xff\xfe'\n")
    assert doctor(str(tmp_path), "--format", "json") == 1
    found = {(f["path"], f["rule"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert found == {
        ("a_broken.py", "syntax-error"),
        ("b_nul.py", "syntax-error"),
        ("e_not_utf8.py", "syntax-error"),
        ("c_latin1.py", "reload-without-main-guard"),
        ("d_good.py", "on-event"),
    }
    if os.geteuid() != 0:  # root reads everything
        (tmp_path / "d_good.py").chmod(0)
        report = scan(tmp_path)
        assert ("d_good.py", "unreadable-file") in {(f.path, f.rule) for f in report.findings}


def test_an_internal_error_is_exit_2_and_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # boom.py imports SQLAlchemy, so it is walked (a file no rule can report on is not: labkit.doctor.prefilter)
    write(
        tmp_path,
        {"boom.py": "import sqlalchemy\nx = 1\n", "main.py": "import uvicorn\nuvicorn.run('main:app', workers=2)\n"},
    )
    run = Walker.run

    def exploding(self: Walker, tree: object, ctx: object) -> None:
        if getattr(ctx, "rel", "") == "boom.py":
            raise RuntimeError("a doctor bug")
        run(self, tree, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(Walker, "run", exploding)
    assert doctor(str(tmp_path)) == 2
    out = capsys.readouterr().out
    assert "main.py:2:1: reload-without-main-guard" in out
    assert "boom.py: doctor error: internal error while checking: RuntimeError: a doctor bug" in out


def test_virtualenvs_vcs_and_build_dirs_are_skipped(tmp_path: Path) -> None:
    bad = "import uvicorn\nuvicorn.run('m:app', reload=True)\n"
    write(
        tmp_path,
        {
            rel: bad
            for rel in (
                "app/main.py",
                ".venv/lib/x.py",
                "venv/x.py",
                "node_modules/x.py",
                ".git/x.py",
                "build/x.py",
                "dist/x.py",
                "app.egg-info/x.py",
                "myenv/lib/x.py",
                "app/__pycache__/x.py",
                "migrations/x.py",
            )
        },
    )
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "app" / "loop").symlink_to(tmp_path / "app")
    report = scan(tmp_path, Options(exclude=("migrations",)))
    assert [f.path for f in report.findings] == ["app/main.py"]


def test_test_files_may_hold_local_passwords(tmp_path: Path) -> None:
    url = '"postgresql+asyncpg://app:secret@localhost/app"'
    write(
        tmp_path,
        {
            "tests/test_db.py": f"URL = {url}\n",
            "conftest.py": f"URL = {url}\n",
            "app/db_test.py": f"URL = {url}\n",
            "app/settings.py": f"URL = {url}\n",
        },
    )
    assert found_in(tmp_path) == {("app/settings.py", 1, "hardcoded-db-password")}


# -- --app: the runtime probe ----------------------------------------------------------------------------


def test_app_probe_sees_middleware_added_twice_across_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/setup.py": """
            from starlette.middleware.gzip import GZipMiddleware

            def install(app):
                app.add_middleware(GZipMiddleware)
        """,
            "app/main.py": """
            from fastapi import FastAPI
            from starlette.middleware.gzip import GZipMiddleware

            from app.setup import install

            app = FastAPI()
            app.add_middleware(GZipMiddleware)
            install(app)


            @app.on_event("startup")
            async def startup() -> None:
                pass


            @app.get("/items")
            async def items() -> list[int]:
                return []
        """,
        },
    )
    assert doctor(str(tmp_path), "--app", "app.main:app", "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    found = {(f["rule"], f["path"], f["line"]) for f in document["findings"]}
    assert found == {("duplicate-middleware", "app/main.py", 6), ("on-event", "app/main.py", 11)}
    app = document["app"]
    assert app["imported"] and app["lifespan"] is False and app["startup_hooks"] == 1
    assert app["middleware"] == ["starlette.middleware.gzip.GZipMiddleware"] * 2
    items = [route for route in app["routes"] if route["path"] == "/items"]
    assert items == [
        {
            "path": "/items",
            "methods": ["GET"],
            "name": "items",
            "endpoint": "app.main.items",
            "async": True,
            "kind": "APIRoute",
        }
    ]


def test_app_probe_reports_an_import_that_connects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path,
        {
            "service.py": """
        import os
        from fastapi import FastAPI
        from sqlalchemy import create_engine, text

        engine = create_engine(os.environ["DATABASE_URL"])
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        app = FastAPI()
    """
        },
    )
    assert doctor(str(tmp_path), "--app", "service:app") == 1
    out = capsys.readouterr().out
    assert "service.py:5:10: engine-at-import [warning]" in out
    assert re.search(
        r"service\.py:6:1: import-failed importing service with the database unreachable failed: "
        r"OperationalError: .*Connection refused",
        out,
    )
    assert "learn: notebooks/01-import-time-engine.ipynb" in out
    assert not (tmp_path / "__pycache__").exists()


def test_app_probe_refuses_to_serve_and_flags_a_missing_lifespan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "served.py": """
            import uvicorn
            from fastapi import FastAPI

            app = FastAPI()
            uvicorn.run("served:app", reload=True)
        """,
            "plain.py": """
            import os
            from fastapi import FastAPI
            from sqlalchemy import create_engine

            def get_engine():
                return create_engine(os.environ["DATABASE_URL"])

            app = FastAPI()
        """,
        },
    )
    assert doctor(str(tmp_path), "--app", "served:app", "--select", "import-failed") == 1
    out = capsys.readouterr().out
    assert "served.py:5:1: import-failed" in out
    assert "uvicorn.run() was called while the app was being imported" in out
    assert doctor(str(tmp_path), "--app", "plain:app", "--select", "no-lifespan") == 1
    assert "plain.py:8:1: no-lifespan [warning] the app has no lifespan" in capsys.readouterr().out
    assert doctor(str(tmp_path), "--app", "nothing:app") == 2
    assert "No module named 'nothing'" in capsys.readouterr().err
    assert doctor(str(tmp_path), "--app", "plain:application") == 2
    assert "has no attribute application" in capsys.readouterr().err


def test_app_probe_has_a_time_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"slow.py": "import time\ntime.sleep(60)\napp = None\n"})
    assert doctor(str(tmp_path), "--app", "slow:app", "--app-timeout", "1") == 1
    assert "did not finish within 1 s" in capsys.readouterr().out


# -- the benchmark's tree ---------------------------------------------------------------------------------


def test_benchmark_tree_has_its_planted_findings(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "doctor_speed", Path(__file__).resolve().parents[1] / "benchmarks" / "doctor_speed.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    files, lines, legacy = bench.generate(tmp_path, 6000)
    report = scan(tmp_path)
    assert report.lines == lines >= 6000 and report.files == files and legacy >= 1
    counts: dict[str, int] = {}
    for finding in report.findings:
        counts[finding.rule] = counts.get(finding.rule, 0) + 1
    assert counts == {rule: legacy for rule in bench.LEGACY_RULES}


# -- newer Python, odd files, several paths ------------------------------------------------------------------

NEWER_SYNTAX = {
    "app/generics.py": """
        from sqlalchemy import create_engine

        type Rows[T] = list[T]


        def first[T: (int, str), *Ts, **P](items: list[T]) -> T:
            return items[0]


        class Repository[M = object]:
            engine = create_engine("postgresql+psycopg2://app@db.internal/app")  # expect: engine-at-import
    """,
    "app/fstrings.py": """
        settings = {"host": "db.internal"}
        label = f"{settings["host"]} and {'\\n'.join(['a', 'b'])}"
        spread = f"{
            settings["host"]  # a comment inside a replacement field
        }"
        URL = f"postgresql://app:secret@{settings["host"]}/app"  # expect: hardcoded-db-password
        template = t"select {label}"
    """,
    "app/handlers.py": """
        import uvicorn

        try:
            import json
        except ValueError, TypeError:
            json = None
        uvicorn.run("app.main:app", reload=True)  # expect: reload-without-main-guard
    """,
}


def _with_marks(root: Path, files: dict[str, str]) -> Found:
    write(root, files)
    return expected_in(root)


def test_code_for_python_3_12_to_3_14_is_read_not_called_a_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _with_marks(tmp_path, NEWER_SYNTAX)
    assert found_in(tmp_path) == expected
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n')
    (tmp_path / "app" / "future.py").write_text("def f(:\n    pass\n")  # not valid in any Python
    assert doctor(str(tmp_path), "--select", "syntax-error", "--format", "json", config=True) == 0
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["severity"] == "info" and "requires Python 3.99" in finding["message"]
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10"\n')
    assert doctor(str(tmp_path), "--select", "syntax-error", config=True) == 1
    assert "not valid Python" in capsys.readouterr().out


def test_a_fifo_named_like_python_is_not_read_and_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path, {"app/main.py": "import uvicorn\nuvicorn.run('m:app', reload=True)\n", "app/locked/db.py": "x = 1\n"}
    )
    os.mkfifo(tmp_path / "app" / "pipe.py")
    if os.geteuid() != 0:
        (tmp_path / "app" / "locked").chmod(0)
    try:
        report = scan(tmp_path)
    finally:
        (tmp_path / "app" / "locked").chmod(0o755)
    found = {(f.path, f.rule, f.severity) for f in report.findings}
    assert ("app/main.py", "reload-without-main-guard", "error") in found
    assert not any(path == "app/pipe.py" for path, _, _ in found)
    if os.geteuid() != 0:
        assert ("app/locked", "unreadable-file", "warning") in found


def test_no_python_files_or_an_unreadable_root_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert doctor(str(tmp_path / "empty")) == 2
    assert "No Python files to check" in capsys.readouterr().err
    write(tmp_path, {"only/README.md": "# nothing to check\n"})
    assert doctor(str(tmp_path / "only")) == 2
    if os.geteuid() != 0:
        write(tmp_path, {"closed/app.py": "x = 1\n"})
        (tmp_path / "closed").chmod(0)
        try:
            assert doctor(str(tmp_path / "closed")) == 2
            assert "Cannot list" in capsys.readouterr().err
        finally:
            (tmp_path / "closed").chmod(0o755)


def test_editor_history_folders_are_skipped(tmp_path: Path) -> None:
    bad = "import uvicorn\nuvicorn.run('m:app', reload=True)\n"
    write(tmp_path, {"app/main.py": bad, ".history/app/main_20240101.py": bad, ".lh/app/main.py": bad})
    assert {path for path, _, _ in found_in(tmp_path)} == {"app/main.py"}


def test_several_paths_as_pre_commit_passes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": "from sqlalchemy import create_engine\n"
            "engine = create_engine('postgresql+psycopg2://app@db/app')\n",
            "app/main.py": "import uvicorn\nuvicorn.run('app.main:app', reload=True)\n",
            "app/clean.py": "x = 1\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    assert doctor("app/db.py", "app/main.py") == 1
    out = capsys.readouterr().out
    assert "app/db.py:2:10: engine-at-import [warning]" in out
    assert "app/main.py:2:1: reload-without-main-guard" in out
    assert doctor("app/clean.py", "app/__init__.py") == 0


# -- output for CI ---------------------------------------------------------------------------------------------


def test_exit_zero_keeps_the_findings_but_not_the_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(str(FIXTURES / "on-event"), "--exit-zero") == 0
    assert "on-event" in capsys.readouterr().out
    assert doctor(str(FIXTURES / "nowhere"), "--exit-zero") == 2


def test_github_format_annotates_each_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "svc/db.py": "from sqlalchemy import create_engine\n"
            "engine = create_engine('postgresql://app:fake-s3cret@db.example.com/app')\n"
        },
    )
    monkeypatch.chdir(tmp_path)
    assert doctor("svc", "--format", "github", "--learn-url", "https://example.org/lab/blob/v1") == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert any(
        line.startswith("::warning file=svc/db.py,line=2,endLine=2,col=10,title=labkit doctor%3A engine-at-import::")
        for line in lines
    )
    password = next(line for line in lines if "hardcoded-db-password" in line)
    assert password.startswith("::error file=svc/db.py,line=2,")
    assert "%0Alearn: https://example.org/lab/blob/v1/notebooks/04-sync-driver-under-async-engine.ipynb" in password


def test_sarif_has_every_rule_with_a_help_uri_and_each_finding_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        doctor(
            str(FIXTURES / "on-event"),
            "--format",
            "sarif",
            "--learn-url",
            "https://example.org/lab/blob/main/notebooks/{notebook}.ipynb",
        )
        == 1
    )
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(registry.RULES)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        if registry.RULES[rule["id"]].notebooks:
            assert rule["helpUri"].startswith("https://example.org/lab/blob/main/notebooks/")
    results = run["results"]
    assert len(results) == 4 and all(r["ruleId"] == "on-event" and r["level"] == "warning" for r in results)
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("on-event/bad_events.py")
    assert location["region"]["startLine"] >= 1 and rules[results[0]["ruleIndex"]]["id"] == "on-event"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_learn_url_comes_from_the_option_the_config_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"main.py": "import uvicorn\nuvicorn.run('main:app', reload=True)\n"})
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("LABKIT_DOCTOR_LEARN_URL", "https://env.example/lab")
    assert doctor(str(tmp_path), config=True) == 1
    assert "learn: https://env.example/lab/notebooks/03-reload-crashes.ipynb" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text('[tool.labkit.doctor]\nlearn-url = "https://config.example/lab"\n')
    assert doctor(str(tmp_path), config=True) == 1
    assert "learn: https://config.example/lab/notebooks/03-reload-crashes.ipynb" in capsys.readouterr().out
    assert doctor(str(tmp_path), "--learn-url", "https://flag.example/{notebook}", config=True) == 1
    assert "learn: https://flag.example/03-reload-crashes" in capsys.readouterr().out


# -- messages true in context ---------------------------------------------------------------------------------


def test_messages_say_what_is_true_here(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "fixtures.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(os.environ["DATABASE_URL"])
            leaked = create_engine(os.environ["DATABASE_URL"])


            def teardown():
                engine.dispose()
        """,
            "settings.py": """
            LOCAL = "postgresql://app:fake-local@localhost/app"
            REMOTE = "postgresql://app:fake-prod@db.prod.example.com/app"
        """,
        },
    )
    messages = {(f.path, f.line): (f.severity, f.message) for f in scan(tmp_path).findings}
    _severity, disposed = messages[("fixtures.py", 4)]
    assert "dispose() at line 9" in disposed and "nothing in this module disposes" not in disposed
    assert "nothing in this module disposes it" in messages[("fixtures.py", 5)][1]
    local, remote = messages[("settings.py", 1)], messages[("settings.py", 2)]
    assert local[0] == "warning" and "development database (localhost)" in local[1]
    assert "every past commit" not in local[1]
    assert remote[0] == "error" and "every past commit" in remote[1] and "db.prod.example.com" in remote[1]


def test_a_stray_init_at_the_top_of_a_checkout_does_not_rename_its_modules(tmp_path: Path) -> None:
    """``my-project/__init__.py``: the folder cannot be imported, so ``api.db`` is still ``api.db``."""
    checkout = tmp_path / "my-project"
    write(
        checkout,
        {
            "__init__.py": "",
            "api/__init__.py": "",
            "api/db.py": """
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()


            class Users:
                def first(self, db: Session):
                    return db.query(object).first()


            users = Users()
        """,
            "api/routes.py": """
            from fastapi import APIRouter

            from api.db import SessionLocal, users

            router = APIRouter()


            @router.get("/first")
            async def first():
                with SessionLocal() as db:
                    return users.first(db)
        """,
        },
    )
    assert ("api/routes.py", 10, "blocking-db-call-in-async-route") in found_in(checkout)


def test_several_processes_find_exactly_what_one_finds(tmp_path: Path) -> None:
    """Workers merge their shares in file order: the same findings, messages and counts as one process."""
    for project in ("blocking-db-call-in-async-route", "engine-at-import", "session-not-closed"):
        one = scan(FIXTURES / project, Options(jobs=1))
        three = scan(FIXTURES / project, Options(jobs=3))
        assert [(f, f.message, f.severity) for f in three.findings] == [
            (f, f.message, f.severity) for f in one.findings
        ]
        assert (three.files, three.lines, three.errors) == (one.files, one.lines, one.errors)


def test_importing_the_doctor_loads_none_of_the_workbook_stack() -> None:
    """The light install: ``import labkit.doctor`` must work without SQLAlchemy, FastAPI, httpx... installed."""
    import subprocess
    import sys

    heavy = (
        "sqlalchemy",
        "fastapi",
        "starlette",
        "psycopg2",
        "asyncpg",
        "httpx",
        "psutil",
        "pygments",
        "matplotlib",
        "numpy",
        "uvicorn",
        "multiprocessing",
        "tomllib",
    )
    probe = f"import sys, labkit.doctor; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert loaded.stdout.strip() == ""


def test_shares_for_workers_keep_every_file_once_and_in_order(tmp_path: Path) -> None:
    from labkit.doctor import workers

    files = []
    for number in range(10):
        path = tmp_path / f"m{number}.py"
        path.write_text("x = 1\n" * (number + 1))
        files.append((path, path.name))
    shares = workers.split(files, 3)
    assert len(shares) == 3 and [item for share in shares for item in share] == files
    assert workers.workers_for(1, 10_000) == 1 and workers.workers_for(3, 2) == 2


# -- the pre-filter: files no rule can report on are not walked ------------------------------------------------


def _walk_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.doctor.prefilter import Prefilter

    monkeypatch.setattr(Prefilter, "skippable", lambda self, text: False)


@pytest.mark.parametrize(("rule", "project"), RULE_IN_PROJECT)
def test_the_prefilter_keeps_every_file_where_a_rule_alone_finds_something(rule: str, project: str) -> None:
    """Each rule's words (its call names and what it declares with ``needs``) are in each file it reports on."""
    from labkit.doctor.files import first_party
    from labkit.doctor.prefilter import Prefilter
    from labkit.doctor.wiring import wire

    root = FIXTURES / project
    modules = [f.relative_to(root).with_suffix("").as_posix().replace("/", ".") for f in root.rglob("*.py")]
    prefilter = Prefilter(wire({rule}), first_party(modules))
    assert prefilter.enabled
    for path in {path for path, _, found in expected_in(root) if found == rule}:
        assert not prefilter.skippable((root / path).read_text()), f"{rule}: {path} would not be walked"


@pytest.mark.parametrize("project", PROJECTS)
def test_the_prefilter_changes_nothing_in_a_report(project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    filtered = scan(FIXTURES / project)
    _walk_everything(monkeypatch)
    walked = scan(FIXTURES / project)
    assert [(f, f.message, f.severity) for f in filtered.findings] == [
        (f, f.message, f.severity) for f in walked.findings
    ]
    assert (filtered.files, filtered.lines, filtered.errors) == (walked.files, walked.lines, walked.errors)


def test_a_file_left_unwalked_is_walked_when_a_walked_file_imports_it(tmp_path: Path) -> None:
    """clients.py has no word any rule needs, but main.py reads a value from it: known to be httpx's, not raw SQL."""
    from labkit.doctor.files import first_party
    from labkit.doctor.prefilter import Prefilter
    from labkit.doctor.wiring import wire

    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/clients.py": "import httpx\n\nclient = httpx.Client()\n",
            "app/main.py": """
                import sqlalchemy

                from app.clients import client

                client.execute("select 1")
                """,
        },
    )
    prefilter = Prefilter(wire(registry.RULES), first_party(["app", "app.clients", "app.main"]))
    assert prefilter.skippable((tmp_path / "app" / "clients.py").read_text())
    assert found_in(tmp_path) == set()
    (tmp_path / "app" / "clients.py").write_text("client = None\n")  # not known: raw SQL on it is reported
    assert found_in(tmp_path) == {("app/main.py", 5, "raw-sql-string")}


def test_what_imports_the_project_or_sqlalchemy_is_always_walked() -> None:
    from labkit.doctor.prefilter import Prefilter, referenced
    from labkit.doctor.wiring import wire

    prefilter = Prefilter(wire(registry.RULES), frozenset({"app"}))
    assert prefilter.skippable("import logging\n\nlogger = logging.getLogger(__name__)\n")
    for text in (
        "from app.models import User\n",
        "from . import models\n",
        "from .. import models\n",
        "import os, app.models as m\n",
        "from \\\n  app import x\n",
        "from sqlalchemy.orm import *\n",
        "import sqlmodel\n",
        "def f():\n    x = 1; from app import y\n",
        "SECRET_KEY = 'x'\n",
        "Session = 1\n",
        "url = 'postgresql://u:p@h/db'\n",
    ):
        assert not prefilter.skippable(text), text
    # from app.db import engine (app, app.db, or a module app.db.engine); import other (other.x as an attribute)
    imported = {"app.db.engine", "other"}
    modules = ["app.db", "app", "app.db.engine", "app.db.sub", "app.main", "other.x", "othermod"]
    assert referenced(modules, imported) == {"app.db", "app", "app.db.engine", "other.x"}


def test_a_rule_that_declares_no_needs_turns_the_prefilter_off() -> None:
    import ast

    from labkit.doctor.prefilter import Prefilter
    from labkit.doctor.rule import Rule
    from labkit.doctor.wiring import Wiring

    rule = Rule("every-name", finds="x", hint="y")

    @rule.on_node(ast.Name)
    def hook(node: ast.Name, ctx: object) -> None:
        pass

    wiring = Wiring()
    wiring.add(rule)
    assert not Prefilter(wiring, frozenset()).skippable("x = 1\n")
    rule.needs("name")
    wiring = Wiring()
    wiring.add(rule)
    assert Prefilter(wiring, frozenset()).skippable("x = 1\n")
    assert not Prefilter(wiring, frozenset()).skippable("NAME = 1\n")
