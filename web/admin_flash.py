"""The operator console's flash sales (/admin/flash-sales): every community's, running,
upcoming and ended, and stopping one (services/flash_board.py, audited there), asked once
more first (web/confirm.py): stopping cannot be undone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qunshop.keys import CLOCK, REDIS
from qunshop.templates import goods_name
from services import flash_board
from web import confirm
from web.auth import Admin
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web

    from qunshop.keys import Resources
    from services.auth import Principal

ACTION = "/admin/flash-sales/stop"
STOP = confirm.Question(
    "停止秒杀「{name}」？",
    (
        "停止后立即不能再抢购，也不能重新开始；没卖出的库存退回商品。",
        "已经下的单不受影响：已付款的照常有效，未付款的仍可在保留时间内付款。",
    ),
    "确认停止",
    back="/admin/flash-sales",
    nav=confirm.ADMIN_NAV,
)


@page("GET", "/admin/flash-sales", auth=Admin, template="admin/flash_sales.html")
async def flash_sales(*, principal: Principal, config: Resources) -> dict[str, Any]:
    board = await flash_board.board(actor=principal, now=config[CLOCK].now())
    return {"board": board, "states": flash_board.SaleState}


@page("POST", ACTION, auth=Admin, template=confirm.TEMPLATE)
async def stop(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    now = config[CLOCK].now()
    sale, state = await flash_board.get(actor=principal, sale_id=form.get("sale_id", ""), now=now)
    name = goods_name(sale.sku.product.title, sale.sku.name)
    if STOP.needed(form, undone=state is not flash_board.SaleState.ENDED):
        return STOP.page(name=name, action=ACTION, fields={"sale_id": str(sale.id)})
    await flash_board.stop(actor=principal, sale_id=str(sale.id), now=now, redis=config[REDIS])
    return back("/admin/flash-sales", f"已停止秒杀：{name}，没卖出的库存已退回商品")
