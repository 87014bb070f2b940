"""Suppliers and the review of their listings, over HTTP: the supplier's side and the
operators' queue."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from miniapp_api.auth import admin
from miniapp_api.spec import endpoint
from miniapp_api.supplier_schemas import (
    DecisionIn,
    ListingIn,
    PriceIn,
    ReviewList,
    ReviewOut,
    StatusQuery,
    SupplierIn,
    SupplierList,
    SupplierOut,
)
from models.supply import ReviewStatus
from services import listings
from services.auth import Principal

TAGS = ("suppliers and listing review",)


def _status(query: StatusQuery) -> ReviewStatus | None:
    return ReviewStatus(query.status) if query.status else None


@endpoint(
    summary="Apply as a supplier with its qualifications; an operator reviews them",
    tags=TAGS,
    body=SupplierIn,
    response=SupplierOut,
    status=201,
    auth=True,
    errors=(409,),
)
async def apply_supplier(*, principal: Principal, body: SupplierIn, now: datetime) -> SupplierOut:
    supplier = await listings.apply(principal=principal, now=now, **body.model_dump())
    return SupplierOut.of(supplier)


@endpoint(
    summary="The caller's supplier record: status and the reason of its decision",
    tags=TAGS,
    response=SupplierOut,
    auth=True,
    errors=(404,),
)
async def my_supplier(*, principal: Principal) -> SupplierOut:
    return SupplierOut.of(await listings.mine(principal=principal))


@endpoint(
    summary="List a product (approved suppliers): the rules check it, then the manual queue",
    tags=TAGS,
    body=ListingIn,
    response=ReviewOut,
    status=201,
    auth=True,
    errors=(403, 404),
)
async def submit_listing(*, principal: Principal, body: ListingIn, now: datetime) -> ReviewOut:
    review = await listings.submit_product(
        principal=principal,
        title=body.title,
        description=body.description,
        category=body.category,
        images=body.images,
        skus=[listings.SkuDraft(s.name, s.price, s.cost, s.stock) for s in body.skus],
        now=now,
    )
    return ReviewOut.of(review)


@endpoint(
    summary="Propose a new price for one of the supplier's SKUs; in force once approved",
    tags=TAGS,
    body=PriceIn,
    response=ReviewOut,
    status=201,
    auth=True,
    errors=(403, 404),
)
async def submit_price_change(
    *, principal: Principal, body: PriceIn, sku_id: str, now: datetime
) -> ReviewOut:
    review = await listings.submit_price(
        principal=principal, sku_id=sku_id, price=body.price, cost=body.cost, now=now
    )
    return ReviewOut.of(review)


@endpoint(
    summary="The supplier's listings and price changes, with each decision's reason",
    tags=TAGS,
    response=ReviewList,
    auth=True,
    errors=(404,),
)
async def my_listing_reviews(*, principal: Principal) -> ReviewList:
    return ReviewList(
        items=[ReviewOut.of(r) for r in await listings.my_reviews(principal=principal)]
    )


@endpoint(
    summary="Operators: suppliers, oldest first (by status)",
    tags=TAGS,
    query=StatusQuery,
    response=SupplierList,
    auth=admin,
    errors=(403,),
)
async def list_suppliers(*, principal: Principal, query: StatusQuery) -> SupplierList:
    found = await listings.suppliers(principal=principal, status=_status(query))
    return SupplierList(items=[SupplierOut.of(s) for s in found])


async def _decide_supplier(
    principal: Principal, supplier_id: str, body: DecisionIn, now: datetime, approve: bool
) -> SupplierOut:
    supplier = await listings.decide_supplier(
        principal=principal, supplier_id=supplier_id, approve=approve, reason=body.reason, now=now
    )
    return SupplierOut.of(supplier)


@endpoint(
    summary="Operators: approve a supplier's qualifications",
    tags=TAGS,
    body=DecisionIn,
    optional_body=True,
    response=SupplierOut,
    auth=admin,
    errors=(403, 404, 409, 422),
)
async def approve_supplier(
    *, principal: Principal, body: DecisionIn, supplier_id: str, now: datetime
) -> SupplierOut:
    return await _decide_supplier(principal, supplier_id, body, now, approve=True)


@endpoint(
    summary="Operators: reject a supplier, with the reason it reads",
    tags=TAGS,
    body=DecisionIn,
    response=SupplierOut,
    auth=admin,
    errors=(403, 404, 409, 422),
)
async def reject_supplier(
    *, principal: Principal, body: DecisionIn, supplier_id: str, now: datetime
) -> SupplierOut:
    return await _decide_supplier(principal, supplier_id, body, now, approve=False)


@endpoint(
    summary="Operators: the listing review queue, oldest first (pending: the manual queue)",
    tags=TAGS,
    query=StatusQuery,
    response=ReviewList,
    auth=admin,
    errors=(403,),
)
async def review_queue(*, principal: Principal, query: StatusQuery) -> ReviewList:
    found = await listings.queue(principal=principal, status=_status(query))
    return ReviewList(items=[ReviewOut.of(r) for r in found])


async def _decide(
    principal: Principal, review_id: str, body: DecisionIn, now: datetime, approve: bool
) -> ReviewOut:
    review = await listings.decide(
        principal=principal, review_id=review_id, approve=approve, reason=body.reason, now=now
    )
    return ReviewOut.of(review)


@endpoint(
    summary="Operators: approve a listing (the product goes live) or a price change",
    tags=TAGS,
    body=DecisionIn,
    optional_body=True,
    response=ReviewOut,
    auth=admin,
    errors=(403, 404, 409, 422),
)
async def approve_review(
    *, principal: Principal, body: DecisionIn, review_id: str, now: datetime
) -> ReviewOut:
    return await _decide(principal, review_id, body, now, approve=True)


@endpoint(
    summary="Operators: reject a listing or a price change, with the reason the supplier reads",
    tags=TAGS,
    body=DecisionIn,
    response=ReviewOut,
    auth=admin,
    errors=(403, 404, 409, 422),
)
async def reject_review(
    *, principal: Principal, body: DecisionIn, review_id: str, now: datetime
) -> ReviewOut:
    return await _decide(principal, review_id, body, now, approve=False)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/suppliers", apply_supplier)
    app.router.add_get("/api/v1/me/supplier", my_supplier)
    app.router.add_post("/api/v1/me/supplier/products", submit_listing)
    app.router.add_post("/api/v1/me/supplier/skus/{sku_id}/price", submit_price_change)
    app.router.add_get("/api/v1/me/supplier/reviews", my_listing_reviews)
    app.router.add_get("/api/v1/admin/suppliers", list_suppliers)
    app.router.add_post("/api/v1/admin/suppliers/{supplier_id}/approve", approve_supplier)
    app.router.add_post("/api/v1/admin/suppliers/{supplier_id}/reject", reject_supplier)
    app.router.add_get("/api/v1/admin/reviews", review_queue)
    app.router.add_post("/api/v1/admin/reviews/{review_id}/approve", approve_review)
    app.router.add_post("/api/v1/admin/reviews/{review_id}/reject", reject_review)
