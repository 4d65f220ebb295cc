"""How fast ``labkit doctor`` scans: lines per second on a generated project of 50,000+ lines.

    python benchmarks/doctor_speed.py            # 60,000 lines, median of 3 scans
    python benchmarks/doctor_speed.py --lines 200000 --runs 5

The tree is generated into a temporary folder: many FastAPI services, each
with settings, database wiring, models, schemas, async and sync routers and
plain service code (classes, loops, comprehensions, docstrings), the way real
backends look. A few services carry the workbook's mistakes, so the scan
also does its real work of reporting: the expected count per rule is printed
and checked. Target: at least 80,000 lines/s (wall clock, median, with the
processes the doctor's command line would use: ``--jobs 1`` measures one);
the speed of one process on CPU time is printed too, since a shared machine
slows the wall clock down.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TARGET_LINES_PER_SECOND = 80_000

CONFIG = '''\
"""Settings of the {name} service, read from the environment when the app starts."""

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service needs from its environment."""

    model_config = SettingsConfigDict(env_prefix="{upper}_")

    database_url: SecretStr
    pool_size: int = 5
    max_overflow: int = 5
    debug: bool = False
    page_size: int = 50


@lru_cache
def get_settings() -> Settings:
    return Settings()
'''

DB = '''\
"""Database wiring of the {name} service: built in the lifespan, disposed on the way out."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from {package}.config import get_settings


class Base(DeclarativeBase):
    """Base class of every model of this service."""


def make_engine() -> AsyncEngine:
    settings = get_settings()
    return create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = make_engine()
    app.state.engine = engine
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield
    finally:
        await engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]
'''

MODELS_HEAD = '''\
"""Tables of the {name} service."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from {package}.db import Base
'''

MODEL = '''

class {cls}(Base):
    """One {entity} row."""

    __tablename__ = "{table}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    archived: Mapped[bool] = mapped_column(default=False)
'''

SCHEMAS_HEAD = '''\
"""Request and response bodies of the {name} service."""

from datetime import datetime

from pydantic import BaseModel, Field
'''

SCHEMA = """

class {cls}In(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class {cls}Out(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime

    model_config = {{"from_attributes": True}}
"""

ROUTER = '''\
"""HTTP routes for {entity} rows."""

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select, text

from {package}.db import SessionDep
from {package}.models import {cls}
from {package}.schemas import {cls}In, {cls}Out

router = APIRouter(prefix="/{table}", tags=["{table}"])


@router.get("", response_model=list[{cls}Out])
async def list_{entity}s(session: SessionDep, limit: int = Query(50, le=500), offset: int = 0) -> list[Any]:
    """A page of {entity} rows, newest first."""
    rows = await session.scalars(select({cls}).order_by({cls}.id.desc()).limit(limit).offset(offset))
    return list(rows)


@router.get("/count")
async def count_{entity}s(session: SessionDep) -> dict[str, int]:
    total = await session.scalar(select(func.count()).select_from({cls}))
    return {{"count": total or 0}}


@router.get("/{{item_id}}", response_model={cls}Out)
async def get_{entity}(item_id: int, session: SessionDep) -> Any:
    item = await session.get({cls}, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="no such {entity}")
    return item


@router.post("", response_model={cls}Out, status_code=201)
async def create_{entity}(body: {cls}In, session: SessionDep) -> Any:
    item = {cls}(name=body.name, description=body.description, owner_id=1)
    session.add(item)
    await session.commit()
    await session.refresh(item)
    return item


@router.delete("/{{item_id}}", status_code=204)
async def delete_{entity}(item_id: int, session: SessionDep) -> None:
    await session.execute(text("update {table} set archived = true where id = :id"), {{"id": item_id}})
    await session.commit()
