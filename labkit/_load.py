"""``labkit.load``: a bounded burst of real HTTP requests, with latencies and a timeline.

Runs on its own event loop in a worker thread, so it works from a notebook cell
(whose loop is already running) and from plain scripts alike. Every run is
bounded: a fixed number of requests, a per-request timeout, and an overall
deadline; loopback targets only.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from labkit._display import Table
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK, LOOPBACK_NAMES
from labkit._status_line import StatusLine


@dataclass(frozen=True)
class Sample:
    started: float  # seconds since the run began
    seconds: float  # latency
    outcome: str  # "200", "503", ... or an exception name such as "ReadTimeout"

    @property
    def ok(self) -> bool:
        return self.outcome.isdigit() and int(self.outcome) < 400


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(s.outcome for s in self.samples)

    @property
    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(int(q / 100 * len(ordered)), len(ordered) - 1)]

    def per_second(self) -> list[tuple[int, int, int]]:
        """(second, successes, failures) by the second each request started."""
        buckets: dict[int, list[int]] = {}
        for s in self.samples:
            bucket = buckets.setdefault(int(s.started), [0, 0])
            bucket[0 if s.ok else 1] += 1
        return [(sec, ok, bad) for sec, (ok, bad) in sorted(buckets.items())]

    def table(self) -> Table:
        lat = self.latencies
        return Table(
            ("requests", "errors", "outcomes", "wall s", "median ms", "p95 ms", "max ms"),
            (
                (
                    str(len(lat)),
                    str(self.errors),
                    ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items())),
                    f"{self.wall_seconds:.2f}",
                    f"{statistics.median(lat) * 1000:.0f}" if lat else "-",
                    f"{self.percentile(95) * 1000:.0f}",
                    f"{max(lat, default=float('nan')) * 1000:.0f}",
                ),
            ),
        )

    def plot(self, ax: Any = None, label: str | None = None) -> Any:
        """Latency of each request against the time it started."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 3))[1]
        ax.scatter([s.started for s in self.samples], [s.seconds * 1000 for s in self.samples], s=8, label=label)
        ax.set_xlabel("request start (s)")
        ax.set_ylabel("latency (ms)")
        if label:
            ax.legend()
        return ax


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_NAMES:
        raise LabkitError(
            f"labkit.load only targets this machine ({LOOPBACK}), not {host!r}.",
            "Point it at an app labkit serves (srv.url).",
        )


async def _run(
    result: LoadResult,
    url: str,
    requests: int,
    concurrency: int,
    timeout: float,
    deadline: float,
    method: str,
    json: Any,
    rate: float | None,
) -> LoadResult:
    gate = asyncio.Semaphore(concurrency)
    began = time.perf_counter()
    # One connection per request, as from independent clients: uvicorn closes a kept-alive
    # connection after an unhandled error, which would count as a client-side ReadError.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def one(index: int) -> None:
            if rate:  # request i leaves at i / rate seconds: a steady stream, as from real users
                await asyncio.sleep(max(began + index / rate - time.perf_counter(), 0))
            async with gate:
                start = time.perf_counter()
                if start - began > deadline:
                    result.samples.append(Sample(start - began, 0.0, "NotSent"))
                    return
                try:
                    response = await client.request(method, url, json=json)
                    outcome = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                result.samples.append(Sample(start - began, time.perf_counter() - start, outcome))

        await asyncio.gather(*(one(i) for i in range(requests)))
    result.wall_seconds = time.perf_counter() - began
    result.samples.sort(key=lambda s: s.started)
    return result


def start_load(
    url: str,
    requests: int = 100,
    concurrency: int = 10,
    *,
    timeout: float = 10.0,
    deadline: float = 60.0,
    method: str = "GET",
    json: Any = None,
    rate: float | None = None,
) -> Future[LoadResult]:
    """Start a load in the background; ``.result()`` waits for its :class:`LoadResult`.

    ``rate`` (requests per second) spreads the requests evenly over time, for drills
    that change something (stop the database, reload the app) while the load runs.
    """
    _check_loopback(url)
    if requests > 5000 or concurrency > 200:
        raise LabkitError(
            "That load is larger than a workshop machine needs.", "Keep requests <= 5000 and concurrency <= 200."
        )
    future: Future[LoadResult] = Future()
    result = LoadResult()

    def sent() -> str:
        failed = sum(1 for s in list(result.samples) if not s.ok)
        return f"{len(result.samples)}/{requests} requests" + (f", {failed} failed" if failed else "")

    status = StatusLine(f"load on {urlsplit(url).path or '/'}", sent)
    status.start()

    def worker() -> None:
        try:
            future.set_result(
                asyncio.run(_run(result, url, requests, concurrency, timeout, deadline, method, json, rate))
            )
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)
        finally:
            status.finish(failed=not future.done() or future.exception() is not None)

    threading.Thread(target=worker, name="labkit-load", daemon=True).start()
    return future


def load(
    url: str,
    requests: int = 100,
    concurrency: int = 10,
    *,
    timeout: float = 10.0,
    deadline: float = 60.0,
    method: str = "GET",
    json: Any = None,
    rate: float | None = None,
) -> LoadResult:
    """Send ``requests`` requests, at most ``concurrency`` at a time; stop sending after ``deadline`` s."""
    return start_load(
        url, requests, concurrency, timeout=timeout, deadline=deadline, method=method, json=json, rate=rate
    ).result()
