"""Recommendations, as the clock last computed them: "popular in your community" and
"bought together" with a product (in its community). Readable without logging in: they hold
products and counts of buyers, never people."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from miniapp_api.spec import endpoint
from services import recommendations

TAGS = ("catalog",)


class PickOut(BaseModel):
    product_id: str
    title: str
    image: str | None
    score: int


class PickList(BaseModel):
    items: list[PickOut]


def _out(picks: list[recommendations.Pick]) -> PickList:
    return PickList(items=[PickOut(**p.__dict__) for p in picks])


@endpoint(
    summary="Popular in the community (paid orders, last 90 days)",
    tags=TAGS,
    response=PickList,
    errors=(404,),
)
async def popular(*, community_id: str) -> PickList:
    return _out(await recommendations.popular(community_id=community_id))


@endpoint(
    summary="What buyers of this product in its community also bought",
    tags=TAGS,
    response=PickList,
    errors=(404,),
)
async def bought_together(*, product_id: str) -> PickList:
    return _out(await recommendations.bought_together(product_id=product_id))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/communities/{community_id}/popular", popular)
    app.router.add_get("/api/v1/products/{product_id}/bought-together", bought_together)