'''

SERVICE = '''\
"""Business rules for {entity} rows: plain Python, no I/O."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import defaultdict
from collections.abc import Iterable

logger = logging.getLogger(__name__)
SLUG = re.compile(r"[^a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class {cls}Summary:
    """What a dashboard shows about a group of {entity} rows."""

    total: int
    archived: int
    by_owner: dict[int, int]

    @property
    def active(self) -> int:
        return self.total - self.archived


def slugify(name: str) -> str:
    """`Hello World!` -> `hello-world`."""
    return SLUG.sub("-", name.lower()).strip("-")


def summarize(rows: Iterable[dict[str, object]]) -> {cls}Summary:
    by_owner: dict[int, int] = defaultdict(int)
    total = archived = 0
    for row in rows:
        total += 1
        if row.get("archived"):
            archived += 1
        owner = row.get("owner_id")
        if isinstance(owner, int):
            by_owner[owner] += 1
    logger.debug("summarized %d {entity} rows", total)
    return {cls}Summary(total, archived, dict(by_owner))


def validate(name: str, description: str) -> list[str]:
    problems = []
    if not name.strip():
        problems.append("the name is empty")
    if len(description) > 2000:
        problems.append(f"the description has {{len(description)}} characters, at most 2000 fit")
    if slugify(name) in {{"admin", "root", "system"}}:
        problems.append(f"{{name!r}} is reserved")
    return problems


def paginate(items: list[object], page: int, size: int = 50) -> tuple[list[object], bool]:
    start = max(page - 1, 0) * size
    chunk = items[start:start + size]
    return chunk, start + size < len(items)


class {cls}Index:
    """An in-memory index of names, for suggestions while typing."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._by_prefix: dict[str, set[str]] = defaultdict(set)
        for name in names:
            self.add(name)

    def add(self, name: str) -> None:
        key = slugify(name)
        for end in range(1, min(len(key), 8) + 1):
            self._by_prefix[key[:end]].add(name)

    def suggest(self, typed: str, limit: int = 10) -> list[str]:
        found = sorted(self._by_prefix.get(slugify(typed)[:8], ()))
        return found[:limit]
'''

MAIN = '''\
"""The {name} service's app."""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from {package}.db import lifespan
{router_imports}

app = FastAPI(title="{name}", lifespan=lifespan)
app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])
app.add_middleware(GZipMiddleware, minimum_size=1000)
{includes}

if __name__ == "__main__":
    import uvicorn

    uvicorn.run("{package}.main:app", reload=True)
'''

# The workbook's mistakes, planted in some services: (file, code, rules it must trigger).
LEGACY = '''\
"""Old wiring that nobody dared to touch."""

import logging

from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from starlette.middleware.gzip import GZipMiddleware

logger = logging.getLogger(__name__)
engine = create_engine("postgresql+psycopg2://legacy:secret@db.example.com/legacy", pool_size=30, max_overflow=20)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
app.add_middleware(GZipMiddleware)
app.add_middleware(GZipMiddleware)


@app.on_event("startup")
def warm_up() -> None:
    with engine.connect() as conn:
        conn.execute("select 1")


@app.get("/legacy")
async def legacy() -> dict[str, int]:
    with SessionLocal() as session:
        return {{"n": session.execute(text("select 1")).scalar_one()}}


try:
    from {package}.routers import reports
    app.include_router(reports.router)
except ImportError:
    logger.warning("no reports")
