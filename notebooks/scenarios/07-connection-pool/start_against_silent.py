"""Start the app (its lifespan) and ask for an order, against a database address that never answers.

Run by check.py in the work dir (labkit.checking.run_json); prints one RESULT line saying how it
ended: it refused to start, or it answered, and after how many seconds. Importing the app can be slow
on a busy machine, so the clock starts once it is imported: an app still waiting WAIT seconds later
(argv[1], default 10) is reported as such, without waiting for asyncpg's 60 s.
"""

import json
import os
import sys
import threading
import time
import warnings

from starlette.testclient import TestClient

warnings.simplefilter("ignore")
from app.main import app  # noqa: E402  imported after the baseline: importing is part of what is measured

WAIT = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
began = time.monotonic()
ended: list[str] = []


def start() -> None:
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            ended.append(f"answered {client.get('/orders/1').status_code}")
    except Exception as exc:
        ended.append(f"refused to start ({type(exc).__name__})")


worker = threading.Thread(target=start, daemon=True)
worker.start()
worker.join(WAIT)
outcome = ended[0] if ended else f"still waiting after {WAIT:g} s"
print("RESULT " + json.dumps({"outcome": outcome, "seconds": round(time.monotonic() - began, 1)}), flush=True)
os._exit(0)  # a start still waiting holds the thread: do not wait for it
