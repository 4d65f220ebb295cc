"""Import modules of the project one after the other, as a docs build or a test would, and say how each went.

Run by harness.imports in the project folder: ``python import_app.py app.db app.main``. A module
with an ``app`` also has its OpenAPI document built (what a docs build needs: the code, no
database). Prints one line per module: ``RESULT`` and JSON with the module and either its
OpenAPI paths or the exception that ended its import (type and first line).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

sys.path.insert(0, os.getcwd())  # the project folder, where uvicorn would import `app` from

for name in sys.argv[1:]:
    found: dict[str, object] = {"module": name}
    try:
        module = importlib.import_module(name)
        if hasattr(module, "app"):
            found["paths"] = sorted(module.app.openapi()["paths"])
    except Exception as exc:
        found["error"] = f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc).splitlines()[0]}"
    print("RESULT " + json.dumps(found), flush=True)
