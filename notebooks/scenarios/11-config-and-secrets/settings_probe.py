"""Every settings object the app's modules hold (or can build), as repr() and str() show it.

Run by check.py in the work dir (labkit.checking.run_json); prints one RESULT line: a JSON list of texts.
"""

import json
import sys

import app.main  # noqa: F401  importing the learner's app is what is measured
from pydantic_settings import BaseSettings

shown = []
for name, module in list(sys.modules.items()):
    if name != "app" and not name.startswith("app."):
        continue
    for value in list(vars(module).values()):
        if isinstance(value, type) and issubclass(value, BaseSettings) and value.__module__.startswith("app"):
            try:
                value = value()
            except Exception as exc:
                shown.append(f"{type(exc).__name__}: {exc}")
                continue
        if isinstance(value, BaseSettings):
            shown.append(repr(value) + "\n" + str(value))
print("RESULT " + json.dumps(shown))
