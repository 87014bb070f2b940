"""The activities API: schedule, list, edit (reschedules), cancel; check in; buy a flash sale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.activity import Activity, ActivityRun
from models.catalog import Sku
from models.community import Community
from models.order import Order
from models.user import Role, User
from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import auth, make_community, make_sku, make_user

START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # Monday 08:30 in Shanghai


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def api(settings: Settings, clock: FrozenClock, start_client: Any) -> TestClient:
    return await start_client(create_app(settings, clock=clock, background=False))


@pytest.fixture
async def place() -> tuple[Community, User]:
    community = await make_community()
    return community, await community.leader


def _base(community: Community) -> str:
    return f"/api/v1/communities/{community.id}/activities"


async def test_schedule_list_edit_and_cancel(
    api: TestClient, settings: Settings, clock: FrozenClock, place: tuple[Community, User]
) -> None:
    community, leader = place
    headers = auth(leader, settings, START)
    resp = await api.post(
        _base(community),
        json={"kind": "announcement", "text": "明早到货", "cron": "0 9 * * *"},
        headers=headers,
    )
    assert resp.status == 201
    made = await resp.json()
    assert made["next_run_at"].startswith("2026-03-02T01:00:00")
    assert made["active"] and made["flash_sale"] is None and made["text"] == "明早到货"

    listing = await (await api.get(_base(community), headers=headers)).json()
    assert [a["id"] for a in listing["items"]] == [made["id"]]

    one = f"{_base(community)}/{made['id']}"
    resp = await api.patch(one, json={"run_at": "2026-03-05T20:00:00+08:00"}, headers=headers)
    assert resp.status == 200
    edited = await resp.json()
    assert edited["cron"] is None and edited["next_run_at"].startswith("2026-03-05T12:00:00")
    assert (await Activity.get(id=made["id"])).next_run_at == datetime(
        2026, 3, 5, 12, 0, tzinfo=UTC
    )
    resp = await api.patch(one, json={"text": "改了"}, headers=headers)
    assert (await resp.json())["text"] == "改了"

    resp = await api.delete(one, headers=headers)
    assert resp.status == 204
    assert (await (await api.get(_base(community), headers=headers)).json())["items"] == []
    everything = await (await api.get(f"{_base(community)}?all=true", headers=headers)).json()
    assert everything["items"][0]["active"] is False
    gone = await (await api.get(one, headers=headers)).json()
    assert gone["next_run_at"] is None
    again = await api.patch(one, json={"text": "复活"}, headers=headers)
    assert again.status == 409
    assert await ActivityRun.all().count() == 0


async def test_bad_input_is_422_with_the_field(
    api: TestClient, settings: Settings, place: tuple[Community, User]
) -> None:
    community, leader = place
    headers = auth(leader, settings, START)

    async def refused(body: dict[str, Any]) -> dict[str, Any]:
        resp = await api.post(_base(community), json=body, headers=headers)
        assert resp.status == 422, body
        return await resp.json()

    bad_cron = await refused({"kind": "announcement", "text": "x", "cron": "0 9 * * mon-xyz"})
    assert bad_cron["code"] == "validation_failed"
    assert bad_cron["errors"][0]["type"] == "invalid_cron" and "cron" in bad_cron["detail"]
    past = await refused({"kind": "checkin", "run_at": "2026-03-01T09:00:00+08:00"})
    assert past["errors"][0]["type"] == "in_the_past"
    naive = await refused({"kind": "checkin", "run_at": "2026-04-01T09:00:00"})
    assert naive["errors"][0]["loc"][-1] == "run_at"
    neither = await refused({"kind": "checkin"})
    assert neither["errors"][0]["type"] == "schedule_required"
    assert (await refused({"kind": "party", "cron": "0 9 * * *"}))["code"] == "validation_failed"
    assert await Activity.all().count() == 0


async def test_someone_elses_community_is_403(
    api: TestClient, settings: Settings, place: tuple[Community, User]
) -> None:
    community, leader = place
    other = await make_user(Role.LEADER)
    await make_community(other)
    body = {"kind": "announcement", "text": "x", "cron": "0 9 * * *"}
    resp = await api.post(_base(community), json=body, headers=auth(other, settings, START))
    assert resp.status == 403 and (await resp.json())["code"] == "not_community_leader"
    shopper = await api.post(
        _base(community), json=body, headers=auth(await make_user(), settings, START)
    )
    assert shopper.status == 403
    made = await (
        await api.post(_base(community), json=body, headers=auth(leader, settings, START))
    ).json()
    one = f"{_base(community)}/{made['id']}"
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"headers": auth(other, settings, START)}
        if method == "patch":
            kwargs["json"] = {"text": "hijack"}
        resp = await getattr(api, method)(one, **kwargs)
        assert resp.status == 403, method
    assert (await Activity.get(id=made["id"])).active
    missing = await api.get(
        f"{_base(community)}/00000000-0000-0000-0000-000000000000",
        headers=auth(leader, settings, START),
    )
    assert missing.status == 404
    no_place = await api.get(
        "/api/v1/communities/nope/activities", headers=auth(leader, settings, START)
    )
    assert no_place.status == 404 and (await no_place.json())["code"] == "community_not_found"


async def test_flash_sale_scheduled_and_bought_once_per_key(
    api: TestClient, settings: Settings, clock: FrozenClock, place: tuple[Community, User]
) -> None:
    community, leader = place
    sku = await make_sku(community, stock=20)
    body = {
        "kind": "flash_sale",
        "title": "鸡蛋",
        "run_at": "2026-03-02T20:00:00+08:00",
        "flash_sale": {"sku_id": str(sku.id), "price": 990, "stock": 10, "per_user_limit": 2},
    }
    resp = await api.post(_base(community), json=body, headers=auth(leader, settings, START))
    assert resp.status == 201
    sale = (await resp.json())["flash_sale"]
    assert sale["stock_left"] == 10 and sale["ends_at"].startswith("2026-03-02T12:30:00")
    clock.set(datetime(2026, 3, 2, 12, 1, tzinfo=UTC))
    buyer = await make_user()
    headers = {**auth(buyer, settings, clock.now()), "Idempotency-Key": "buy-1"}
    url = f"/api/v1/flash-sales/{sale['id']}/buy"
    first = await api.post(url, json={}, headers=headers)
    second = await api.post(url, json={}, headers=headers)
    assert first.status == second.status == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert (await first.json())["id"] == (await second.json())["id"]
    assert (await first.json())["kind"] == "flash"
    assert await Order.filter(user_id=buyer.id).count() == 1


async def test_a_flash_sale_shows_what_is_on_sale(
    api: TestClient, settings: Settings, place: tuple[Community, User]
) -> None:
    """The shopper's card needs the product: its name, its picture and the usual price."""
    community, leader = place
    sku = await make_sku(community, price=1590, stock=20)
    photo = "https://img.example.com/eggs.jpg"
    patched = await api.patch(
        f"/api/v1/products/{sku.product_id}",
        json={"images": [photo]},
        headers=auth(leader, settings, START),
    )
    assert patched.status == 200, await patched.text()
    body = {
        "kind": "flash_sale",
        "title": "鸡蛋",
        "run_at": "2026-03-02T20:00:00+08:00",
        "flash_sale": {"sku_id": str(sku.id), "price": 990, "stock": 10, "per_user_limit": 2},
    }
    resp = await api.post(_base(community), json=body, headers=auth(leader, settings, START))
    sale = (await resp.json())["flash_sale"]
    got = await api.get(f"/api/v1/flash-sales/{sale['id']}")  # no login: a shared card
    assert got.status == 200
    card = await got.json()
    assert (card["price"], card["stock_left"]) == (990, 10)
    assert card["product"] == {
        "id": str(sku.product_id),
        "title": "测试商品",
        "sku_name": "默认",
        "image": photo,
        "images": [photo],
        "regular_price": 1590,
    }
    doc = await (await api.get("/openapi.json")).json()
    schema = doc["paths"]["/api/v1/flash-sales/{sale_id}"]["get"]["responses"]["200"]
    ref = schema["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "product" in doc["components"]["schemas"][ref]["required"]


async def test_check_in(
    api: TestClient, settings: Settings, clock: FrozenClock, place: tuple[Community, User]
) -> None:
    community, _ = place
    shopper = await make_user()
    url = f"/api/v1/communities/{community.id}/checkin"
    stranger = await api.post(url, headers=auth(shopper, settings, START))
    assert stranger.status == 403
    assert (await stranger.json())["code"] == "not_community_member"
    members = f"/api/v1/communities/{community.id}/members"
    assert (await api.post(members, headers=auth(shopper, settings, START))).status in (200, 201)
    first = await (await api.post(url, headers=auth(shopper, settings, START))).json()
    assert first == {"day": "2026-03-02", "streak": 1, "points": 1, "balance": 1, "created": True}
    again = await (await api.post(url, headers=auth(shopper, settings, START))).json()
    assert again["created"] is False and again["balance"] == 1
    clock.advance(timedelta(days=1))
    next_day = await (await api.post(url, headers=auth(shopper, settings, clock.now()))).json()
    assert (next_day["streak"], next_day["balance"]) == (2, 3)
    anonymous = await api.post(url)
    assert anonymous.status == 401


async def test_a_flash_price_above_the_list_price_is_refused(
    api: TestClient, settings: Settings, place: tuple[Community, User]
) -> None:
    community, leader = place
    sku = await make_sku(community, price=3580, stock=20)
    body = {
        "kind": "flash_sale",
        "title": "鸡蛋",
        "run_at": "2026-03-02T20:00:00+08:00",
        "flash_sale": {"sku_id": str(sku.id), "price": 3590, "stock": 10},
    }
    resp = await api.post(_base(community), json=body, headers=auth(leader, settings, START))
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == "price_above_list", problem
    assert await Activity.filter(community_id=community.id).count() == 0
    assert (await Sku.get(id=sku.id)).stock == 20
