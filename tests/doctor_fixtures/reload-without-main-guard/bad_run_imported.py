from uvicorn import run

from settings import DEBUG

if DEBUG:
    run("bad_run_imported:app", reload=DEBUG)  # expect: reload-without-main-guard
