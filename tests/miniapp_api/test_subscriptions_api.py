"""The subscribe templates a shopper accepted in wx.requestSubscribeMessage."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.activity import SubscribeConsent
from qunshop.config import Settings
from tests.support.factories import auth, make_user


async def test_a_template_id_no_template_has_is_refused_not_a_500(
    client: TestClient, settings: Settings
) -> None:
    """Template ids are at most 64 characters (WeChat's are 43) and not blank."""
    me = await make_user()
    for bad in ("t" * 65, "", "   "):
        refused = await client.post(
            "/api/v1/me/subscriptions", json={"template_ids": [bad]}, headers=auth(me, settings)
        )
        assert refused.status == 422, await refused.text()
        body = await refused.json()
        assert body["code"] == "validation_failed" and body["errors"][0]["loc"][0] == "template_ids"
    assert not await SubscribeConsent.filter(user_id=me.id).exists()
    accepted = await client.post(
        "/api/v1/me/subscriptions",
        json={"template_ids": [settings.subscribe_template_arrived]},
        headers=auth(me, settings),
    )
    assert accepted.status == 200
    assert (await accepted.json())["remaining"] == {settings.subscribe_template_arrived: 1}
