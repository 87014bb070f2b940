"""Products and SKUs through the HTTP door."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.catalog import Product, Sku
from models.community import Community
from models.user import Role, User
from qunshop.config import Settings
from tests.support.factories import auth, make_community, make_sku, make_user


def product_body(community: Community | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "赣南脐橙",
        "description": "当季现摘",
        "category": "fruit",
        "images": ["https://img.example.com/orange/1.jpg"],
        "community_id": str(community.id) if community is not None else None,
        "skus": [{"name": "5斤装", "price": 3990, "stock": 200}, {"name": "10斤装", "price": 6990}],
    }
    body.update(overrides)
    return body


async def leader_and_community() -> tuple[User, Community]:
    leader = await make_user(Role.LEADER)
    return leader, await make_community(leader)


async def create(client: TestClient, settings: Settings, user: User, **kw: Any) -> dict[str, Any]:
    resp = await client.post(
        "/api/v1/products", json=product_body(**kw), headers=auth(user, settings)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_leader_creates_a_product(client: TestClient, settings: Settings) -> None:
    leader, community = await leader_and_community()

    resp = await client.post(
        "/api/v1/products", json=product_body(community), headers=auth(leader, settings)
    )

    assert resp.status == 201
    body = await resp.json()
    row = await Product.get(id=body["id"])
    assert (row.title, row.community_id, row.created_by_id, row.active) == (
        "赣南脐橙",
        community.id,
        leader.id,
        True,
    )
    skus = {s.name: (s.price, s.stock) for s in await Sku.filter(product_id=row.id)}
    assert skus == {"5斤装": (3990, 200), "10斤装": (6990, 0)}
    assert body["community_id"] == str(community.id)
    assert body["images"] == ["https://img.example.com/orange/1.jpg"]
    assert [(s["name"], s["price"], s["stock"]) for s in body["skus"]] == [
        ("5斤装", 3990, 200),
        ("10斤装", 6990, 0),
    ]
    assert all(uuid.UUID(s["id"]) and s["product_id"] == body["id"] for s in body["skus"])


async def test_admin_creates_shop_wide(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    body = await create(client, settings, admin)
    assert body["community_id"] is None
    assert (await Product.get(id=body["id"])).community_id is None


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("shopper", 403, "forbidden"),
        ("other_leader", 403, "not_community_leader"),
        ("nobody", 401, "unauthenticated"),
    ],
)
async def test_who_cannot_create(
    client: TestClient, settings: Settings, who: str, status: int, code: str
) -> None:
    _, community = await leader_and_community()
    other_leader, _ = await leader_and_community()
    headers = {
        "shopper": auth(await make_user(), settings),
        "other_leader": auth(other_leader, settings),
        "nobody": {},
    }[who]

    resp = await client.post("/api/v1/products", json=product_body(community), headers=headers)

    assert resp.status == status
    assert (await resp.json())["code"] == code
    assert await Product.all().count() == 0


async def test_leader_cannot_create_shop_wide(client: TestClient, settings: Settings) -> None:
    leader, _ = await leader_and_community()
    resp = await client.post(
        "/api/v1/products", json=product_body(), headers=auth(leader, settings)
    )
    assert resp.status == 403
    assert (await resp.json())["code"] == "forbidden"


@pytest.mark.parametrize(
    ("overrides", "failing"),
    [
        ({"title": ""}, {("title",)}),
        ({"title": "   "}, {("title",)}),
        ({"skus": []}, {("skus",)}),
        ({"skus": [{"name": "a", "price": -1}]}, {("skus", "0", "price")}),
        ({"skus": [{"name": "a", "price": 1, "stock": -5}]}, {("skus", "0", "stock")}),
        ({"skus": [{"name": "a", "price": "1990"}]}, {("skus", "0", "price")}),
        ({"skus": [{"name": "a", "price": 19.9}]}, {("skus", "0", "price")}),
        ({"skus": [{"price": 1}]}, {("skus", "0", "name")}),
        ({"images": ["not a url"]}, {("images", "0")}),
        ({"community_id": "abc"}, {("community_id",)}),
        ({"colour": "red"}, {("colour",)}),
        (
            {"title": "", "skus": [{"name": "", "price": -1}]},
            {("title",), ("skus", "0", "name"), ("skus", "0", "price")},
        ),
    ],
)
async def test_create_validation(
    client: TestClient,
    settings: Settings,
    overrides: dict[str, Any],
    failing: set[tuple[str, ...]],
) -> None:
    admin = await make_user(Role.ADMIN)
    resp = await client.post(
        "/api/v1/products", json=product_body(**overrides), headers=auth(admin, settings)
    )
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "validation_failed"
    assert {tuple(e["loc"]) for e in problem["errors"]} == failing
    assert await Product.all().count() == 0


async def test_create_in_an_unknown_community(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    resp = await client.post(
        "/api/v1/products",
        json=product_body(community_id=str(uuid.uuid4())),
        headers=auth(admin, settings),
    )
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "community_not_found"
    assert problem["errors"][0]["loc"] == ["community_id"]


async def test_get_one(client: TestClient, settings: Settings) -> None:
    leader, community = await leader_and_community()
    created = await create(client, settings, leader, community=community)
    shopper = await make_user()

    resp = await client.get(f"/api/v1/products/{created['id']}", headers=auth(shopper, settings))

    assert resp.status == 200
    assert await resp.json() == created


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-4000-8000-000000000404", "1%202"])
async def test_unknown_product_is_404(client: TestClient, settings: Settings, bad: str) -> None:
    admin = await make_user(Role.ADMIN)
    headers = auth(admin, settings)
    for method, path, body in [
        ("GET", f"/api/v1/products/{bad}", None),
        ("PATCH", f"/api/v1/products/{bad}", {"title": "x"}),
        ("POST", f"/api/v1/products/{bad}/skus", {"name": "a", "price": 1}),
    ]:
        resp = await client.request(method, path, json=body, headers=headers)
        assert resp.status == 404, (method, path)
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == "product_not_found"


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-4000-8000-000000000404"])
async def test_unknown_sku_is_404(client: TestClient, settings: Settings, bad: str) -> None:
    admin = await make_user(Role.ADMIN)
    resp = await client.patch(
        f"/api/v1/skus/{bad}", json={"price": 1}, headers=auth(admin, settings)
    )
    assert resp.status == 404
    assert (await resp.json())["code"] == "sku_not_found"


async def test_patch_changes_only_what_is_sent(client: TestClient, settings: Settings) -> None:
    leader, community = await leader_and_community()
    created = await create(client, settings, leader, community=community)

    resp = await client.patch(
        f"/api/v1/products/{created['id']}",
        json={"title": "脐橙 特级", "active": False, "images": []},
        headers=auth(leader, settings),
    )

    assert resp.status == 200
    body = await resp.json()
    assert (body["title"], body["active"], body["images"]) == ("脐橙 特级", False, [])
    assert (body["description"], body["category"]) == ("当季现摘", "fruit")
    row = await Product.get(id=created["id"])
    assert (row.title, row.active, row.images, row.description) == (
        "脐橙 特级",
        False,
        [],
        "当季现摘",
    )
    assert row.community_id == community.id


@pytest.mark.parametrize(
    ("body", "failing"),
    [
        ({"title": None}, {("title",)}),
        ({"active": None}, {("active",)}),
        ({"title": ""}, {("title",)}),
        ({"active": "yes"}, {("active",)}),
        ({"skus": []}, {("skus",)}),
    ],
)
async def test_patch_validation(
    client: TestClient, settings: Settings, body: dict[str, Any], failing: set[tuple[str, ...]]
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create(client, settings, admin)
    resp = await client.patch(
        f"/api/v1/products/{created['id']}", json=body, headers=auth(admin, settings)
    )
    assert resp.status == 422
    assert {tuple(e["loc"]) for e in (await resp.json())["errors"]} == failing
    assert (await Product.get(id=created["id"])).title == "赣南脐橙"


@pytest.mark.parametrize(
    ("who", "code"), [("shopper", "forbidden"), ("other_leader", "not_community_leader")]
)
async def test_others_cannot_edit(
    client: TestClient, settings: Settings, who: str, code: str
) -> None:
    leader, community = await leader_and_community()
    created = await create(client, settings, leader, community=community)
    sku_id = created["skus"][0]["id"]
    actor = await make_user() if who == "shopper" else (await leader_and_community())[0]
    headers = auth(actor, settings)

    for method, path, body in [
        ("PATCH", f"/api/v1/products/{created['id']}", {"title": "偷改"}),
        ("POST", f"/api/v1/products/{created['id']}/skus", {"name": "偷加", "price": 1}),
        ("PATCH", f"/api/v1/skus/{sku_id}", {"price": 1}),
    ]:
        resp = await client.request(method, path, json=body, headers=headers)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["code"] == code

    assert (await Product.get(id=created["id"])).title == "赣南脐橙"
    assert await Sku.filter(product_id=created["id"]).count() == 2
    assert (await Sku.get(id=sku_id)).price == 3990


async def test_admin_edits_a_leaders_product(client: TestClient, settings: Settings) -> None:
    leader, community = await leader_and_community()
    created = await create(client, settings, leader, community=community)
    admin = await make_user(Role.ADMIN)

    resp = await client.patch(
        f"/api/v1/products/{created['id']}",
        json={"community_id": None},
        headers=auth(admin, settings),
    )

    assert resp.status == 200
    assert (await resp.json())["community_id"] is None
    assert (await Product.get(id=created["id"])).community_id is None


async def test_add_and_edit_skus(client: TestClient, settings: Settings) -> None:
    sku = await make_sku(price=1990, stock=100)
    community = await Community.get(id=(await Product.get(id=sku.product_id)).community_id)
    leader = await User.get(id=community.leader_id)
    headers = auth(leader, settings)

    added = await client.post(
        f"/api/v1/products/{sku.product_id}/skus",
        json={"name": "家庭装", "price": 4990, "stock": 3},
        headers=headers,
    )
    assert added.status == 201
    new = await added.json()
    row = await Sku.get(id=new["id"])
    assert (row.product_id, row.name, row.price, row.stock) == (sku.product_id, "家庭装", 4990, 3)

    edited = await client.patch(f"/api/v1/skus/{sku.id}", json={"price": 1590}, headers=headers)
    assert edited.status == 200
    assert await edited.json() == {
        "id": str(sku.id),
        "product_id": str(sku.product_id),
        "name": "默认",
        "price": 1590,
        "stock": 100,
    }
    row = await Sku.get(id=sku.id)
    assert (row.name, row.price, row.stock) == ("默认", 1590, 100)

    bad = await client.patch(
        f"/api/v1/skus/{sku.id}", json={"price": -1, "stock": None, "name": ""}, headers=headers
    )
    assert bad.status == 422
    failing = {tuple(e["loc"]) for e in (await bad.json())["errors"]}
    assert failing == {("price",), ("stock",), ("name",)}
    assert (await Sku.get(id=sku.id)).price == 1590


async def test_list_filters_and_visibility(client: TestClient, settings: Settings) -> None:
    leader, community = await leader_and_community()
    admin = await make_user(Role.ADMIN)
    await create(client, settings, leader, community=community, title="红心脐橙")
    await create(client, settings, leader, community=community, title="鸡蛋", category="fresh")
    await create(client, settings, leader, community=community, title="下架橙子", active=False)
    await create(client, settings, admin, title="大米", category="grain")
    shopper = auth(await make_user(), settings)

    async def titles(headers: dict[str, str], **params: str) -> list[str]:
        resp = await client.get("/api/v1/products", params=params, headers=headers)
        assert resp.status == 200, await resp.text()
        return [item["title"] for item in (await resp.json())["items"]]

    assert await titles(shopper) == ["大米", "鸡蛋", "红心脐橙"]  # newest first
    assert await titles(shopper, category="fresh") == ["鸡蛋"]
    assert await titles(shopper, community_id=str(community.id)) == ["鸡蛋", "红心脐橙"]
    assert await titles(shopper, q="橙") == ["红心脐橙"]
    assert await titles(auth(leader, settings), q="橙") == ["下架橙子", "红心脐橙"]
    assert await titles(auth(admin, settings), q="橙") == ["下架橙子", "红心脐橙"]
    assert await titles(shopper, community_id=str(uuid.uuid4())) == []
    # Prices and stock are public: no login reads what a shopper reads, a bad token is refused.
    assert await titles({}, q="橙") == ["红心脐橙"]
    assert await titles({}) == await titles(shopper)
    bad = await client.get("/api/v1/products", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401


async def test_pagination_walks_every_product_once(client: TestClient, settings: Settings) -> None:
    admin = await make_user(Role.ADMIN)
    for i in range(23):
        await create(client, settings, admin, title=f"商品{i:02d}")
    headers = auth(await make_user(), settings)

    seen: list[str] = []
    sizes: list[int] = []
    params: dict[str, str] = {"limit": "5"}
    while True:
        resp = await client.get("/api/v1/products", params=params, headers=headers)
        assert resp.status == 200
        page = await resp.json()
        sizes.append(len(page["items"]))
        seen += [item["title"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": "5", "cursor": page["next_cursor"]}

    assert sizes == [5, 5, 5, 5, 3]
    assert len(seen) == len(set(seen)) == 23
    assert seen == [f"商品{i:02d}" for i in reversed(range(23))]

    default = await (await client.get("/api/v1/products", headers=headers)).json()
    assert len(default["items"]) == 20 and default["next_cursor"]


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"cursor": "garbage"}, 422, "invalid_cursor", "cursor"),
        ({"limit": "0"}, 422, "validation_failed", "limit"),
        ({"limit": "101"}, 422, "validation_failed", "limit"),
        ({"limit": "ten"}, 422, "validation_failed", "limit"),
        ({"community_id": "nope"}, 422, "validation_failed", "community_id"),
    ],
)
async def test_list_rejects_bad_parameters(
    client: TestClient,
    settings: Settings,
    params: dict[str, str],
    status: int,
    code: str,
    field: str,
) -> None:
    resp = await client.get(
        "/api/v1/products", params=params, headers=auth(await make_user(), settings)
    )
    assert resp.status == status
    problem = await resp.json()
    assert problem["code"] == code
    assert [e["loc"] for e in problem["errors"]] == [[field]]


async def test_inactive_product_is_hidden_from_shoppers(
    client: TestClient, settings: Settings
) -> None:
    leader, community = await leader_and_community()
    created = await create(client, settings, leader, community=community, active=False)
    path = f"/api/v1/products/{created['id']}"

    shopper = await client.get(path, headers=auth(await make_user(), settings))
    assert shopper.status == 404
    assert (await shopper.json())["code"] == "product_not_found"
    assert (await client.get(path, headers=auth(leader, settings))).status == 200


async def test_catalog_endpoints_are_documented(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    create_op = paths["/api/v1/products"]["post"]
    assert create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert create_op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    listed = {p["name"] for p in paths["/api/v1/products"]["get"]["parameters"]}
    assert {"category", "community_id", "q", "limit", "cursor"} <= listed
    for path, method in [
        ("/api/v1/products/{product_id}", "patch"),
        ("/api/v1/products/{product_id}/skus", "post"),
        ("/api/v1/skus/{sku_id}", "patch"),
        ("/api/v1/session", "post"),
        ("/api/v1/communities", "post"),
        ("/api/v1/communities/{community_id}/pickup-point", "put"),
    ]:
        op = paths[path][method]
        assert "requestBody" in op and "422" in op["responses"], (path, method)
    for path, method in [
        ("/api/v1/me", "get"),
        ("/api/v1/me/communities", "get"),
        ("/api/v1/communities/{community_id}", "get"),
        ("/api/v1/communities/{community_id}/members", "post"),
        ("/api/v1/products/{product_id}", "get"),
    ]:
        ok = next(v for k, v in paths[path][method]["responses"].items() if k.startswith("2"))
        assert ok["content"]["application/json"]["schema"]["$ref"], (path, method)