'''
LEGACY_RULES = (
    "engine-at-import",
    "hardcoded-db-password",
    "oversized-pool",
    "duplicate-middleware",
    "on-event",
    "raw-sql-string",
    "blocking-db-call-in-async-route",
    "swallowed-import-error",
)

ENTITIES = (
    "order",
    "invoice",
    "customer",
    "product",
    "shipment",
    "ticket",
    "comment",
    "review",
    "coupon",
    "payment",
    "refund",
    "warehouse",
    "supplier",
    "article",
    "booking",
    "device",
)


def generate(root: Path, min_lines: int, seed: int = 7) -> tuple[int, int, int]:
    """Write services under ``root`` until there are ``min_lines`` lines: (files, lines, legacy modules)."""
    rng = random.Random(seed)
    files = lines = legacy = 0
    number = 0
    while lines < min_lines:
        number += 1
        package = f"service_{number:03d}"
        name = package.replace("_", "-")
        entities = rng.sample(ENTITIES, rng.randint(3, 6))
        base = root / package
        (base / "routers").mkdir(parents=True)
        sources: dict[str, str] = {
            "__init__.py": "",
            "routers/__init__.py": "",
            "config.py": CONFIG.format(name=name, upper=package.upper()),
            "db.py": DB.format(name=name, package=package),
            "models.py": MODELS_HEAD.format(name=name, package=package)
            + "".join(MODEL.format(cls=e.title(), entity=e, table=f"{e}s") for e in entities),
            "schemas.py": SCHEMAS_HEAD.format(name=name) + "".join(SCHEMA.format(cls=e.title()) for e in entities),
            "main.py": MAIN.format(
                name=name,
                package=package,
                router_imports="\n".join(f"from {package}.routers import {e}s" for e in entities),
                includes="\n".join(f"app.include_router({e}s.router)" for e in entities),
            ),
        }
        for entity in entities:
            fields = dict(cls=entity.title(), entity=entity, table=f"{entity}s", package=package)
            sources[f"routers/{entity}s.py"] = ROUTER.format(**fields)
            sources[f"{entity}_service.py"] = SERVICE.format(**fields)
        if number % 10 == 1:
            sources["legacy.py"] = LEGACY.format(package=package)
            legacy += 1
        for rel, text in sources.items():
            (base / rel).write_text(text)
            files += 1
            lines += text.count("\n")
    return files, lines, legacy


def _cpu() -> float:
    """CPU seconds of this process and of the workers it has waited for.

    From getrusage (microseconds) where there is one: os.times() counts in clock ticks of 10 ms,
    more than 1% of a scan of the default tree.
    """
    try:
        import resource
    except ImportError:  # Windows
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=60_000, help="at least this many lines (default 60,000)")
    parser.add_argument("--runs", type=int, default=3, help="scans to take the median of (default 3)")
    parser.add_argument("--jobs", type=int, default=0, help="processes (default 0: as the command line chooses)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from labkit.doctor import Options, scan

    with tempfile.TemporaryDirectory(prefix="doctor-bench-") as tmp:
        root = Path(tmp)
        files, lines, legacy = generate(root, max(args.lines, 50_000))
        speeds, cpu_speeds, seconds = [], [], []
        report = None
        for _ in range(args.runs):
            began, began_cpu = time.perf_counter(), _cpu()
            report = scan(root, Options(jobs=args.jobs))
            took, took_cpu = time.perf_counter() - began, _cpu() - began_cpu
            seconds.append(took)
            speeds.append(report.lines / took)
            cpu_speeds.append(report.lines / max(took_cpu, 1e-9))
        assert report is not None
        counts = Counter(f.rule for f in report.findings)
        expected = {rule: legacy for rule in LEGACY_RULES}
        print(f"tree: {files} files, {report.lines} lines ({lines} generated), {legacy} legacy modules")
        if hasattr(os, "getloadavg"):  # what else ran: the wall clock is only as good as the machine was idle
            print(f"load average: {' '.join(f'{load:.2f}' for load in os.getloadavg())} on {os.cpu_count()} cores")
        print("scan seconds: " + ", ".join(f"{s:.3f}" for s in seconds))
        print("findings: " + ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())))
        median = statistics.median(speeds)
        verdict = "meets" if median >= TARGET_LINES_PER_SECOND else "MISSES"
        print(
            f"median: {median:,.0f} lines/s over {args.runs} runs ({verdict} the target of {TARGET_LINES_PER_SECOND:,})"
        )
        print(
            f"median on CPU time (all processes): {statistics.median(cpu_speeds):,.0f} lines/s "
            "(what the scan costs on a busy machine)"
        )
        if dict(counts) != expected:
            print(f"unexpected findings: expected {expected}", file=sys.stderr)
            return 1
    return 0 if median >= TARGET_LINES_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
