"""A real PostgreSQL for the workbook: local, in a container, or one the learner brings.

``labkit.postgres()`` is the kernel's server (:mod:`labkit._postgres._kernel`); ``Postgres``
is what it returns. The backends live in private modules of this package.
"""

from labkit._postgres._admin import Postgres
from labkit._postgres._choice import BACKENDS, Backend, Choice, choose_backend
from labkit._postgres._kernel import postgres

__all__ = ["BACKENDS", "Backend", "Choice", "Postgres", "choose_backend", "postgres"]
