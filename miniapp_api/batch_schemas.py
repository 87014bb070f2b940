"""Request and response models of the delivery plan and batch endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.fields import Fen, Flag, Id
from models.delivery import BatchStatus
from services import batch_sheets


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cutoff: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="the daily order cut-off, HH:MM in the community's time zone",
    )
    home_delivery: Flag = False
    delivery_fee: Fen = 0


class PlanOut(BaseModel):
    community_id: str
    cutoff: str
    next_cutoff_at: dt.datetime | None = Field(description="orders paid after it go later")
    home_delivery: bool
    delivery_fee: int = Field(description="fen, per home-delivered order")


class BatchQuery(BaseModel):
    community_id: Id | None = None
    status: Literal["dispatched", "arrived", "closed"] | None = None


class DeliveryDayQuery(BaseModel):
    date: dt.date = Field(description="the delivery date, YYYY-MM-DD")


class PickOrderOut(BaseModel):
    order_id: str
    buyer: str
    quantity: int
    short: bool = Field(description="not filled at arrival: refunded")


class PickLineOut(BaseModel):
    number: int = Field(description="what the leader types in 到货 1缺2")
    sku_id: str
    title: str
    quantity: int
    orders: list[PickOrderOut]


class PurchaseOut(BaseModel):
    supplier: str = Field(description="the supplier's name; 自营 for the shop's own stock")
    supplier_id: str | None
    lines: list[tuple[str, int]] = Field(description="(SKU title, units)")
    units: int


class StopOut(BaseModel):
    batch_id: str
    community_id: str
    community: str
    pickup_point: str
    address: str
    hours: str
    leader: str
    orders: int
    units: int


class ShortageOut(BaseModel):
    sku_id: str
    ordered: int
    short: int
    refunded_orders: int


class BatchOut(BaseModel):
    id: str
    community_id: str
    status: BatchStatus
    cutoff_at: dt.datetime
    delivery_date: dt.date
    orders: int
    units: int
    arrived_at: dt.datetime | None
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, b: object) -> BatchOut:
        return cls(
            id=str(b.id),  # type: ignore[attr-defined]
            community_id=str(b.community_id),  # type: ignore[attr-defined]
            **{
                k: getattr(b, k)
                for k in (
                    "status",
                    "cutoff_at",
                    "delivery_date",
                    "orders",
                    "units",
                    "arrived_at",
                    "closed_at",
                )
            },
        )


class BatchList(BaseModel):
    items: list[BatchOut]


def stop_out(stop: batch_sheets.Stop) -> StopOut:
    point = stop.pickup_point
    return StopOut(
        batch_id=str(stop.batch.id),
        community_id=str(stop.community.id),
        community=stop.community.name,
        pickup_point=point.name if point else "",
        address=point.address if point else "",
        hours=point.hours if point else "",
        leader=stop.leader,
        orders=stop.orders,
        units=stop.units,
    )


def purchase_out(p: batch_sheets.Purchase) -> PurchaseOut:
    return PurchaseOut(supplier=p.supplier, supplier_id=p.supplier_id, lines=p.lines, units=p.units)


class SheetOut(BaseModel):
    """A batch with its pick list, its purchasing totals per supplier and its route stop."""

    batch: BatchOut
    picks: list[PickLineOut]
    purchases: list[PurchaseOut]
    stop: StopOut
    shortages: list[ShortageOut]

    @classmethod
    def of(cls, sheet: batch_sheets.Sheet) -> SheetOut:
        return cls(
            batch=BatchOut.of(sheet.batch),
            picks=[
                PickLineOut(
                    number=p.number,
                    sku_id=str(p.sku.id),
                    title=p.title,
                    quantity=p.quantity,
                    orders=[
                        PickOrderOut(
                            order_id=str(o.order.id),
                            buyer=o.buyer,
                            quantity=o.quantity,
                            short=o.short,
                        )
                        for o in p.orders
                    ],
                )
                for p in sheet.picks
            ],
            purchases=[purchase_out(p) for p in sheet.purchases],
            stop=stop_out(sheet.stop),
            shortages=[
                ShortageOut(
                    sku_id=str(s.sku_id),
                    ordered=s.ordered,
                    short=s.short,
                    refunded_orders=s.refunded_orders,
                )
                for s in sheet.shortages
            ],
        )


class DeliveryDayOut(BaseModel):
    """An operator's delivery day: what to buy from each supplier, and the route's stops."""

    date: dt.date
    purchases: list[PurchaseOut]
    route: list[StopOut]
