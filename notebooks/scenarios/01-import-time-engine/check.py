"""01: ``import app.main`` touches no database, and every table exists once the app runs.

The app keeps the sync psycopg2 driver: DATABASE_URL is a ``postgresql+psycopg2://`` URL."""

from __future__ import annotations

from pathlib import Path

from labkit.checking import (
    Context,
    app_error,
    last_error,
    requirement,
    run_json,
    scratch_database,
    serve_on_scratch_database,
    unreachable_url,
)

IMPORT_AND_COUNT = Path(__file__).with_name("import_and_count.py")


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "Which line of app/main.py talks to the database while Python is still importing the module?",
        "Move Base.metadata.create_all into a lifespan (@asynccontextmanager, FastAPI(lifespan=...)): "
        "it runs when the app starts, not when it is imported.",
    ),
)
def imports_without_database(ctx: Context) -> None:
    """`import app.main` works while the database is unreachable."""
    nowhere = unreachable_url(ctx.pg, "psycopg2", database="nowhere")
    ran = ctx.lab.run(["python", "-c", "import app.main"], env={"DATABASE_URL": nowhere}, timeout=30)
    assert ran.returncode == 0, (
        f"`import app.main` fails while the database is unreachable: {last_error(ran.output, ctx.workdir)}. "
        "Importing the app must not connect: create the tables in a startup step (a lifespan)."
    )


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "A try/except around create_all still connects at import: what must not run at import at all?",
        "Nothing at module level may open a connection: create_all belongs in the lifespan, "
        "and building an engine (create_engine) opens none until it is used.",
    ),
)
def import_opens_nothing(ctx: Context) -> None:
    """`import app.main` opens no connection and creates no table."""
    with scratch_database(ctx.pg, "check01_import") as database:
        found = run_json(
            ctx.lab, IMPORT_AND_COUNT, env={"DATABASE_URL": ctx.pg.url("psycopg2", database=database)}, timeout=30
        )
    assert found["connections"] == 0, (
        f"`import app.main` left {found['connections']} connection(s) open to the database: "
        "nothing may connect at import time, not create_all, not a try/except around it."
    )
    assert not found["tables"], f"`import app.main` created tables {found['tables']}: that belongs to startup."


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "POST /notes fails: which tables did create_all know about when it ran?",
        "create_all creates the tables of the models imported so far: import every model module "
        "(app.models, app.notes) before it runs, in the startup step.",
    ),
)
def every_table_at_startup(ctx: Context) -> None:
    """Served by uvicorn, users and notes both work."""
    with serve_on_scratch_database(ctx, "check01_serve", driver="psycopg2", ready_path="/health") as srv:
        created = srv.post("/users", json={"name": "ada"})
        assert created.status_code == 201, f"POST /users answered {created.status_code}: {app_error(srv)}"
        note = srv.post("/notes", json={"user_id": created.json()["id"], "text": "hello"})
        assert note.status_code != 404, "POST /notes answered 404: the notes routes are no longer included in the app."
        assert note.status_code == 201, (
            f"POST /notes answered {note.status_code}: {app_error(srv)}. "
            "Import every model module before create_all runs."
        )
        listed = srv.get("/notes")
        assert listed.status_code == 200 and len(listed.json()) == 1, (
            f"GET /notes answered {listed.status_code}: {listed.text[:200]}"
        )


@requirement(
    core=False,
    edit="app/config.py",
    step=(2, 3),
    hints=(
        "Unset DATABASE_URL and import app.main: which module-level line needs it already?",
        "Build the engine in the lifespan (keep it on app.state) and read the settings there too, "
        "through a cached get_settings(): importing then needs no environment at all.",
    ),
)
def imports_without_settings(ctx: Context) -> None:
    """`import app.main` works without DATABASE_URL (for the OpenAPI schema, a test, a script)."""
    ran = ctx.lab.run(["python", "-c", "import app.main"], env={"DATABASE_URL": None}, timeout=30)
    assert ran.returncode == 0, (
        f"Without DATABASE_URL, `import app.main` fails: {last_error(ran.output, ctx.workdir)}. "
        "Read the settings and build the engine when the app starts, not when it is imported."
    )
