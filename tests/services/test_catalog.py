"""The catalog verbs, called directly: who may edit, who may see, how pages walk."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.catalog import Product, Sku
from models.community import Community
from models.user import Role, User
from qunshop.errors import ErrorCode, Forbidden, Invalid, NotFound
from services import catalog
from services.auth import Principal
from tests.support.factories import make_community, make_sku, make_user


def as_principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def _leader_with_community() -> tuple[User, Community]:
    leader = await make_user(Role.LEADER)
    return leader, await make_community(leader)


async def test_leader_creates_in_own_community() -> None:
    leader, community = await _leader_with_community()

    view = await catalog.create_product(
        actor=as_principal(leader),
        title="脐橙",
        category="fruit",
        images=["https://img.example.com/a.jpg"],
        community_id=str(community.id),
        skus=[catalog.SkuSpec("10斤", 6990, 5), catalog.SkuSpec("5斤", 3990, 10)],
    )

    row = await Product.get(id=view.product.id)
    assert (row.title, row.category, row.community_id, row.created_by_id) == (
        "脐橙",
        "fruit",
        community.id,
        leader.id,
    )
    assert row.images == ["https://img.example.com/a.jpg"] and row.active
    skus = await Sku.filter(product_id=row.id).order_by("price")
    assert [(s.name, s.price, s.stock) for s in skus] == [("5斤", 3990, 10), ("10斤", 6990, 5)]
    assert [s.name for s in view.skus] == ["5斤", "10斤"]  # cheapest first


async def test_who_may_create() -> None:
    leader, community = await _leader_with_community()
    other_leader, _ = await _leader_with_community()
    shopper = await make_user()
    admin = await make_user(Role.ADMIN)
    skus = [catalog.SkuSpec("默认", 100)]

    cases: list[tuple[User, uuid.UUID | None, ErrorCode]] = [
        (shopper, community.id, ErrorCode.FORBIDDEN),
        (other_leader, community.id, ErrorCode.NOT_COMMUNITY_LEADER),
        (leader, None, ErrorCode.FORBIDDEN),  # shop-wide is for admins
    ]
    for actor, target, code in cases:
        with pytest.raises(Forbidden) as caught:
            await catalog.create_product(
                actor=as_principal(actor), title="x", community_id=target, skus=skus
            )
        assert caught.value.code is code
    assert await Product.all().count() == 0

    shop_wide = await catalog.create_product(actor=as_principal(admin), title="x", skus=skus)
    assert shop_wide.product.community_id is None
    await catalog.create_product(
        actor=as_principal(admin), title="y", community_id=community.id, skus=skus
    )
    assert await Product.all().count() == 2


async def test_unknown_community_and_bad_prices() -> None:
    admin = as_principal(await make_user(Role.ADMIN))
    with pytest.raises(Invalid) as caught:
        await catalog.create_product(
            actor=admin, title="x", community_id=uuid.uuid4(), skus=[catalog.SkuSpec("a", 1)]
        )
    assert caught.value.code is ErrorCode.COMMUNITY_NOT_FOUND
    with pytest.raises(Invalid) as caught:
        await catalog.create_product(actor=admin, title="x", skus=[catalog.SkuSpec("a", -1)])
    assert caught.value.extra["errors"][0]["loc"] == ["price"]
    assert await Product.all().count() == 0 and await Sku.all().count() == 0


async def test_partial_update_and_moving() -> None:
    leader, community = await _leader_with_community()
    _, elsewhere = await _leader_with_community()
    admin = as_principal(await make_user(Role.ADMIN))
    view = await catalog.create_product(
        actor=as_principal(leader),
        title="鸡蛋",
        description="散养",
        community_id=community.id,
        skus=[catalog.SkuSpec("30枚", 3580, 1)],
    )
    pid = view.product.id

    await catalog.update_product(actor=as_principal(leader), product_id=pid, title="土鸡蛋")
    row = await Product.get(id=pid)
    assert (row.title, row.description, row.active) == ("土鸡蛋", "散养", True)

    with pytest.raises(Forbidden) as caught:  # a leader cannot give it away
        await catalog.update_product(
            actor=as_principal(leader), product_id=pid, community_id=elsewhere.id
        )
    assert caught.value.code is ErrorCode.NOT_COMMUNITY_LEADER
    with pytest.raises(Forbidden):  # nor make it shop-wide
        await catalog.update_product(actor=as_principal(leader), product_id=pid, community_id=None)
    assert (await Product.get(id=pid)).community_id == community.id

    await catalog.update_product(actor=admin, product_id=pid, community_id=None, active=False)
    row = await Product.get(id=pid)
    assert row.community_id is None and row.active is False
    with pytest.raises(Forbidden):  # now shop-wide: no longer the leader's
        await catalog.update_product(actor=as_principal(leader), product_id=pid, title="x")


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-4000-8000-000000000404"])
async def test_missing_ids(bad: str) -> None:
    admin = as_principal(await make_user(Role.ADMIN))
    with pytest.raises(NotFound) as caught:
        await catalog.get_product(actor=admin, product_id=bad)
    assert caught.value.code is ErrorCode.PRODUCT_NOT_FOUND
    with pytest.raises(NotFound) as caught:
        await catalog.update_sku(actor=admin, sku_id=bad, price=1)
    assert caught.value.code is ErrorCode.SKU_NOT_FOUND


async def test_update_sku_sets_only_what_was_given() -> None:
    sku = await make_sku(price=1990, stock=100)
    product = await Product.get(id=sku.product_id)
    community = await Community.get(id=product.community_id)
    leader = await User.get(id=community.leader_id)

    updated = await catalog.update_sku(actor=as_principal(leader), sku_id=str(sku.id), stock=7)

    assert (updated.name, updated.price, updated.stock) == ("默认", 1990, 7)
    row = await Sku.get(id=sku.id)
    assert (row.price, row.stock) == (1990, 7)
    other_leader, _ = await _leader_with_community()
    with pytest.raises(Forbidden):
        await catalog.update_sku(actor=as_principal(other_leader), sku_id=sku.id, price=1)
    with pytest.raises(Invalid):
        await catalog.update_sku(actor=as_principal(leader), sku_id=sku.id, stock=-1)
    assert (await Sku.get(id=sku.id)).stock == 7


async def test_visibility_of_inactive_products() -> None:
    leader, community = await _leader_with_community()
    other_leader, _ = await _leader_with_community()
    admin = await make_user(Role.ADMIN)
    shopper = await make_user()
    hidden = await catalog.create_product(
        actor=as_principal(leader),
        title="未上架",
        community_id=community.id,
        active=False,
        skus=[catalog.SkuSpec("a", 1)],
    )
    shown = await catalog.create_product(
        actor=as_principal(admin), title="上架", skus=[catalog.SkuSpec("a", 1)]
    )

    async def titles(user: User) -> set[str]:
        page = await catalog.list_products(actor=as_principal(user))
        return {v.product.title for v in page.items}

    assert await titles(shopper) == {"上架"}
    assert await titles(other_leader) == {"上架"}
    assert await titles(leader) == {"上架", "未上架"}
    assert await titles(admin) == {"上架", "未上架"}
    with pytest.raises(NotFound):
        await catalog.get_product(actor=as_principal(shopper), product_id=hidden.product.id)
    seen = await catalog.get_product(actor=as_principal(leader), product_id=hidden.product.id)
    assert seen.product.title == "未上架"
    assert await catalog.get_product(actor=as_principal(shopper), product_id=shown.product.id)


async def test_pages_walk_ties_in_created_at_without_gaps() -> None:
    admin = as_principal(await make_user(Role.ADMIN))
    for i in range(7):
        await catalog.create_product(actor=admin, title=f"p{i}", skus=[catalog.SkuSpec("a", i)])
    same = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    tied = await Product.all().limit(5).values_list("id", flat=True)
    await Product.filter(id__in=list(tied)).update(created_at=same)

    seen: list[uuid.UUID] = []
    cursor = None
    pages = 0
    while True:
        page = await catalog.list_products(actor=admin, limit=2, cursor=cursor)
        seen += [v.product.id for v in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    expected = await Product.all().order_by("-created_at", "-id").values_list("id", flat=True)
    assert seen == list(expected)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm90IGEgY3Vyc29y",  # "not a cursor"
        base64.urlsafe_b64encode(
            b"2025-01-01T00:00:00|00000000-0000-4000-8000-000000000404"
        ).decode(),
        base64.urlsafe_b64encode(b"2025-01-01T00:00:00+00:00|nope").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_bad_cursors(cursor: str) -> None:
    admin = as_principal(await make_user(Role.ADMIN))
    with pytest.raises(Invalid) as caught:
        await catalog.list_products(actor=admin, cursor=cursor)
    assert caught.value.code is ErrorCode.INVALID_CURSOR
