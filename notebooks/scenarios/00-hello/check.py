"""00: the app's /version route answers with the server's version string."""

from __future__ import annotations

from labkit.checking import Context, app_error, requirement


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "Call GET /version and read the exception the app logs: what does SQLAlchemy 2 refuse to execute?",
        'SQLAlchemy 2 executes statements, not strings: wrap the raw SQL in sqlalchemy.text("select version()").',
    ),
)
def version_answers(ctx: Context) -> None:
    """GET /version answers 200 with PostgreSQL's version."""
    srv = ctx.lab.serve(ready_path="/health")
    response = srv.get("/version")
    assert response.status_code == 200, f"GET /version answered {response.status_code}: {app_error(srv)}"
    assert "PostgreSQL" in response.json().get("version", ""), f"GET /version answered {response.text[:200]}."
