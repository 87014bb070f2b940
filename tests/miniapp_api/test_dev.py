from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from qunshop.assembly.app import create_app
from tests.support.factories import make_user


async def test_dev_session_refused_outside_development(client: TestClient) -> None:
    await make_user()
    resp = await client.post("/api/v1/dev/session", json={"openid": "x"})
    assert resp.status == 403 and (await resp.json())["code"] == "simulation_disabled"


async def test_dev_session_in_development(make_settings: Any, start_client: Any) -> None:
    client = await start_client(create_app(make_settings(mode="development"), background=False))
    user = await make_user()
    resp = await client.post("/api/v1/dev/session", json={"openid": user.openid})
    assert resp.status == 200
    token = (await resp.json())["token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert (await me.json())["id"] == str(user.id)
    resp = await client.post("/api/v1/dev/session", json={"openid": "nobody"})
    assert resp.status == 401
