"""Walking a paged API list to its end, as a client does: next_cursor until it is null."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def every_page(
    client: TestClient, path: str, *, headers: dict[str, str] | None = None, **params: str
) -> list[list[Any]]:
    """Each page's items, first to last; every answer must be a 200."""
    pages: list[list[Any]] = []
    query = dict(params)
    while True:
        resp = await client.get(path, params=query, headers=headers or {})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        query = {**params, "cursor": body["next_cursor"]}
