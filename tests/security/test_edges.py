"""Inputs an outside test campaign sent (issue #14): each is refused cleanly, never a 500."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def _code(resp, status: int) -> str:  # type: ignore[no-untyped-def]
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    return (await resp.json())["code"]


async def test_an_integer_of_thousands_of_digits_is_malformed_json(client: TestClient) -> None:
    """json.loads raises a plain ValueError past 4,300 digits: that was a 500, without login."""
    huge = "9" * 4301
    resp = await client.post(
        "/api/v1/session", data=f'{{"code": {huge}}}', headers={"Content-Type": "application/json"}
    )
    assert await _code(resp, 400) == "malformed_json"


async def test_nan_and_infinity_are_not_json(client: TestClient) -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        resp = await client.post(
            "/api/v1/session",
            data=f'{{"code": {constant}}}',
            headers={"Content-Type": "application/json"},
        )
        assert await _code(resp, 400) == "malformed_json", constant


async def test_a_405_names_the_allowed_methods(client: TestClient) -> None:
    resp = await client.delete("/api/v1/session")
    assert await _code(resp, 405) == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) == {"POST"}
    resp = await client.put("/api/v1/orders")
    assert resp.status == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == {"GET", "HEAD", "POST"}
