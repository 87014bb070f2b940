"""POST /api/v1/teams/{ref}/join (and a team's start) with ``"pay": true``: the Reservation and
wx.requestPayment's parameters in one answer; a refused payment keeps the seat and says why."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from miniapp_api.commerce_schemas import PayParams, Reservation
from miniapp_api.shown import orders_out, teams_out
from models.community import Community
from models.groupbuy import Seat, SeatStatus, Team
from models.identity import IdentityStatus, LeaderIdentity
from models.order import Order, OrderStatus
from models.user import User
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat
from wechat import pay


async def _start(client: TestClient, settings: Settings, **campaign: Any) -> str:
    """A team of three started by someone: its code."""
    made = await make_campaign(team_size=3, **campaign)
    started = await client.post(
        f"/api/v1/campaigns/{made.id}/teams", json={}, headers=auth(await make_user(), settings)
    )
    assert started.status == 201, await started.text()
    return (await started.json())["team"]["code"]


async def _join(
    client: TestClient, settings: Settings, code: str, user: User, **headers: str
) -> tuple[int, bytes]:
    answer = await client.post(
        f"/api/v1/teams/{code}/join",
        json={"pay": True},
        headers={**auth(user, settings), **headers},
    )
    return answer.status, await answer.read()


async def _as_documented(client: TestClient, body: bytes, user: User) -> dict[str, Any]:
    """``body`` against /openapi.json's Reservation, and the response models' bytes for it."""
    doc = await (await client.get("/openapi.json")).json()
    schema = {"$ref": "#/components/schemas/Reservation", "components": doc["components"]}
    answer = Reservation.model_validate_json(body)
    shown = answer.model_dump(mode="json", by_alias=True)
    errors = list(Draft202012Validator(schema).iter_errors(shown))
    assert not errors, errors
    (team,) = await teams_out([await Team.get(id=answer.team.id)])
    (order,) = await orders_out([await Order.get(id=answer.order.id, user_id=user.id)])
    rendered = Reservation(
        team=team, order=order, payment=answer.payment, payment_error=answer.payment_error
    )
    assert body == rendered.model_dump_json(by_alias=True).encode()
    return shown


def _signed(params: dict[str, str], settings: Settings) -> bool:
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    key = settings.pay_api_key.get_secret_value()
    return pay.verify({**unsigned, "sign": params["paySign"]}, key)


async def test_a_join_with_pay_answers_the_seat_and_signed_payment_params(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    code = await _start(client, settings, group_price=1990)
    member = await make_user()

    status, body = await _join(client, settings, code, member)

    assert status == 201, body
    answer = await _as_documented(client, body, member)
    order = await Order.get(id=answer["order"]["id"])
    params = answer["payment"]
    assert answer["payment_error"] is None
    assert set(params) == set(PayParams.model_json_schema(by_alias=True)["properties"])
    assert params["package"] == f"prepay_id={wechat.pay_orders[order.out_trade_no]['prepay_id']}"
    assert params["appId"] == settings.wechat_appid and _signed(params, settings)
    placed = wechat.pay_orders[order.out_trade_no]
    assert (placed["total_fee"], placed["openid"]) == ("1990", member.openid)
    assert order.prepaid_at is not None  # the price is fixed, as prepay fixes it
    assert answer["order"]["status"] == "pending_payment"


async def test_a_start_with_pay_prepares_the_heads_payment(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3, group_price=990, head_price=790)
    head = await make_user()

    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={"pay": True}, headers=auth(head, settings)
    )

    assert started.status == 201, await started.text()
    answer = await _as_documented(client, await started.read(), head)
    order = await Order.get(id=answer["order"]["id"])
    assert answer["payment_error"] is None and _signed(answer["payment"], settings)
    assert wechat.pay_orders[order.out_trade_no]["total_fee"] == "790"


async def test_a_refused_payment_keeps_the_seat_says_why_and_prepay_works_later(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    code = await _start(client, settings)
    member = await make_user()
    mch_id, wechat.mch_id = wechat.mch_id, "1900000109"  # WeChat Pay answers FAIL: not ours

    status, body = await _join(client, settings, code, member)

    assert status == 201, body
    answer = await _as_documented(client, body, member)
    assert answer["payment"] is None
    assert answer["payment_error"]["code"] == "payment_provider_error"
    assert answer["payment_error"]["detail"]
    seat = await Seat.get(order_id=answer["order"]["id"])
    assert (seat.user_id, seat.status) == (member.id, SeatStatus.RESERVED)

    wechat.mch_id = mch_id
    later = await client.post(
        f"/api/v1/orders/{seat.order_id}/prepay", headers=auth(member, settings)
    )
    assert later.status == 200, await later.text()
    assert _signed(await later.json(), settings)


async def test_an_unverified_leader_keeps_the_seat_and_prepay_answers_the_same_code(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    campaign = await make_campaign(team_size=3)
    leader_id = (await Community.get(id=campaign.community_id)).leader_id
    code = await _start(client, settings, community=await Community.get(id=campaign.community_id))
    leader = await User.get(id=leader_id)  # details the provider does not match
    refused = await client.post(
        "/api/v1/me/leader/identity",
        json={"real_name": "假名字", "phone": "13800138000"},
        headers=auth(leader, settings),
    )
    assert refused.status == 422, await refused.text()
    assert (await LeaderIdentity.get(user_id=leader_id)).status is IdentityStatus.FAILED
    member = await make_user()

    status, body = await _join(client, settings, code, member)

    assert status == 201, body
    answer = await _as_documented(client, body, member)
    assert answer["payment"] is None
    assert answer["payment_error"]["code"] == "leader_not_verified"
    order = await Order.get(id=answer["order"]["id"])
    assert (order.status, order.prepaid_at) == (OrderStatus.PENDING_PAYMENT, None)
    assert wechat.calls_to("/pay/unifiedorder") == []
    later = await client.post(f"/api/v1/orders/{order.id}/prepay", headers=auth(member, settings))
    assert later.status == 409
    assert (await later.json())["code"] == "leader_not_verified"


async def test_a_repeat_with_the_same_idempotency_key_answers_the_same_seat_and_payment(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    code = await _start(client, settings)
    member = await make_user()
    key = {"Idempotency-Key": "join-pay-1"}

    first = await _join(client, settings, code, member, **key)
    again = await _join(client, settings, code, member, **key)

    assert first[0] == again[0] == 201
    shown = await _as_documented(client, first[1], member)
    replayed = await _as_documented(client, again[1], member)
    assert replayed["team"] == shown["team"]
    assert replayed["order"] == shown["order"]
    assert await Order.filter(user_id=member.id).count() == 1
    for answer in (shown, replayed):
        assert answer["payment_error"] is None
        assert _signed(answer["payment"], settings)
    # Asked again for the same out_trade_no, WeChat Pay answers the same prepay_id.
    assert replayed["payment"]["package"] == shown["payment"]["package"]
    assert len(wechat.calls_to("/pay/unifiedorder")) == 2


async def test_a_keyed_join_asks_wechat_pay_once_its_seat_committed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """Under an Idempotency-Key the seat and its recorded answer commit first: WeChat Pay is
    asked with no team or stock lock held (a slow WeChat Pay holds up no other join)."""
    code = await _start(client, settings)
    member = await make_user()
    seen: list[int] = []

    async def look() -> None:  # another connection: sees committed rows only
        seen.append(await Order.filter(user_id=member.id).count())

    wechat.on_unified_order = look
    status, body = await _join(client, settings, code, member, **{"Idempotency-Key": "k-1"})

    assert status == 201
    assert seen == [1]
    answer = await _as_documented(client, body, member)
    assert _signed(answer["payment"], settings)


async def test_without_pay_the_answer_is_todays(client: TestClient, settings: Settings) -> None:
    code = await _start(client, settings)
    member = await make_user()

    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={"pay": False}, headers=auth(member, settings)
    )

    assert joined.status == 201
    answer = await joined.json()
    assert set(answer) == {"team", "order"}
    assert (await Order.get(id=answer["order"]["id"])).prepaid_at is None


async def test_pay_is_a_json_boolean(client: TestClient, settings: Settings) -> None:
    code = await _start(client, settings)
    joined = await client.post(
        f"/api/v1/teams/{code}/join", json={"pay": "yes"}, headers=auth(await make_user(), settings)
    )
    assert joined.status == 422


async def test_the_document_describes_pay_and_its_answer(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert schemas["JoinTeamIn"]["properties"]["pay"]["type"] == "boolean"
    assert schemas["StartTeamIn"]["properties"]["pay"]["type"] == "boolean"
    reservation = schemas["Reservation"]["properties"]
    assert {"payment", "payment_error"} <= set(reservation)
    assert schemas["PaymentError"]["properties"]["code"]["enum"] == [
        "leader_not_verified",
        "order_not_found",
        "order_not_payable",
        "payment_provider_error",
    ]
    # A refused payment is part of a 201, not an error answer of the join.
    join = doc["paths"]["/api/v1/teams/{team_ref}/join"]["post"]
    assert "502" not in join["responses"]
    assert not {"leader_not_verified", "payment_provider_error"} & set(join["x-error-codes"])
