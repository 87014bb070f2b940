"""A start's and a join's answer, written straight from the statement's rows
(``shown.reservation_json``), is what /openapi.json promises and what the response models
write for the same rows read back: the same bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from miniapp_api.commerce_schemas import Reservation
from miniapp_api.shown import orders_out, teams_out
from models.catalog import Product
from models.groupbuy import Team
from models.order import Order
from models.user import Role
from qunshop.config import Settings
from services import tiers
from services.auth import Principal
from tests.support.factories import auth, make_campaign, make_user


async def _check(client: TestClient, body: bytes, user_id: uuid.UUID) -> dict[str, Any]:
    """``body`` against the document's schema, and against the models' own rendering."""
    doc = await (await client.get("/openapi.json")).json()
    schema = {"$ref": "#/components/schemas/Reservation", "components": doc["components"]}
    answer = Reservation.model_validate_json(body)  # parses as the model
    errors = list(Draft202012Validator(schema).iter_errors(answer.model_dump(mode="json")))
    assert not errors, errors
    order = await Order.get(id=answer.order.id, user_id=user_id)
    (team,) = await teams_out([await Team.get(id=answer.team.id)])
    (order_out,) = await orders_out([order])
    # Without pay, no payment fields at all: today's answer.
    rendered = Reservation(team=team, order=order_out).model_dump_json(
        by_alias=True, exclude_unset=True
    )
    assert body == rendered.encode()
    return answer.model_dump(mode="json")


async def test_start_and_join_answers_are_the_schemas_and_the_models_bytes(
    client: TestClient, settings: Settings
) -> None:
    campaign = await make_campaign(team_size=3, group_price=1990, head_price=1490)
    await Product.filter(skus__id=campaign.sku_id).update(
        title='赣南脐橙 "礼盒" \\ \n', images=["https://img.example/orange.jpg"]
    )
    head, friend = await make_user(nickname="王阿姨"), await make_user(nickname="小李 😀")

    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    assert started.status == 201, await started.text()
    assert started.content_type == "application/json"
    start = await _check(client, await started.read(), head.id)
    code = start["team"]["code"]
    assert (start["order"]["unit_price"], start["order"]["amount"]) == (1490, 1490)

    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(friend, settings)
    )
    assert joined.status == 201, await joined.text()
    join = await _check(client, await joined.read(), friend.id)
    team, order = join["team"], join["order"]
    assert (team["code"], team["seats_held"], team["seats_left"], team["status"]) == (
        code,
        2,
        1,
        "open",
    )
    assert team["guaranteed"] is False and team["final_price"] is None
    assert [m["nickname"] for m in team["members"]] == ["王阿姨", "小李 😀"]
    assert (order["kind"], order["status"], order["team_id"]) == (
        "group",
        "pending_payment",
        team["id"],
    )
    assert (order["unit_price"], order["list_price"], order["amount"], order["refunds"]) == (
        1990,
        1990,
        1990,
        [],
    )
    assert order["product"]["title"] == '赣南脐橙 "礼盒" \\ \n'
    assert order["reserved_until"].endswith("Z") and order["paid_at"] is None


async def test_a_member_priced_join_answers_its_discounted_order(
    client: TestClient, settings: Settings
) -> None:
    now = datetime.now(tz=UTC)
    boss = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
    ladder = tiers.Ladder(levels=(tiers.LevelSpec("铜卡", 0, discount_bps=200),))
    await tiers.set_ladder(ladder, actor=boss, now=now)
    campaign = await make_campaign(team_size=3, group_price=990)
    head, member = await make_user(), await make_user()
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    code = (await started.json())["team"]["code"]
    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={}, headers=auth(member, settings)
    )
    assert joined.status == 201, await joined.text()
    order = (await _check(client, await joined.read(), member.id))["order"]
    assert (order["unit_price"], order["member_off"], order["amount"]) == (990, 19, 971)
