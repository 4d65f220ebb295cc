"""The external backend: a server labkit did not start, given by LABKIT_DATABASE_URL.

labkit uses it but never stops, restarts or reconfigures it.
"""

from __future__ import annotations

from labkit._errors import LabkitError
from labkit._postgres._url import parse_external


def refusal(action: str) -> LabkitError:
    """What labkit says when asked to control a server it did not start."""
    return LabkitError(
        f"labkit did not start this server (it comes from LABKIT_DATABASE_URL), so it will not {action} it.",
        "This demo needs a server labkit owns: unset LABKIT_DATABASE_URL and restart the kernel "
        "(labkit then starts a container or a local server).",
    )


class ExternalServer:
    backend = "external"
    controllable = False

    def __init__(self, raw_url: str) -> None:
        self.endpoint = parse_external(raw_url)

    def stop(self) -> None:
        raise refusal("stop")

    def start(self) -> None:
        raise refusal("start")

    def close(self) -> None:
        """Nothing to stop: the server outlives the notebook."""
