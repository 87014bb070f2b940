"""Bad bodies get 4xx problems, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, Field

from miniapp_api.http import parse_body, respond
from qunshop.assembly.app import create_app
from qunshop.config import Settings


class Echo(BaseModel):
    name: str = Field(min_length=1)
    qty: int = Field(ge=1)


@pytest.fixture
async def echo_client(make_settings: Any, start_client: Any) -> TestClient:
    async def echo(request: web.Request) -> web.Response:
        body = await parse_body(request, Echo)
        return respond(body, 201)

    app = create_app(make_settings(max_body_bytes=2048))
    app.router.add_post("/echo", echo)
    return await start_client(app)


async def test_valid_body(echo_client: TestClient) -> None:
    resp = await echo_client.post("/echo", json={"name": "橙子", "qty": 2})
    assert resp.status == 201
    assert await resp.json() == {"name": "橙子", "qty": 2}


async def test_malformed_json(echo_client: TestClient) -> None:
    resp = await echo_client.post(
        "/echo", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["code"] == "malformed_json"


async def test_wrong_content_type(echo_client: TestClient) -> None:
    resp = await echo_client.post("/echo", data="name=x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    assert (await resp.json())["code"] == "unsupported_media_type"


async def test_oversized_body(echo_client: TestClient) -> None:
    resp = await echo_client.post(
        "/echo",
        data=b'{"name": "' + b"x" * 5000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"


async def test_validation_lists_failing_fields(echo_client: TestClient) -> None:
    resp = await echo_client.post("/echo", json={"name": "", "qty": 0, "extra": 1})
    assert resp.status == 422
    body = await resp.json()
    assert body["code"] == "validation_failed"
    failing = {tuple(e["loc"]) for e in body["errors"]}
    assert failing == {("name",), ("qty",)}


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null", b"3", b""])
async def test_body_of_wrong_shape(echo_client: TestClient, raw: bytes) -> None:
    resp = await echo_client.post("/echo", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 422
    assert (await resp.json())["code"] == "validation_failed"


async def test_settings_fixture_is_test_mode(settings: Settings) -> None:
    assert settings.mode == "test"
