"""Start the app (its lifespan) and ask for an order, against a database address that never answers.

Run by check.py in the work dir (labkit.checking.run_json); prints one RESULT line saying how it
ended: it refused to start, or it answered, and after how many seconds. A hang prints nothing.
"""

import json
import time
import warnings

from starlette.testclient import TestClient

warnings.simplefilter("ignore")
from app.main import app  # noqa: E402  imported after the baseline: importing is part of what is measured

began = time.monotonic()
try:
    with TestClient(app, raise_server_exceptions=False) as client:
        outcome = f"answered {client.get('/orders/1').status_code}"
except Exception as exc:
    outcome = f"refused to start ({type(exc).__name__})"
print("RESULT " + json.dumps({"outcome": outcome, "seconds": round(time.monotonic() - began, 1)}))
