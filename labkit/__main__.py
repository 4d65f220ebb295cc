"""``python -m labkit``: the ``labkit`` command, for environments without the console script."""

import sys

from labkit._cli import main

sys.exit(main())
