"""Lean HTTP/1.1 for the bench's own side: a keep-alive client connection and a small server.

P5's driver and its fake WeChat Pay run on the two cores the server is measured on, and
aiohttp's client and server cost several times what the bytes need. These send and read the
same requests and answers (HTTP/1.1, keep-alive, Content-Length bodies) as asyncio protocols:
the bytes of a message are read where they arrive (``data_received``), with no stream reader
and no task between the socket and the caller. Chunked bodies are refused, not read: nothing
the bench talks to sends them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
from typing import cast

Handler = Callable[[str, bytes], tuple[int, bytes, str]]  # (path, body) -> status, body, type

_PHRASES = {status.value: status.phrase for status in HTTPStatus}


class _Messages(asyncio.Protocol):
    """Cuts the bytes of one connection into messages (first line, headers, body) and hands
    each complete one to ``message``; ``ended`` when the peer closes or the bytes are not
    HTTP/1.1 with Content-Length bodies."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            first, *lines = buffer[:end].split(b"\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"transfer-encoding" in headers:
                self._fail(ValueError("a chunked body: not read here"))
                return
            size = int(headers.get(b"content-length", b"0"))
            if len(buffer) < end + 4 + size:
                break  # the body is still arriving
            body, buffer = buffer[end + 4 : end + 4 + size], buffer[end + 4 + size :]
            self.message(first, headers, body)
        self._buffer = buffer

    def _fail(self, exc: Exception) -> None:
        self._buffer = b""
        if self.transport is not None:
            self.transport.close()
        self.ended(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended(exc or ConnectionResetError("the connection was closed"))

    def message(self, first: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
        raise NotImplementedError

    def ended(self, exc: Exception) -> None:
        raise NotImplementedError


class _Answers(_Messages):
    """The client's side: each answer settles the request waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def message(self, first: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
        if headers.get(b"connection", b"").lower() == b"close":
            self.closed = True
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_result((int(first.split(b" ", 2)[1]), body))

    def ended(self, exc: Exception) -> None:
        self.closed = True
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_exception(exc)


class Connection:
    """One keep-alive connection to ``host:port``, one request at a time (reopened if closed)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._host_line = f"Host: {host}:{port}"
        self._transport: asyncio.Transport | None = None
        self._answers: _Answers | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        answers, transport = self._answers, self._transport
        if answers is None or transport is None or answers.closed:
            self.close()
            loop = asyncio.get_running_loop()
            transport, answers = await loop.create_connection(_Answers, self.host, self.port)
            self._answers, self._transport = answers, transport
        lines = [f"{method} {path} HTTP/1.1", self._host_line]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        answers.waiting = asyncio.get_running_loop().create_future()
        transport.write("\r\n".join(lines).encode() + body)
        return await answers.waiting

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._answers = self._transport = None


class _Serving(_Messages):
    """The server's side: each request is answered at once with the listener's handler."""

    def __init__(self, listener: Listener) -> None:
        super().__init__()
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.listener._open.add(self)

    def message(self, first: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
        assert self.transport is not None
        path = first.split(b" ", 2)[1].decode()
        status, answer, content_type = self.listener.handler(path, body)
        head = (
            f"HTTP/1.1 {status} {_PHRASES[status]}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(answer)}\r\n\r\n"
        )
        self.transport.write(head.encode() + answer)

    def ended(self, exc: Exception) -> None:
        self.listener._open.discard(self)


class Listener:
    """Answers every request on ``host:port`` with ``handler(path, body)``, keeping
    connections open between requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._server: asyncio.Server | None = None
        self._open: set[_Serving] = set()

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Serving(self), host, port)

    async def stop(self) -> None:
        """Stop listening and close the open connections."""
        if self._server is not None:
            self._server.close()
        for serving in list(self._open):
            if serving.transport is not None:
                serving.transport.close()
        self._open.clear()
        if self._server is not None:
            await self._server.wait_closed()
