"""Withdrawals (提现) on the consoles: a leader's form on /console/earnings, the operators'
queue at /admin/withdrawals. Each calls services.withdrawals, as chat and the API do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models.growth import WithdrawalStatus
from qunshop.keys import CLOCK
from qunshop.templates import fen
from services import withdrawals
from web import confirm
from web.aftercare import MAX_TEXT, rejection_reason
from web.auth import Admin, Leader
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web

    from qunshop.keys import Resources
    from services.auth import Principal


@page("POST", "/console/earnings/withdraw", auth=Leader)
async def withdraw(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    """The form's amount in yuan; empty (or 全部) for all that is available."""
    amount = None if form.get("all") else withdrawals.parse_yuan(form.get("amount", ""))
    made = await withdrawals.request(principal=principal, amount=amount, now=config[CLOCK].now())
    return back("/console/earnings", f"已申请提现 ¥{fen(made.amount)}，运营审核后付到你的微信零钱")


@page("GET", "/admin/withdrawals", auth=Admin, template="admin/withdrawals.html")
async def queue(*, principal: Principal) -> dict[str, Any]:
    return {"board": await withdrawals.board(principal=principal), "max_text": MAX_TEXT}


# Money leaves the shop (approve) or a leader is told no (reject): asked once more first.
PAY = confirm.Question(
    "同意提现{name}？",
    (
        "同意后会通过微信支付「企业付款到零钱」付到团长的微信零钱，付出后不能撤回。",
        "同意后不能再改成驳回。",
    ),
    "确认同意并付款",
    back="/admin/withdrawals",
    nav=confirm.ADMIN_NAV,
)
REFUSE = confirm.Question(
    "驳回提现{name}？",
    ("这笔钱会退回团长的可提现余额。", "团长会在聊天里收到驳回和你写的原因。"),
    "确认驳回",
    back="/admin/withdrawals",
    nav=confirm.ADMIN_NAV,
)


@page("POST", "/admin/withdrawals/approve", auth=Admin, template=confirm.TEMPLATE)
async def approve(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide(principal, form, config, approve=True)


@page("POST", "/admin/withdrawals/reject", auth=Admin, template=confirm.TEMPLATE)
async def reject(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide(principal, form, config, approve=False)


async def _decide(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse | dict[str, Any]:
    note = rejection_reason(form, approve)  # a missing reason is told before the question
    shown = await withdrawals.get(form.get("withdrawal_id", ""))
    asked = PAY if approve else REFUSE
    if asked.needed(form, undone=shown.status is WithdrawalStatus.REQUESTED):
        return asked.page(
            name=f" ¥{fen(shown.amount)}",
            action=f"/admin/withdrawals/{'approve' if approve else 'reject'}",
            fields={"withdrawal_id": str(shown.id)} | ({"reason": note} if note else {}),
        )
    made = await withdrawals.decide(
        principal=principal,
        withdrawal_id=str(shown.id),
        approve=approve,
        reason=note,
        now=config[CLOCK].now(),
    )
    if approve:
        return back("/admin/withdrawals", f"已同意，¥{fen(made.amount)} 正在付到团长的微信零钱")
    return back("/admin/withdrawals", f"已驳回，¥{fen(made.amount)} 已退回团长的可提现余额")
