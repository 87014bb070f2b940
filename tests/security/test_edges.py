"""Inputs an outside test campaign sent (issue #14): each is refused cleanly, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from miniapp_api.fields import NO_NUL, NOT_BLANK, SHARE_CODE
from models.activity import FlashSale
from models.catalog import Sku
from models.groupbuy import Campaign
from models.growth import GrowthRules
from models.limits import MAX_PRICE
from models.order import Order
from models.user import Role, User
from qunshop.config import Settings
from tests.support.factories import auth, make_community, make_sku, make_user


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


async def test_prices_past_the_integer_columns_are_422_not_500(
    client: TestClient, settings: Settings
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    sku = await make_sku(community, stock=50)
    headers = auth(leader, settings)
    start = datetime.now(tz=UTC) + timedelta(hours=1)
    campaign = {
        "community_id": str(community.id),
        "sku_id": str(sku.id),
        "title": "too dear",
        "group_price": 2**31,
        "team_size": 2,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=1)).isoformat(),
        "stock_cap": 1,
    }
    resp = await client.post("/api/v1/campaigns", json=campaign, headers=headers)
    assert await _code(resp, 422) == "validation_failed"
    assert [e["loc"] for e in (await resp.json())["errors"]] == [["group_price"]]
    sale = {"sku_id": str(sku.id), "price": 2**31, "stock": 1}
    activity = {"kind": "flash_sale", "run_at": start.isoformat(), "flash_sale": sale}
    path = f"/api/v1/communities/{community.id}/activities"
    resp = await client.post(path, json=activity, headers=headers)
    assert await _code(resp, 422) == "validation_failed"
    # within each bound, but the largest order would pass the amount column
    sale = {"sku_id": str(sku.id), "price": MAX_PRICE, "stock": 30, "per_user_limit": 22}
    resp = await client.post(path, json={**activity, "flash_sale": sale}, headers=headers)
    assert await _code(resp, 422) == "amount_out_of_range"
    assert await Campaign.all().count() == 0 and await FlashSale.all().count() == 0
    assert (await Sku.get(id=sku.id)).stock == 50


async def test_a_direct_order_past_the_amount_column_is_422(
    client: TestClient, settings: Settings
) -> None:
    sku = await make_sku(price=MAX_PRICE, stock=100)  # the dearest price a SKU may have
    headers = auth(await make_user(), settings)
    resp = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 22}, headers=headers
    )
    assert await _code(resp, 422) == "amount_out_of_range"
    assert await Order.all().count() == 0 and (await Sku.get(id=sku.id)).stock == 100
    resp = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 21}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["amount"] == 21 * MAX_PRICE


async def test_booleans_and_numeric_strings_are_not_integers(
    client: TestClient, settings: Settings
) -> None:
    sku = await make_sku(stock=100)
    headers = auth(await make_user(), settings)
    for quantity in (True, "3", 2.5):
        resp = await client.post(
            "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": quantity}, headers=headers
        )
        assert await _code(resp, 422) == "validation_failed", quantity
        assert [e["loc"] for e in (await resp.json())["errors"]] == [["quantity"]]
    assert await Order.all().count() == 0
    # 3.0 is the integer 3 to JSON Schema, and so to the server
    resp = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 3.0}, headers=headers
    )
    assert resp.status == 201 and (await resp.json())["quantity"] == 3

    admin = auth(await make_user(Role.ADMIN), settings)
    rules = {
        "leader_share_bps": True,
        "invite_commission_bps": [300, 100],
        "binding_scope": "any",
        "binding_days": 30,
    }
    for bad in ({"leader_share_bps": True}, {"invite_commission_bps": ["300"]}):
        resp = await client.put("/api/v1/growth/rules", json={**rules, **bad}, headers=admin)
        assert await _code(resp, 422) == "validation_failed", bad
    assert await GrowthRules.all().count() == 0
    resp = await client.put(
        "/api/v1/growth/rules", json={**rules, "leader_share_bps": 500}, headers=admin
    )
    assert resp.status == 200, await resp.text()


async def test_ids_that_are_not_uuids_are_refused_by_their_shape(
    client: TestClient, settings: Settings
) -> None:
    headers = auth(await make_user(), settings)
    resp = await client.post("/api/v1/orders", json={"sku_id": "nope"}, headers=headers)
    assert await _code(resp, 422) == "validation_failed"
    resp = await client.get("/api/v1/campaigns", params={"community_id": "nope"})
    assert await _code(resp, 422) == "validation_failed"
    resp = await client.post(
        "/api/v1/attribution/entries", json={"code": "not a code"}, headers=headers
    )
    assert await _code(resp, 422) == "validation_failed"


async def test_the_schema_says_what_the_server_checks(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    order = schemas["DirectOrderIn"]["properties"]
    assert order["sku_id"]["format"] == "uuid"
    assert (order["quantity"]["type"], order["quantity"]["maximum"]) == ("integer", 99)
    campaign = schemas["CampaignIn"]["properties"]
    assert campaign["group_price"]["maximum"] == MAX_PRICE
    assert campaign["guaranteed"]["type"] == "boolean"
    assert schemas["EntryIn"]["properties"]["code"]["pattern"] == SHARE_CODE
    assert schemas["RulesIn"]["properties"]["invite_commission_bps"]["maxItems"] == 2
    # PATCH fields may be left out but are never null
    title = schemas["ProductPatch"]["properties"]["title"]
    assert "anyOf" not in title and title["type"] == "string"
    # NUL nowhere; a trimmed required string keeps a character
    assert schemas["VerifyIn"]["properties"]["code"]["pattern"] == NO_NUL
    assert schemas["SkuIn"]["properties"]["name"]["pattern"] == NOT_BLANK
    [param] = doc["paths"]["/api/v1/campaigns/{campaign_id}"]["get"]["parameters"]
    assert param["schema"] == {"type": "string", "format": "uuid"}
    query = doc["paths"]["/api/v1/products"]["get"]["parameters"]
    [q] = [p["schema"] for p in query if p["name"] == "q"]
    assert {"type": "string", "maxLength": 64, "pattern": NO_NUL} in q["anyOf"]


async def test_a_nul_in_the_url_is_refused_by_every_door(
    client: TestClient, settings: Settings
) -> None:
    """%00 in a path segment or a query value reached PostgreSQL (which stores no NUL) as a
    500; one guard refuses it before any door: problem+json for the API, a page for pages."""
    from tests.web.test_aftercare_pages import _admin_session

    shopper = auth(await make_user(), settings)
    for method, path in (
        ("GET", "/api/v1/bargains/%00"),
        ("GET", "/api/v1/bargains/%00/share"),
        ("POST", "/api/v1/bargains/%00/cuts"),
        ("GET", "/api/v1/orders?cursor=%00"),
    ):
        resp = await client.request(method, path, headers=shopper)
        assert await _code(resp, 400) == "url_has_nul", path
    cookies = {"Cookie": await _admin_session(client)}
    for path in (
        "/h5/bargains/%00",
        "/admin/orders?q=%00",
        "/admin/users?q=a%00b",
        "/admin/audit?target=%00",
    ):
        resp = await client.get(path, headers=cookies)
        assert resp.status == 400, path
        assert resp.content_type == "text/html" and "请求有误" in await resp.text(), path
    fine = await client.get("/admin/users?q=%E5%BC%A0", headers=cookies)
    assert fine.status == 200
