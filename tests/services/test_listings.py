"""Listing review: a decision is taken once however many operators press at once, and the
decision log refuses to be rewritten."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from asyncpg.exceptions import RaiseError

from models.catalog import Product
from models.supply import ReviewDecision, ReviewStatus
from models.user import Role
from qunshop.errors import Conflict, ErrorCode
from services import listings
from tests.support.factories import make_user
from tests.support.growth import now, principal_of


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def test_concurrent_decisions_decide_a_listing_once() -> None:
    account = principal_of(await make_user())
    operator = principal_of(await make_user(Role.ADMIN))
    supplier = await listings.apply(
        principal=account,
        name="果园",
        contact_name="刘",
        contact_phone="13800138000",
        business_licence="91360700MA35XXXX1A",
        food_licence="JY13607000000001",
        now=now(),
    )
    await listings.decide_supplier(
        principal=operator, supplier_id=str(supplier.id), approve=True, reason="", now=now()
    )
    review = await listings.submit_product(
        principal=account,
        title="赣南脐橙",
        description="",
        category="水果",  # food: the supplier holds a food licence
        images=["https://img.example.com/a.jpg"],
        skus=[listings.SkuDraft("5斤装", 2990, 1800, 10)],
        now=now(),
    )
    assert review.status is ReviewStatus.PENDING and review.flags == []

    async def decide(approve: bool) -> object:
        return await listings.decide(
            principal=operator,
            review_id=str(review.id),
            approve=approve,
            reason="" if approve else "图片不清晰",
            now=now(),
        )

    results = await asyncio.gather(*(decide(i % 2 == 0) for i in range(8)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 7 and all(r.code is ErrorCode.REVIEW_DECIDED for r in refused)
    assert await ReviewDecision.filter(subject=f"review:{review.id}").count() == 1
    decision = await ReviewDecision.get(subject=f"review:{review.id}")
    live = (await Product.get(id=review.product_id)).active
    assert live is (decision.outcome is ReviewStatus.APPROVED)

    with pytest.raises(RaiseError, match="append-only"):
        await ReviewDecision.filter(id=decision.id).update(reason="rewritten")
