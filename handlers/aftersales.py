"""售后 / aftersale: a buyer asks for a recent order back, by its number in 我的订单.

The list is private; a request typed in a group is filed (its number names the sender's own
order, as their private list showed it) and the group reads that it was, not what or how much.
"""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from models.aftersale import AfterSaleKind, AfterSaleReason
from qunshop.chat import Reply, Text
from services import aftersales, storefront

router = Router("aftersales")


def _reading(text: str) -> tuple[AfterSaleKind, AfterSaleReason]:
    """What the buyer's words ask for: 退货 is a return, 无理由 the 7-day no-reason return."""
    kind = AfterSaleKind.RETURN_REFUND if "退货" in text else AfterSaleKind.REFUND_ONLY
    if "无理由" in text:
        return kind, AfterSaleReason.NO_REASON
    if "发错" in text or "不对" in text:
        return kind, AfterSaleReason.WRONG_ITEM
    if "少" in text or "缺" in text or "没收到" in text:
        return kind, AfterSaleReason.MISSING
    return kind, AfterSaleReason.QUALITY


@router.route(
    Command(
        "售后",
        "aftersale",
        "after-sale",
        "退款",
        "refund",
        pattern=r"(?:(?P<number>\d{1,2})(?:\s+(?P<words>.+))?)?",
        glued=True,
    )
)
async def after_sale(
    ctx: Context,
    args: str,
    number: str | None = None,
    words: str | None = None,
    bad_args: bool = False,
) -> Reply:
    assert ctx.principal is not None
    if bad_args or not number:
        # The list is what someone bought and paid: theirs alone, as 我的订单 is.
        if ctx.in_group:
            return Text(ctx.render("private_only.j2", command="售后"))
        lines = await storefront.shown_orders(ctx.principal, redis=ctx.redis)
        requests, _ = await aftersales.mine(ctx.principal, limit=storefront.RECENT)
        return Text(ctx.render("aftersales/list.j2", lines=lines, requests=requests, tz=ctx.tz))
    line = await storefront.numbered_order(ctx.principal, int(number), redis=ctx.redis)
    detail = (words or "").strip()
    if not detail:  # 「售后 1」 alone files nothing: the leader decides on what the buyer says
        # ... but an order that takes no request is said so now, not after its reason.
        aftersales.check_open(line.order, now=ctx.now, days=ctx.settings.auto_complete_days)
        return Text(
            ctx.render("aftersales/why.j2", line=line, number=int(number), in_group=ctx.in_group)
        )
    kind, reason = _reading(detail)
    sale = await aftersales.request(
        principal=ctx.principal,
        order_id=str(line.order.id),
        ask=aftersales.Ask(kind=kind, reason=reason, detail=detail[:500]),
        now=ctx.now,
        response_hours=ctx.settings.after_sale_response_hours,
        after_sale_days=ctx.settings.auto_complete_days,
    )
    return Text(
        ctx.render(
            "aftersales/asked.j2",
            sale=sale,
            line=line,
            number=int(number),
            in_group=ctx.in_group,
            hours=ctx.settings.after_sale_response_hours,
            due=sale.due_at.astimezone(ctx.tz).strftime("%m-%d %H:%M"),
        )
    )
