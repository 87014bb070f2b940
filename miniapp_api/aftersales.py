"""After-sales: a buyer asks, the leader (or an admin) approves or rejects; return rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.auth import admin, staff
from miniapp_api.decisions import ApproveIn, RejectIn, note_of
from miniapp_api.fields import NOT_BLANK, WEB_URL, Id, integer
from miniapp_api.spec import endpoint
from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason, AfterSaleStatus, ReturnRule
from models.limits import MAX_AMOUNT
from models.payment import Refund
from qunshop.config import Settings
from services import aftersale_board, aftersales
from services.auth import Principal

TAGS = ("after-sales",)
RefundFen = integer(1, MAX_AMOUNT, description="fen; left out: all that was paid")
PhotoUrl = Annotated[str, Field(pattern=WEB_URL, max_length=512)]


class AfterSaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AfterSaleKind = Field(description="refund_only (仅退款) or return_refund (退货退款)")
    reason: AfterSaleReason = Field(
        description="no_reason is the 7-day no-reason return (not for fresh goods)"
    )
    detail: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")
    photos: list[PhotoUrl] = Field(default_factory=list, max_length=9)
    amount: RefundFen | None = None


class AfterSaleOut(BaseModel):
    id: str
    order_id: str
    kind: AfterSaleKind
    reason: AfterSaleReason
    detail: str
    photos: list[str]
    amount: int = Field(description="fen asked back")
    status: AfterSaleStatus
    due_at: datetime = Field(description="approved by the clock then, if nobody decides")
    decided_at: datetime | None
    decided_by_clock: bool
    note: str = Field(description="why it was rejected (or closed)")
    refund_status: str | None = Field(description="the refund's state once approved")
    created_at: datetime

    @classmethod
    async def of(cls, sale: AfterSale) -> AfterSaleOut:
        return cls.known(sale, await aftersales.refund_of(sale))

    @classmethod
    def known(cls, sale: AfterSale, refund: Refund | None) -> AfterSaleOut:
        return cls(
            id=str(sale.id),
            order_id=str(sale.order_id),
            kind=sale.kind,
            reason=sale.reason,
            detail=sale.detail,
            photos=list(sale.photos),
            amount=sale.amount,
            status=sale.status,
            due_at=sale.due_at,
            decided_at=sale.decided_at,
            decided_by_clock=sale.decided_by_clock,
            note=sale.note,
            refund_status=refund.status.value if refund else None,
            created_at=sale.created_at,
        )


class AfterSaleList(BaseModel):
    items: list[AfterSaleOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class MineQuery(BaseModel):
    limit: int = Field(20, ge=1, le=aftersales.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class BuyerOut(BaseModel):
    name: str = Field(description="nickname, or 顾客（单号尾号 1234） for a chat-only buyer")
    contact: str = Field(description="where the leader reaches them: 企业微信 <userid>, 公众号消息")
    phone: str = Field(description="the home delivery's phone, masked: 138****8000; or empty")


class OrderFactsOut(BaseModel):
    out_trade_no: str
    item: str = Field(description="product and SKU")
    quantity: int
    status: str
    picked_up_at: datetime | None
    paid: int = Field(description="fen paid")
    refunded: int = Field(description="fen owed back already, whatever the cause")


class QueuedAfterSaleOut(AfterSaleOut):
    """A request with what the person deciding it needs: who asked, and the order."""

    buyer: BuyerOut
    order: OrderFactsOut

    @classmethod
    def of_line(cls, line: aftersale_board.Line) -> QueuedAfterSaleOut:
        o = line.order
        base = AfterSaleOut.known(line.sale, line.sale.refund)
        return cls(
            **base.model_dump(),
            buyer=BuyerOut(name=line.buyer, contact=line.contact, phone=line.phone),
            order=OrderFactsOut(
                out_trade_no=o.out_trade_no,
                item=line.item,
                quantity=o.quantity,
                status=o.status.value,
                picked_up_at=o.picked_up_at,
                paid=line.paid,
                refunded=line.refunded,
            ),
        )


class AfterSaleQueue(BaseModel):
    items: list[QueuedAfterSaleOut] = Field(
        description=f"the first {aftersale_board.WAITING_MAX}, earliest deadline first"
    )
    total: int = Field(
        description="how many requests there are, listed or not: more than the items when "
        "the list is full; the rest are listed as these are decided"
    )


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "rejected", "closed"] | None = None


class ReturnRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, min_length=1, max_length=32, pattern=NOT_BLANK)
    product_id: Id | None = None
    no_reason_return: bool = Field(description="false: exempt (fresh, perishable goods)")
    note: str = Field(default="", max_length=200, pattern=r"^[^\x00]*$")


class ReturnRuleOut(BaseModel):
    id: str
    category: str | None
    product_id: str | None
    no_reason_return: bool
    note: str
    updated_at: datetime

    @classmethod
    def of(cls, rule: ReturnRule) -> ReturnRuleOut:
        return cls(
            id=str(rule.id),
            category=rule.category,
            product_id=str(rule.product_id) if rule.product_id else None,
            no_reason_return=rule.no_reason_return,
            note=rule.note,
            updated_at=rule.updated_at,
        )


class ReturnRuleList(BaseModel):
    items: list[ReturnRuleOut]


@endpoint(
    summary="Ask for an order back: refund only, or return and refund (售后)",
    tags=TAGS,
    body=AfterSaleIn,
    response=AfterSaleOut,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(404, 409, 422),
)
async def ask_after_sale(
    *, principal: Principal, order_id: str, body: AfterSaleIn, settings: Settings, now: datetime
) -> AfterSaleOut:
    sale = await aftersales.request(
        principal=principal,
        order_id=order_id,
        ask=aftersales.Ask(
            kind=body.kind,
            reason=body.reason,
            detail=body.detail,
            photos=tuple(body.photos),
            amount=body.amount,
        ),
        now=now,
        response_hours=settings.after_sale_response_hours,
        after_sale_days=settings.auto_complete_days,
    )
    return await AfterSaleOut.of(sale)


@endpoint(
    summary="The caller's after-sales requests, newest first, a page at a time",
    tags=TAGS,
    query=MineQuery,
    response=AfterSaleList,
    auth=True,
)
async def my_after_sales(*, principal: Principal, query: MineQuery) -> AfterSaleList:
    sales, more = await aftersales.mine(principal, limit=query.limit, cursor=query.cursor)
    return AfterSaleList(  # each with its refund joined
        items=[AfterSaleOut.known(s, s.refund) for s in sales], next_cursor=more
    )


@endpoint(
    summary="One after-sales request (the buyer's, or one the caller decides)",
    tags=TAGS,
    response=AfterSaleOut,
    auth=True,
    errors=(404,),
)
async def get_after_sale(*, principal: Principal, after_sale_id: str) -> AfterSaleOut:
    return await AfterSaleOut.of(await aftersales.get_for(principal, after_sale_id))


@endpoint(
    summary="Leaders and admins: the after-sales requests they decide, earliest deadline first "
    "(the first 100, and how many there are)",
    tags=TAGS,
    query=QueueQuery,
    response=AfterSaleQueue,
    auth=staff,
)
async def after_sale_queue(
    *, principal: Principal, query: QueueQuery, settings: Settings
) -> AfterSaleQueue:
    status = AfterSaleStatus(query.status) if query.status else None
    found = await aftersale_board.queue(principal, settings=settings, status=status)
    return AfterSaleQueue(
        items=[QueuedAfterSaleOut.of_line(line) for line in found.lines], total=found.total
    )


@endpoint(
    summary="Approve an after-sales request: the refund is sent through WeChat Pay",
    tags=TAGS,
    body=ApproveIn,
    optional_body=True,
    response=AfterSaleOut,
    auth=staff,
    errors=(403, 404, 409, 422),
)
async def approve_after_sale(
    *, principal: Principal, after_sale_id: str, body: ApproveIn, now: datetime
) -> AfterSaleOut:
    return await _decide(principal, after_sale_id, body, now, approve=True)


@endpoint(
    summary="Reject an after-sales request, with the reason the buyer is shown",
    tags=TAGS,
    body=RejectIn,
    response=AfterSaleOut,
    auth=staff,
    errors=(403, 404, 409, 422),
)
async def reject_after_sale(
    *, principal: Principal, after_sale_id: str, body: RejectIn, now: datetime
) -> AfterSaleOut:
    return await _decide(principal, after_sale_id, body, now, approve=False)


async def _decide(
    principal: Principal,
    after_sale_id: str,
    body: ApproveIn | RejectIn,
    now: datetime,
    *,
    approve: bool,
) -> AfterSaleOut:
    """Approve or reject (services.aftersales.decide), the one body of both endpoints."""
    sale = await aftersales.decide(
        principal=principal,
        after_sale_id=after_sale_id,
        approve=approve,
        note=note_of(body),
        now=now,
    )
    return await AfterSaleOut.of(sale)


@endpoint(
    summary="Admins: which categories and products take the 7-day no-reason return",
    tags=TAGS,
    response=ReturnRuleList,
    auth=admin,
)
async def list_return_rules() -> ReturnRuleList:
    return ReturnRuleList(items=[ReturnRuleOut.of(r) for r in await aftersales.rules()])


@endpoint(
    summary="Admins: set a category's or a product's 7-day no-reason return (fresh: false)",
    tags=TAGS,
    body=ReturnRuleIn,
    response=ReturnRuleOut,
    auth=admin,
    errors=(404, 422),
)
async def set_return_rule(*, body: ReturnRuleIn, now: datetime) -> ReturnRuleOut:
    rule = await aftersales.set_rule(
        category=body.category,
        product_id=str(body.product_id) if body.product_id else None,
        no_reason_return=body.no_reason_return,
        note=body.note,
        now=now,
    )
    return ReturnRuleOut.of(rule)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/orders/{order_id}/after-sales", ask_after_sale)
    app.router.add_get("/api/v1/after-sales", my_after_sales)
    app.router.add_get("/api/v1/after-sales/{after_sale_id}", get_after_sale)
    app.router.add_post("/api/v1/after-sales/{after_sale_id}/approve", approve_after_sale)
    app.router.add_post("/api/v1/after-sales/{after_sale_id}/reject", reject_after_sale)
    app.router.add_get("/api/v1/leader/after-sales", after_sale_queue)
    app.router.add_get("/api/v1/admin/return-rules", list_return_rules)
    app.router.add_put("/api/v1/admin/return-rules", set_return_rule)
