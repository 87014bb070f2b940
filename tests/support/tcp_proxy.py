"""A TCP proxy a test can cut, to make a real dependency look down (or slow)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random

from qunshop import dburl


class TcpProxy:
    """``delay`` seconds added to every chunk each way, plus up to ``jitter`` more at random
    (order within a connection is kept); ``stop()`` cuts, ``resume()`` listens again;
    ``hold_replies()`` delays only the target's answers that carry a marker."""

    def __init__(
        self, target_host: str, target_port: int, delay: float = 0.0, *, jitter: float = 0.0
    ) -> None:
        # A host starting with "/" is a Unix socket's path (the port is then ignored).
        self.target = (target_host, target_port)
        self.delay = delay
        self.jitter = jitter
        self._marker = b""
        self._marker_delay = 0.0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.openings: list[bytes] = []  # the first chunk each client sent
        self._pumps: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    def hold_replies(self, marker: bytes, seconds: float) -> None:
        """Delay by ``seconds`` each chunk the target sends that contains ``marker`` (such as
        PostgreSQL's b"COMMIT\\x00"): the work is done there, the client hears of it late.
        An empty marker stops it."""
        self._marker, self._marker_delay = marker, seconds

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if self.delay or self.jitter:
                    await asyncio.sleep(self.delay + random.uniform(0, self.jitter))
                if replies and self._marker and self._marker in data:
                    await asyncio.sleep(self._marker_delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.target[0].startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(self.target[0])
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        # Every client of these servers speaks first (PostgreSQL's startup, Redis's command).
        try:
            first = await reader.read(65536)
        except ConnectionError:
            first = b""
        self.openings.append(first)
        up_writer.write(first)
        if not first:
            writer.close()
            up_writer.close()
            return
        for pump in (self._pump(reader, up_writer), self._pump(up_reader, writer, replies=True)):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    @property
    def running(self) -> bool:
        return self._server is not None

    async def resume(self) -> None:
        """Listen again on the same port, as a restarted dependency comes back."""
        if self._server is None:
            await self.start(self.port)

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.close()
        self._writers.clear()
        for task in list(self._pumps):
            task.cancel()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)


def database_proxy(url: str, delay: float = 0.0, *, jitter: float = 0.0) -> TcpProxy:
    """A proxy in front of the database of ``url`` (on TCP or on a Unix socket)."""
    parsed = dburl.parse(url)
    host = parsed.host or "127.0.0.1"
    if parsed.on_socket:
        host = f"{host}/.s.PGSQL.{parsed.port}"
    return TcpProxy(host, parsed.port, delay, jitter=jitter)


def via_proxy(url: str, proxy: TcpProxy) -> str:
    """``url`` with the proxy (listening on the loopback) in place of the database."""
    parsed = dburl.parse(url)
    return dataclasses.replace(parsed, host="127.0.0.1", port=proxy.port).url()
