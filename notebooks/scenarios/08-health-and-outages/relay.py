"""A TCP relay in front of PostgreSQL that can go silent on demand.

Stopping a server is the easy outage: its connections drop and new ones are refused at
once, so every client gets an error straight away. A server that hangs, or a network path
that starts dropping packets, gives no error at all: the request goes out and no answer
comes back, and only a timeout ends the wait. ``Relay.freeze()`` produces that second kind
of outage on every backend without touching the server: the relay keeps every connection
open but stops passing bytes (new connections are accepted and then left waiting) until
``thaw()``.

The app connects to the relay's port instead of the server's (``relay.url(database_url)``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


class Relay:
    """Forward 127.0.0.1:<port> to ``host:port``; ``freeze()`` / ``thaw()`` stop and resume the bytes."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relay", daemon=True)
        self._thread.start()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port: int = self._call(self._listen())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self) -> int:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the relay's."""
        return make_url(database_url).set(host=LOOPBACK, port=self.port).render_as_string(hide_password=False)

    @property
    def frozen(self) -> bool:
        return not self._flowing.is_set()

    def freeze(self) -> None:
        """Stop passing bytes, both ways, on every connection (open ones and new ones)."""
        self._call(self._set(False))

    def thaw(self) -> None:
        """Pass bytes again; whatever waited is delivered."""
        self._call(self._set(True))

    async def _set(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._flowing.wait()
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.upstream)
            except OSError:  # the server is down: the client sees its connection closed
                client_writer.close()
                return
            await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        except asyncio.CancelledError:  # close(): end quietly
            pass
        finally:
            self._tasks.discard(task)
            client_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        """Close the listening socket and every relayed connection; stop the thread."""
        if not self._loop.is_running():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
