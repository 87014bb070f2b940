"""Home delivery over HTTP: the shopper's addresses, an order sent home, its tracking."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.auth import staff
from miniapp_api.fields import Id
from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import home_delivery
from services.auth import Principal

TAGS = ("delivery batches",)
Phone = Annotated[str, Field(pattern=r"^1[3-9][0-9]{9}$", description="a mobile number")]


Recipient = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Detail = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: Recipient
    phone: Phone
    detail: Detail


class AddressOut(BaseModel):
    id: str
    recipient: str
    phone: str
    detail: str

    @classmethod
    def of(cls, shown: home_delivery.ShownAddress) -> AddressOut:
        a = shown.address
        return cls(id=str(a.id), recipient=shown.recipient, phone=shown.phone, detail=a.detail)


class AddressList(BaseModel):
    items: list[AddressOut]


class ChooseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address_id: Id


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_no: str = Field(pattern=r"^[A-Za-z0-9-]{4,64}$")


class HomeDeliveryOut(BaseModel):
    order_id: str
    recipient: str
    phone: str
    address: str
    fee: int = Field(description="fen, included in the order's amount")
    status: str = Field(description="pending, dispatched or delivered")
    tracking_no: str | None
    dispatched_at: dt.datetime | None
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, shown: home_delivery.Shown) -> HomeDeliveryOut:
        h = shown.delivery
        return cls(
            order_id=str(h.order_id),
            recipient=shown.recipient,
            phone=shown.phone,
            address=h.address,
            fee=h.fee,
            status=h.status.value,
            tracking_no=h.tracking_no,
            dispatched_at=h.dispatched_at,
            delivered_at=h.delivered_at,
        )


@endpoint(
    summary="Save a delivery address",
    tags=TAGS,
    body=AddressIn,
    response=AddressOut,
    status=201,
    auth=True,
    errors=(422,),
)
async def add_address(
    *, principal: Principal, body: AddressIn, settings: Settings, now: datetime
) -> AddressOut:
    found = await home_delivery.add_address(
        principal=principal,
        recipient=body.recipient,
        phone=body.phone,
        detail=body.detail,
        settings=settings,
        now=now,
    )
    return AddressOut.of(found)


@endpoint(summary="The caller's delivery addresses", tags=TAGS, response=AddressList, auth=True)
async def list_addresses(*, principal: Principal, settings: Settings) -> AddressList:
    found = await home_delivery.addresses(principal=principal, settings=settings)
    return AddressList(items=[AddressOut.of(a) for a in found])


@endpoint(
    summary="Deliver an unpaid order home (where the community allows it): the fee is added",
    tags=TAGS,
    body=ChooseIn,
    response=HomeDeliveryOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def choose_home_delivery(
    *, principal: Principal, body: ChooseIn, order_id: str, settings: Settings, now: datetime
) -> HomeDeliveryOut:
    found = await home_delivery.choose(
        principal=principal,
        order_id=order_id,
        address_id=str(body.address_id),
        settings=settings,
        now=now,
    )
    return HomeDeliveryOut.of(found)


@endpoint(
    summary="An order's home delivery: its state and tracking number",
    tags=TAGS,
    response=HomeDeliveryOut,
    auth=True,
    errors=(404,),
)
async def get_home_delivery(
    *, principal: Principal, order_id: str, settings: Settings, now: datetime
) -> HomeDeliveryOut:
    found = await home_delivery.of_order(
        principal=principal, order_id=order_id, settings=settings, now=now
    )
    return HomeDeliveryOut.of(found)


@endpoint(
    summary="Dispatch an arrived order to the buyer's door with its tracking number (leader)",
    tags=TAGS,
    body=DispatchIn,
    response=HomeDeliveryOut,
    auth=staff,
    errors=(403, 404, 409),
)
async def dispatch_home_delivery(
    *, principal: Principal, body: DispatchIn, order_id: str, settings: Settings, now: datetime
) -> HomeDeliveryOut:
    found = await home_delivery.dispatch(
        principal=principal,
        order_id=order_id,
        tracking_no=body.tracking_no,
        settings=settings,
        now=now,
    )
    return HomeDeliveryOut.of(found)


@endpoint(
    summary="Delivered at the door: the order counts as picked up (leader)",
    tags=TAGS,
    response=HomeDeliveryOut,
    auth=staff,
    errors=(403, 404, 409),
)
async def home_delivered(
    *, principal: Principal, order_id: str, settings: Settings, now: datetime
) -> HomeDeliveryOut:
    found = await home_delivery.delivered(
        principal=principal, order_id=order_id, settings=settings, now=now
    )
    return HomeDeliveryOut.of(found)


class RouteSheet(BaseModel):
    items: list[HomeDeliveryOut]


@endpoint(
    summary="The community's home deliveries still to go, with recipients (leader; audited)",
    tags=TAGS,
    response=RouteSheet,
    auth=staff,
    errors=(403, 404),
)
async def route_sheet(
    *, principal: Principal, community_id: str, settings: Settings, now: datetime
) -> RouteSheet:
    found = await home_delivery.route_sheet(
        principal=principal, community_id=community_id, settings=settings, now=now
    )
    return RouteSheet(items=[HomeDeliveryOut.of(s) for s in found])


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/me/addresses", add_address)
    app.router.add_get("/api/v1/me/addresses", list_addresses)
    app.router.add_post("/api/v1/orders/{order_id}/home-delivery", choose_home_delivery)
    app.router.add_get("/api/v1/orders/{order_id}/home-delivery", get_home_delivery)
    app.router.add_post("/api/v1/home-deliveries/{order_id}/dispatch", dispatch_home_delivery)
    app.router.add_post("/api/v1/home-deliveries/{order_id}/delivered", home_delivered)
    app.router.add_get("/api/v1/communities/{community_id}/home-deliveries", route_sheet)
