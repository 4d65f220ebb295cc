"""The app's /version route answers 200 with the server's version string."""


def check(lab) -> None:
    srv = lab.serve("app.main:app", ready_path="/health")
    response = srv.get("/version")
    assert response.status_code == 200, (
        f"GET /version answered {response.status_code}; the app log ends with: "
        + srv.logs().strip().splitlines()[-1]
    )
    assert "PostgreSQL" in response.json()["version"], f"unexpected body: {response.text[:200]}"
