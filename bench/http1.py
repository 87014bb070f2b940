"""Lean HTTP/1.1 for the bench's own side: a keep-alive client connection and a small server.

P5's driver and its fake WeChat Pay run on the two cores the server is measured on, and
aiohttp's client and server cost several times what the bytes need. These send and read the
same requests and answers (HTTP/1.1, keep-alive, Content-Length bodies) on asyncio streams.
Chunked bodies are refused, not read: nothing the bench talks to sends them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus

Handler = Callable[[str, bytes], tuple[int, bytes, str]]  # (path, body) -> status, body, type


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One request or answer: its first line, its headers (names lowercased), its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head[:-4].split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"transfer-encoding" in headers:
        raise ValueError("a chunked body: not read here")
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return first, headers, body


class Connection:
    """One keep-alive connection to ``host:port``, one request at a time (reopened if closed)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None or self._reader.at_eof():
            self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        self._writer.write("\r\n".join(lines).encode() + body)
        first, answer_headers, answer = await read_message(self._reader)
        if answer_headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(first.split(b" ", 2)[1]), answer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class Listener:
    """Answers every request on ``host:port`` with ``handler(path, body)``, keeping
    connections open between requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, host, port)

    async def stop(self) -> None:
        """Stop listening, close open connections and wait for their handlers to end."""
        if self._server is not None:
            self._server.close()
        handlers = list(self._open.values())
        for writer in list(self._open):
            writer.close()  # its reader sees the end: the handler returns
        await asyncio.gather(*handlers, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open[writer] = task
        try:
            while True:
                first, _, body = await read_message(reader)
                path = first.split(b" ", 2)[1].decode()
                status, answer, content_type = self.handler(path, body)
                head = (
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(answer)}\r\n\r\n"
                )
                writer.write(head.encode() + answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the connection was closed
        finally:
            del self._open[writer]
            writer.close()
