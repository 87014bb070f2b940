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


async def test_only_the_shops_templates_are_kept(client: TestClient, settings: Settings) -> None:
    """An id that is none of the shop's templates could never carry a message: alone it is
    refused, beside a known one it is left out and named."""
    me = await make_user()
    arrived = settings.subscribe_template_arrived
    alone = await client.post(
        "/api/v1/me/subscriptions",
        json={"template_ids": ["made-up-id"]},
        headers=auth(me, settings),
    )
    assert alone.status == 422
    body = await alone.json()
    assert body["code"] == "unknown_subscribe_template"
    assert arrived in body["known"]
    assert not await SubscribeConsent.filter(user_id=me.id).exists()

    mixed = await client.post(
        "/api/v1/me/subscriptions",
        json={"template_ids": ["made-up-id", arrived]},
        headers=auth(me, settings),
    )
    assert mixed.status == 200
    assert await mixed.json() == {"remaining": {arrived: 1}, "ignored": ["made-up-id"]}
    kept = await SubscribeConsent.filter(user_id=me.id).values_list("template_id", flat=True)
    assert kept == [arrived]


async def test_the_mini_program_reads_which_templates_to_ask_for(
    client: TestClient, settings: Settings
) -> None:
    """The tmplIds for wx.requestSubscribeMessage come from the shop, with what each may still
    carry to the caller."""
    me = await make_user()
    headers = auth(me, settings)
    before = await (await client.get("/api/v1/me/subscriptions", headers=headers)).json()
    assert before["templates"]["arrived"] == settings.subscribe_template_arrived
    assert before["templates"]["team_succeeded"] == settings.subscribe_template_team_succeeded
    assert set(before["remaining"]) == set(before["templates"].values())
    assert set(before["remaining"].values()) == {0}

    await client.post(
        "/api/v1/me/subscriptions",
        json={"template_ids": [settings.subscribe_template_arrived] * 2},
        headers=headers,
    )
    after = await (await client.get("/api/v1/me/subscriptions", headers=headers)).json()
    assert after["remaining"][settings.subscribe_template_arrived] == 1  # one tap, one message
    assert after["remaining"][settings.subscribe_template_refunded] == 0
