from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from qunshop.assembly.app import create_app
from qunshop.config import Settings
from qunshop.errors import ErrorCode, NotFound
from qunshop.keys import CLOCK, HTTP, REDIS, SETTINGS, TASKS


async def test_factory_opens_every_resource(client: TestClient, settings: Settings) -> None:
    app = client.server.app
    assert app[SETTINGS] is settings
    assert await app[REDIS].ping()
    assert not app[HTTP].closed
    assert app[TASKS].pending == 0
    assert app[CLOCK].now().tzinfo is not None


async def test_healthz(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    assert len(resp.headers["X-Request-ID"]) >= 8


async def test_request_id_is_echoed_when_sane(client: TestClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"})
    assert resp.headers["X-Request-ID"] == "abc12345-trace"
    resp = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert resp.headers["X-Request-ID"] != "bad id\twith spaces"


async def test_request_id_is_made_when_missing(client: TestClient) -> None:
    made = {(await client.get("/healthz")).headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made)


async def test_unknown_route_is_a_problem(client: TestClient) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["code"] == "route_not_found"
    assert body["request_id"] == resp.headers["X-Request-ID"]


async def test_wrong_method_is_a_problem(client: TestClient) -> None:
    resp = await client.post("/healthz")
    assert resp.status == 405
    assert (await resp.json())["code"] == "method_not_allowed"


def _app_with_probe(settings: Settings, view: Any) -> web.Application:
    app = create_app(settings)
    app.router.add_post("/probe", view)
    return app


async def test_unexpected_error_leaks_nothing(
    settings: Settings, start_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: password=hunter2")

    client = await start_client(_app_with_probe(settings, boom))
    with caplog.at_level(logging.ERROR):
        resp = await client.post("/probe")
    assert resp.status == 500
    text = await resp.text()
    assert "hunter2" not in text and "RuntimeError" not in text
    body = json.loads(text)
    assert body["code"] == "internal_error"
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert body["request_id"] in caplog.text and "hunter2" in caplog.text


async def test_service_error_renders_its_code(settings: Settings, start_client: Any) -> None:
    async def missing(request: web.Request) -> web.Response:
        raise NotFound(ErrorCode.TEAM_NOT_FOUND, "no such team")

    client = await start_client(_app_with_probe(settings, missing))
    resp = await client.post("/probe")
    assert resp.status == 404
    body = await resp.json()
    assert body["code"] == "team_not_found"
    assert body["detail"] == "no such team"


async def test_a_dependency_outage_is_503_not_500(settings: Settings, start_client: Any) -> None:
    async def down(request: web.Request) -> web.Response:
        raise ConnectionRefusedError("database went away")

    client = await start_client(_app_with_probe(settings, down))
    resp = await client.post("/probe")
    assert resp.status == 503
    assert (await resp.json())["code"] == "service_unavailable"
