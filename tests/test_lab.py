"""Lab: steps in order and exactly once, edits respected, apps served for real."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

from labkit import AppExited, Lab, LabkitError, Postgres, free_port
from support import FIXTURES


@pytest.fixture
def two_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))
    return Lab("two-steps", workdir=tmp_path / "work")


@pytest.mark.unit
def test_unknown_scenario_lists_the_real_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))
    with pytest.raises(LabkitError, match="(?s)no scenario named 'nope'.*two-steps"):
        Lab("nope")


@pytest.mark.unit
def test_steps_apply_in_order_once(two_steps: Lab) -> None:
    assert not two_steps.check()
    with pytest.raises(LabkitError, match="comes after step 1"):
        two_steps.apply(2)
    two_steps.apply(1)
    with pytest.raises(LabkitError, match="applied already"):
        two_steps.apply("first")
    two_steps.apply()
    assert two_steps.applied == ["first", "second"]
    assert two_steps.check()
    with pytest.raises(LabkitError, match="Every step is applied"):
        two_steps.apply()


@pytest.mark.unit
def test_apply_on_edited_files_changes_nothing(two_steps: Lab) -> None:
    words = two_steps.workdir / "app" / "words.py"
    words.write_text('GREETING = "mine"\nFAREWELL = "broken"\n')
    with pytest.raises(LabkitError, match="Nothing was changed"):
        two_steps.apply()
    assert words.read_text() == 'GREETING = "mine"\nFAREWELL = "broken"\n'
    assert not (two_steps.workdir / "app" / "extra.py").exists()
    assert two_steps.applied == []


@pytest.mark.unit
def test_solve_applies_everything(two_steps: Lab) -> None:
    two_steps.solve()
    assert two_steps.applied == ["first", "second"] and two_steps.check()


@pytest.mark.unit
def test_diff_and_show_render_text_and_html(two_steps: Lab) -> None:
    diff = two_steps.diff(1)
    assert '+GREETING = "hello"' in str(diff) and "Say hello" in str(diff)
    assert "<span" in DisplayFormatter().format(diff)[0]["text/html"]  # what Jupyter renders
    assert "FAREWELL" in str(two_steps.show("app/words.py"))
    with pytest.raises(LabkitError, match="not a file of this scenario"):
        two_steps.show("app/missing.py")


@pytest.mark.integration
def test_serve_stop_and_reload_for_real(local_pg: Postgres, tmp_path: Path) -> None:
    lab = Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    srv = lab.serve(reload=True, ready_path="/health")
    assert srv.get("/health").json() == {"status": "ok"}
    assert srv.get("/version").status_code == 500  # the scenario's bug
    reload_logs = srv.touch("app/main.py")
    assert "Reloading" in reload_logs and "Application startup complete." in reload_logs
    stopped = srv.stop()
    assert stopped.exit_code == 0
    assert "Application shutdown complete." in stopped.logs
    assert not srv.alive


@pytest.mark.integration
def test_serve_on_a_port_in_use(local_pg: Postgres, tmp_path: Path) -> None:
    lab = Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    srv = lab.serve(ready_path="/health")
    with pytest.raises(LabkitError, match=f"Port {srv.port} on 127.0.0.1 is already in use"):
        lab.serve(port=srv.port)
    lab.close()
    assert not srv.alive


@pytest.mark.integration
def test_a_picked_port_taken_before_uvicorn_binds_it_is_picked_again(
    local_pg: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 learners on one machine: another kernel's app bound the port between labkit's pick and uvicorn's
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks = iter([taken.getsockname()[1], free_port()])
    monkeypatch.setattr("labkit._lab.free_port", lambda: next(picks))
    lab = Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    with taken:
        srv = lab.serve(ready_path="/health")
        assert srv.port != taken.getsockname()[1] and srv.get("/health").status_code == 200
    lab.close()
    # a port the caller chose is not changed behind their back
    with socket.socket() as mine:
        mine.bind(("127.0.0.1", 0))
        mine.listen()
        with pytest.raises(LabkitError, match="already in use"):
            lab.serve(port=mine.getsockname()[1])


@pytest.mark.integration
def test_an_app_that_cannot_start_is_reported_with_its_logs(tmp_path: Path) -> None:
    lab = Lab("00-hello", workdir=tmp_path / "hello")  # no pg: DATABASE_URL is missing
    with pytest.raises(AppExited) as info:
        lab.serve(env={"DATABASE_URL": ""}, port=free_port())
    assert info.value.exit_code != 0
    assert "Application startup failed" in info.value.logs


@pytest.mark.integration
def test_run_stops_at_a_marker_and_at_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))
    lab = Lab("two-steps", workdir=tmp_path / "work")
    hangs = ["python", "-c", "import time; print('crashed here', flush=True); time.sleep(60)"]
    marked = lab.run(hangs, until="crashed here", timeout=30)
    assert marked.returncode == -9 and "stopped once the output showed 'crashed here'" in marked.output
    timed_out = lab.run(hangs, timeout=1)
    assert timed_out.returncode == -9 and "stopped after 1 s, the timeout" in timed_out.output
    finished = lab.run(["python", "-c", "print('done')"])
    assert (finished.returncode, finished.output) == (0, "done\n")


@pytest.mark.integration
def test_env_none_removes_a_variable(local_pg: Postgres, tmp_path: Path) -> None:
    lab = Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    probe = ["python", "-c", "import os; print(os.environ.get('DATABASE_URL', 'unset'))"]
    assert lab.run(probe).output.startswith("postgresql+asyncpg://")
    assert lab.run(probe, env={"DATABASE_URL": None}).output == "unset\n"


@pytest.mark.integration
def test_the_test_runners_variables_stay_out_of_the_labs_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # under pytest-xdist a worker has COLUMNS=80 and PYTEST_XDIST_WORKER: a suite notebook 06 runs
    # inherited them, cut its failure lines at 80 columns and differed from the committed outputs
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("LABKIT_PROBE", "kept")
    lab = Lab("two-steps", workdir=tmp_path / "work")
    probe = "import os; print([os.environ.get(n, '-') for n in ('COLUMNS', 'PYTEST_XDIST_WORKER', 'LABKIT_PROBE')])"
    assert lab.run(["python", "-c", probe]).output == "['-', '-', 'kept']\n"


@pytest.mark.integration
def test_apps_listen_on_loopback_only(local_pg: Postgres, tmp_path: Path) -> None:
    import psutil

    lab = Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    srv = lab.serve(ready_path="/health")
    listening = {
        c.laddr.ip for c in psutil.net_connections("inet") if c.pid == srv.pid and c.status == psutil.CONN_LISTEN
    }
    lab.close()
    assert listening == {"127.0.0.1"}
