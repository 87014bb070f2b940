"""A shopper's own orders by their number in 我的订单: 取消订单/取消/cancel, 取货码/pickup.

Both call the services the mini-program's endpoints call (``checkout.cancel``,
``pickup.ticket``); every refusal they raise is rendered from its template in errors/.
A pickup code is whoever-shows-it-takes-the-goods: it is given in a one-to-one chat only.
A cancel typed in a group is carried out (the number can only name an order of the sender's,
one their private list showed them), and the group reads that it was, not what was bought.
A number names the order the person's last list showed there, or nothing
(``storefront.numbered_order``); people type it glued on too: 「取消订单1」, 「取消1」.
「取消」 is the shopper's: a leader cancels an activity with 「活动 取消 1」, headed by 活动.
"""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from handlers.shop import is_staff, principal_of
from qunshop.chat import Reply, Text
from services import checkout, pickup, storefront

router = Router("orders")

NUMBER = r"(?P<number>\d{1,2})?"


@router.route(Command("取消订单", "取消", "cancel", pattern=NUMBER, glued=True))
async def cancel(
    ctx: Context, args: str, number: str | None = None, bad_args: bool = False
) -> Reply:
    if bad_args or not number:
        return Text(
            ctx.render(
                "orders/which.j2",
                command="取消订单",
                in_group=ctx.in_group,
                staff=is_staff(ctx),
            )
        )
    ordinal = int(number)
    line = await storefront.numbered_order(principal_of(ctx), ordinal, redis=ctx.redis)
    order = await checkout.cancel(
        principal=principal_of(ctx),
        order_id=str(line.order.id),
        now=ctx.now,
        after_sale_days=ctx.settings.auto_complete_days,
    )
    return Text(
        ctx.render(
            "orders/cancelled.j2", line=line, order=order, number=ordinal, in_group=ctx.in_group
        )
    )


@router.route(
    Command(
        "取货码",
        "提货码",
        "取货",
        "提货",
        "我的取货码",
        "我的提货码",
        "pickup",
        pattern=NUMBER,
        glued=True,
    )
)
async def pickup_code(
    ctx: Context, args: str, number: str | None = None, bad_args: bool = False
) -> Reply:
    if ctx.in_group:  # never into a group: the code is the goods
        return Text(ctx.render("private_only.j2", command="取货码"))
    if bad_args:
        return Text(ctx.render("orders/which.j2", command="取货码", in_group=False, staff=False))
    if not number:
        lines = await storefront.shown_orders(principal_of(ctx), redis=ctx.redis)
        return Text(ctx.render("orders/pickup_codes.j2", lines=lines))
    ordinal = int(number)  # 「１」 from a full-width keyboard reads back as 1
    line = await storefront.numbered_order(principal_of(ctx), ordinal, redis=ctx.redis)
    ticket = await pickup.ticket(principal=principal_of(ctx), order_id=str(line.order.id))
    return Text(ctx.render("orders/pickup_code.j2", line=line, ticket=ticket, number=ordinal))
