"""The app's /version route answers 200 with the server's version string."""


def check(lab) -> None:
    srv = lab.serve("app.main:app", ready_path="/health")
    response = srv.get("/version")
    if response.status_code != 200:
        srv.wait_for_log("Error:")  # the traceback is logged just after the 500 goes out
        last_error = [line for line in srv.logs().splitlines() if "Error:" in line][-1]
        raise AssertionError(f"GET /version answered {response.status_code}: {last_error.strip()}")
    assert "PostgreSQL" in response.json()["version"], f"unexpected body: {response.text[:200]}"
