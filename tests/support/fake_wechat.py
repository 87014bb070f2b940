"""A fake WeChat API server: records what was sent and answers as the documented protocol does.

Later issues add endpoints; each handler appends ``(path, query, body)`` to ``calls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class FakeWeChat:
    calls: list[Call] = field(default_factory=list)
    # js_code -> the JSON answer of jscode2session
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def _record(self, request: web.Request) -> Call:
        call = Call(request.path, dict(request.query), await request.read())
        self.calls.append(call)
        return call

    async def jscode2session(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        answer = self.sessions.get(call.query.get("js_code", ""))
        if answer is None:
            answer = {"errcode": 40029, "errmsg": "invalid code"}
        # WeChat answers 200 with text/plain even on errors.
        return web.json_response(answer, content_type="text/plain")

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/sns/jscode2session", self.jscode2session)
        return app
