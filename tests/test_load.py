from pathlib import Path

import pytest

import labkit
from labkit import Postgres


@pytest.mark.integration
def test_load_counts_outcomes_against_a_real_app(local_pg: Postgres, tmp_path: Path) -> None:
    lab = labkit.Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    srv = lab.serve(ready_path="/health")
    ok = labkit.load(srv.url + "/health", requests=40, concurrency=5)
    broken = labkit.load(srv.url + "/version", requests=10, concurrency=5)
    lab.close()
    assert ok.outcomes == {"200": 40} and ok.errors == 0
    assert broken.outcomes == {"500": 10} and broken.errors == 10
    assert sum(ok_ + bad for _, ok_, bad in ok.per_second()) == 40
    assert "40" in str(ok.table())


@pytest.mark.unit
def test_refused_connections_are_outcomes_not_crashes() -> None:
    result = labkit.load(f"http://127.0.0.1:{labkit.free_port()}/", requests=3, concurrency=3, timeout=2)
    assert result.outcomes == {"ConnectError": 3}


@pytest.mark.unit
def test_only_loopback_is_a_target() -> None:
    with pytest.raises(labkit.LabkitError, match="only targets this machine"):
        labkit.load("http://192.0.2.1/", requests=1)


@pytest.mark.integration
def test_a_paced_load_runs_in_the_background(local_pg: Postgres, tmp_path: Path) -> None:
    lab = labkit.Lab("00-hello", pg=local_pg, workdir=tmp_path / "hello")
    srv = lab.serve(ready_path="/health")
    running = labkit.start_load(srv.url + "/health", requests=20, concurrency=4, rate=20)
    result = running.result(timeout=30)
    lab.close()
    assert result.outcomes == {"200": 20}
    starts = [s.started for s in result.samples]
    assert max(starts) >= 0.9  # 20 requests at 20/s: the last leaves about 0.95 s in
