"""Import the catalog app as uvicorn does and print its middleware stack, from the work dir.

Run by harness.py (``labkit.checking.run_json``). Prints one line: ``RESULT {"listed": [...],
"chain": [...]}``: the class names in ``app.user_middleware`` (the list Starlette builds the
stack from, index 0 first), and the layers a request passes through, outermost first, found by
following each layer's ``.app`` from ``app.build_middleware_stack()`` down to the router.
"""

import json

from app.main import app
from starlette.routing import Router

listed = [getattr(entry.cls, "__name__", repr(entry.cls)) for entry in app.user_middleware]
layer, chain = app.build_middleware_stack(), []
while not isinstance(layer, Router):
    chain.append(type(layer).__name__)
    layer = layer.app
print("RESULT " + json.dumps({"listed": listed, "chain": chain}))
