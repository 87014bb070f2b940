"""After-sales requests as the person deciding reads them: who asked (nickname, and how the
leader reaches them), the order (goods, quantity, paid, state, pickup), what is asked, what
went back already, and when the clock decides.

A page costs four statements whatever its length: the requests with their order, goods and
buyer joined; the orders' honoured payments; the buyers' chat identities; the orders' home
deliveries (the one phone a leader is given, shown masked: the full number is read on the
audited route sheet, services/home_delivery.py). A full queue costs a fifth: how many there
are beyond the ones it lists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.expressions import Q
from tortoise.functions import Sum

from models.aftersale import AfterSale, AfterSaleStatus
from models.chat import ChatIdentity
from models.delivery import HomeDelivery
from models.payment import Payment, RefundStatus
from qunshop.chat import Platform
from qunshop.templates import goods_name, person_name
from services import aftersales, cursors, earnings, personal

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from models.order import Order
    from qunshop.config import Settings
    from services.auth import Principal

PAGE = 20
# The most a queue lists: undecided requests last RESPONSE_HOURS, so a community seldom has
# more; an operator's (every community's) may, and a status's decided ones do. A longer
# queue says how many it holds (Queue.total).
WAITING_MAX = 100


@dataclass(frozen=True)
class Line:
    sale: AfterSale
    buyer: str  # the nickname, or the order number's tail (as the pickup list says)
    contact: str  # where the leader reaches them: "企业微信 li-si", "公众号消息", ""
    phone: str  # masked, 138****8000, from the order's home delivery; "" if none
    paid: int  # fen, the honoured payment
    refunded: int  # fen, owed back already whatever the cause
    sent: int = 0  # fen, of refunded: what WeChat Pay has paid back (succeeded refunds)

    @property
    def order(self) -> Order:
        return self.sale.order

    @property
    def item(self) -> str:
        sku = self.sale.order.sku
        return goods_name(sku.product.title, sku.name)

    @property
    def kept(self) -> int:
        return self.paid - self.refunded

    @property
    def refunding(self) -> int:
        """Owed back but not paid back yet: a refund pending, submitted or failed."""
        return self.refunded - self.sent


@dataclass(frozen=True)
class Queue:
    lines: list[Line]  # the first WAITING_MAX, the earliest the clock decides first
    total: int  # every request of the queue, listed or not

    @property
    def unlisted(self) -> int:
        return self.total - len(self.lines)


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else ""


def _contact(identities: list[ChatIdentity]) -> str:
    """A WeCom userid is the name colleagues find the buyer by; an Official Account openid
    means nothing to a person, so only the way in is named."""
    for found in identities:
        if found.platform in (Platform.WECOM.value, Platform.WECOM_BOT.value):
            return f"企业微信 {found.external_id}"
    return "公众号消息" if identities else ""


async def _lines(sales: list[AfterSale], settings: Settings) -> list[Line]:
    if not sales:
        return []
    orders = {s.order_id for s in sales}
    buyers = {s.user_id for s in sales}
    # With what WeChat Pay has paid back of it, in the same statement.
    succeeded = Sum("refunds__amount", _filter=Q(refunds__status=RefundStatus.SUCCEEDED))
    paid = {
        p.order_id: (p.amount, p.refunded, p.sent or 0)
        for p in await Payment.filter(order_id__in=orders, outcome=earnings.HONOURED)
        .annotate(sent=succeeded)
        .group_by("id")
    }
    chats: dict[uuid.UUID, list[ChatIdentity]] = {}
    for found in await ChatIdentity.filter(user_id__in=buyers).order_by("created_at"):
        chats.setdefault(found.user_id, []).append(found)
    key = personal.data_key(settings)
    phones = {
        d.order_id: masked(personal.unseal(d.phone_sealed, key=key, owner=d.id))
        for d in await HomeDelivery.filter(order_id__in=orders)
    }
    return [
        Line(
            s,
            person_name(s.user.nickname, s.order.out_trade_no),
            _contact(chats.get(s.user_id, [])),
            phones.get(s.order_id, ""),
            *paid.get(s.order_id, (s.order.amount, 0, 0)),
        )
        for s in sales
    ]


def _joined(query: QuerySet[AfterSale]) -> QuerySet[AfterSale]:
    return query.select_related("order__sku__product", "user", "refund")


async def queue(
    principal: Principal, *, settings: Settings, status: AfterSaleStatus | None = None
) -> Queue:
    """The caller's requests (of one status), the earliest the clock decides first: the first
    WAITING_MAX, and how many there are (counted only when the list is full)."""
    query = aftersales.decided_by(principal)
    if status is not None:
        query = query.filter(status=status)
    sales = list(await _joined(query).order_by("due_at", "id").limit(WAITING_MAX))
    total = await query.count() if len(sales) == WAITING_MAX else len(sales)
    return Queue(await _lines(sales, settings), total)


async def waiting(principal: Principal, *, settings: Settings) -> Queue:
    return await queue(principal, settings=settings, status=AfterSaleStatus.PENDING)


async def decided(
    principal: Principal, *, settings: Settings, cursor: str | None, limit: int = PAGE
) -> tuple[list[Line], str | None]:
    """The caller's decided requests, newest asked first, a page at a time (keyset)."""
    query = aftersales.decided_by(principal).exclude(status=AfterSaleStatus.PENDING)
    sales, after = await cursors.page(_joined(query), limit=limit, cursor=cursor)
    return await _lines(sales, settings), after


async def one(principal: Principal, after_sale_id: str, *, settings: Settings) -> Line:
    """One request the caller decides (a buyer's own is not on the deciders' pages)."""
    sale = await aftersales.get_for(principal, after_sale_id)
    if not await aftersales.may_decide(principal, sale):
        raise aftersales.not_found()
    joined = await _joined(AfterSale.filter(id=sale.id)).get()
    return (await _lines([joined], settings))[0]
