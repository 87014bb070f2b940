"""Paid orders for after-sales and claim tests: bought directly, paid by WeChat Pay's notify."""

from __future__ import annotations

from datetime import datetime

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason
from models.community import Community
from models.order import Order
from models.user import Role, User
from qunshop.config import Settings
from services import aftersales, checkout, payments
from services.auth import Principal
from tests.support.factories import make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def pay(
    settings: Settings, wechat: FakeWeChat, order: Order, now: datetime, *, honoured: bool = True
) -> None:
    """WeChat Pay's notify for ``order``, applied as the notify view applies it; not
    ``honoured``: the order was no longer payable, and the payment is sent back."""
    user = await User.get(id=order.user_id)
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    outcome = await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=now,
    )
    assert outcome.applied and outcome.honoured is honoured


async def paid_order(
    settings: Settings,
    wechat: FakeWeChat,
    *,
    now: datetime,
    community: Community | None = None,
    buyer: User | None = None,
    price: int = 1990,
    quantity: int = 1,
    sku_id: str | None = None,
) -> Order:
    """A confirmed (paid) direct order of the community's SKU."""
    community = community or await make_community()
    buyer = buyer or await make_user(Role.SHOPPER)
    if sku_id is None:
        sku_id = str((await make_sku(community, price=price)).id)
    order = await checkout.buy_direct(
        principal=principal_of(buyer),
        sku_id=sku_id,
        quantity=quantity,
        community_id=str(community.id),
        now=now,
    )
    await pay(settings, wechat, order, now)
    return await Order.get(id=order.id)


async def refund_asked(
    order: Order, now: datetime, *, detail: str = "", photos: tuple[str, ...] = ()
) -> AfterSale:
    """The order's buyer asks for 5.00 back, the goods being bad (refund only)."""
    return await aftersales.request(
        principal=principal_of(await User.get(id=order.user_id)),
        order_id=str(order.id),
        ask=aftersales.Ask(
            kind=AfterSaleKind.REFUND_ONLY,
            reason=AfterSaleReason.QUALITY,
            detail=detail,
            photos=photos,
            amount=500,
        ),
        now=now,
        response_hours=48,
        after_sale_days=7,
    )


async def decided(
    sale: AfterSale, by: User, now: datetime, *, approve: bool = True, note: str = ""
) -> AfterSale:
    """``by`` (the leader, or an operator) approves ``sale``, or rejects it saying ``note``."""
    return await aftersales.decide(
        principal=principal_of(by),
        after_sale_id=str(sale.id),
        approve=approve,
        note=note,
        now=now,
    )
