"""Bargains (砍价): admins open SKUs for bargaining; shoppers start, share, cut and buy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.auth import admin
from miniapp_api.commerce_schemas import OrderOut
from miniapp_api.fields import Flag, Id, integer
from miniapp_api.shown import orders_out
from miniapp_api.spec import endpoint
from models.bargain import BargainOffer
from models.limits import MAX_PRICE
from qunshop.keys import CHAT_TEMPLATES, Resources
from qunshop.templates import goods_name
from services import bargains
from services.auth import Principal
from services.bargains import MAX_HELPERS, MAX_HOURS

if TYPE_CHECKING:
    from qunshop.config import Settings

TAGS = ("bargains",)


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: Id
    floor_price: integer(1, MAX_PRICE, description="fen: the price the last needed cut reaches")
    helpers_needed: integer(1, MAX_HELPERS, description="friends who must cut to reach the floor")
    hours: integer(1, MAX_HOURS, description="how long each bargain runs once started")
    new_users_only: Flag = Field(default=False, description="only people who never paid cut")


class OfferOut(BaseModel):
    id: str
    sku_id: str
    title: str = Field(description="the product and its SKU")
    list_price: int = Field(description="fen: the SKU's price, where a bargain starts")
    floor_price: int = Field(description="fen")
    helpers_needed: int
    hours: int
    new_users_only: bool
    active: bool

    @classmethod
    def of(cls, offer: BargainOffer) -> OfferOut:
        sku = offer.sku
        return cls(
            id=str(offer.id),
            sku_id=str(sku.id),
            title=goods_name(sku.product.title, sku.name),
            list_price=sku.price,
            floor_price=offer.floor_price,
            helpers_needed=offer.helpers_needed,
            hours=offer.hours,
            new_users_only=offer.new_users_only,
            active=offer.active,
        )


class OfferList(BaseModel):
    items: list[OfferOut]


class CutOut(BaseModel):
    nickname: str
    amount: int = Field(description="fen")


class BargainOut(BaseModel):
    id: str
    code: str = Field(description="what the shared card and 帮砍 name")
    state: str = Field(
        description="open, reached, ordered, purchased, expired or closed (its offer closed)"
    )
    title: str
    image: str | None
    start_price: int = Field(description="fen")
    floor_price: int = Field(description="fen")
    price_now: int = Field(description="fen: what the starter would pay now")
    cuts_needed: int
    cuts_made: int
    new_users_only: bool
    deadline_at: datetime
    order_id: str | None = Field(description="the starter's order, once bought")
    cuts: list[CutOut]

    @classmethod
    def of(cls, found: bargains.View) -> BargainOut:
        b = found.bargain
        return cls(
            id=str(b.id),
            code=b.code,
            state=found.state,
            title=found.title,
            image=found.image or None,
            start_price=b.start_price,
            floor_price=b.floor_price,
            price_now=b.price_now,
            cuts_needed=b.cuts_needed,
            cuts_made=b.cuts_made,
            new_users_only=b.new_users_only,
            deadline_at=b.deadline_at,
            order_id=str(found.order.id) if found.order else None,
            cuts=[CutOut(nickname=name, amount=amount) for name, amount in found.cuts],
        )


class BargainList(BaseModel):
    items: list[BargainOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class BargainQuery(BaseModel):
    limit: int = Field(20, ge=1, le=bargains.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class CutResultOut(BaseModel):
    amount: int = Field(description="fen: what this cut took off")
    price_now: int = Field(description="fen")
    cuts_left: int
    reached: bool = Field(description="this cut reached the floor")


class BargainShareOut(BaseModel):
    title: str = Field(
        description="onShareAppMessage title: invites a cut only while the bargain is open"
    )
    path: str = Field(description="the mini-program page the card opens")
    image_url: str
    h5_url: str = Field(description="the same bargain as a web page, for chats without it")


@endpoint(
    summary="Admins: open a SKU for bargaining (floor price, helpers needed, hours)",
    tags=TAGS,
    body=OfferIn,
    response=OfferOut,
    status=201,
    auth=admin,
    errors=(404, 422),
)
async def open_offer(*, principal: Principal, body: OfferIn, now: datetime) -> OfferOut:
    spec = bargains.OfferSpec(**{**body.model_dump(), "sku_id": str(body.sku_id)})
    offer = await bargains.open_offer(principal=principal, spec=spec, now=now)
    return OfferOut.of(await bargains.get_offer(str(offer.id)))


@endpoint(
    summary=(
        "Admins: close a bargain offer: no new bargains, those running end (their starters"
        " are told); an order already placed stays"
    ),
    tags=TAGS,
    response=OfferOut,
    auth=admin,
    errors=(404,),
)
async def close_offer(*, principal: Principal, offer_id: str, now: datetime) -> OfferOut:
    return OfferOut.of(await bargains.close_offer(principal=principal, offer_id=offer_id, now=now))


@endpoint(summary="SKUs open for bargaining", tags=TAGS, response=OfferList)
async def list_offers() -> OfferList:
    return OfferList(items=[OfferOut.of(o) for o in await bargains.list_offers()])


@endpoint(
    summary=(
        "Start a bargain on an offer (the caller's own, if one is being cut, awaits payment"
        " or may be bought again)"
    ),
    tags=TAGS,
    response=BargainOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def start_bargain(*, principal: Principal, offer_id: str, now: datetime) -> BargainOut:
    started = await bargains.start(principal=principal, offer_id=offer_id, now=now)
    return BargainOut.of(started.view)


@endpoint(
    summary="A bargain, as its shared card shows it", tags=TAGS, response=BargainOut, errors=(404,)
)
async def get_bargain(*, bargain_ref: str, now: datetime) -> BargainOut:
    return BargainOut.of(await bargains.view(bargain_ref, now=now))


@endpoint(
    summary="The caller's bargains, newest first, a page at a time",
    tags=TAGS,
    query=BargainQuery,
    response=BargainList,
    auth=True,
)
async def my_bargains(*, principal: Principal, query: BargainQuery, now: datetime) -> BargainList:
    found, more = await bargains.mine(
        principal=principal, now=now, limit=query.limit, cursor=query.cursor
    )
    return BargainList(items=[BargainOut.of(v) for v in found], next_cursor=more)


@endpoint(
    summary="Cut a friend's bargain once; the amount is drawn by the server",
    tags=TAGS,
    response=CutResultOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def cut_bargain(*, principal: Principal, bargain_ref: str, now: datetime) -> CutResultOut:
    done = await bargains.cut(principal=principal, ref=bargain_ref, now=now)
    b = done.bargain
    return CutResultOut(
        amount=done.cut.amount,
        price_now=b.price_now,
        cuts_left=b.cuts_needed - b.cuts_made,
        reached=b.cuts_made == b.cuts_needed,
    )


@endpoint(
    summary="The starter buys at the price reached: an order to prepay as any other",
    tags=TAGS,
    response=OrderOut,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(403, 404, 409),
)
async def order_bargain(*, principal: Principal, bargain_ref: str, now: datetime) -> OrderOut:
    order = await bargains.buy(principal=principal, ref=bargain_ref, now=now)
    return (await orders_out([order]))[0]


@endpoint(summary="The share card of a bargain", tags=TAGS, response=BargainShareOut, errors=(404,))
async def share_bargain(
    *, bargain_ref: str, settings: Settings, config: Resources, now: datetime
) -> BargainShareOut:
    found = await bargains.view(bargain_ref, now=now)
    code = found.bargain.code
    title = config[CHAT_TEMPLATES].get_template("cards/bargain_title.j2").render(view=found)
    return BargainShareOut(
        title=title.strip(),
        path=f"/pages/bargain/index?code={code}",
        image_url=found.image,
        h5_url=f"{settings.public_base_url}/h5/bargains/{code}",
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/admin/bargain-offers", open_offer)
    app.router.add_post("/api/v1/admin/bargain-offers/{offer_id}/close", close_offer)
    app.router.add_get("/api/v1/bargain-offers", list_offers)
    app.router.add_post("/api/v1/bargain-offers/{offer_id}/bargains", start_bargain)
    app.router.add_get("/api/v1/me/bargains", my_bargains)
    app.router.add_get("/api/v1/bargains/{bargain_ref}", get_bargain)
    app.router.add_get("/api/v1/bargains/{bargain_ref}/share", share_bargain)
    app.router.add_post("/api/v1/bargains/{bargain_ref}/cuts", cut_bargain)
    app.router.add_post("/api/v1/bargains/{bargain_ref}/order", order_bargain)
