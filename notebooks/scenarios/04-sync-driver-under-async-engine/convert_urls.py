"""Print, one JSON row per URL, what the project's ``app.dburl.to_asyncpg`` makes of it.

Run by ``harness.convert_urls`` from a work dir with step 2 applied: ``python convert_urls.py '[urls]'``.
Each row: the URL in (password masked), the URL out (password hidden), the password out, the
connect_args, and what was dropped, or the ValueError for a parameter it refuses.
"""

import json
import os
import sys
from urllib.parse import quote

sys.path.insert(0, os.getcwd())  # the work dir, where app/ is: this file lives elsewhere

from app.dburl import to_asyncpg

AWKWARD = quote("p@ss:w/rd?", safe="")
for raw in json.loads(sys.argv[1]):
    shown = raw.replace(AWKWARD, "***")
    try:
        target = to_asyncpg(raw)
    except ValueError as exc:
        print(json.dumps([shown, "-", "-", "-", f"refused: ValueError: {exc}"]))
        continue
    print(
        json.dumps(
            [
                shown,
                target.url.render_as_string(hide_password=True),
                repr(target.url.password),
                str(target.connect_args or "-"),
                ", ".join(target.dropped) or "-",
            ]
        )
    )
