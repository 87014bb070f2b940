"""Console pages of after-sales (leaders), group claims and reconciliation (operators).

Each page calls the services the API calls; each form posts with CSRF and redirects after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models.aftersale import AfterSaleStatus
from models.claim import ClaimStatus
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, SETTINGS
from qunshop.templates import fen
from services import aftersale_board, aftersales, claims, reconciliation
from web import confirm
from web.auth import Admin, Leader
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

MAX_TEXT = 500


# Leaders: after-sales ----------------------------------------------------------------------


@page("GET", "/console/after-sales", auth=Leader, template="console/after_sales.html")
async def after_sales(
    *, principal: Principal, query: MultiDictProxy[str], config: Resources
) -> dict[str, Any]:
    settings = config[SETTINGS]
    cursor = query.get("after") or None
    decided, after = await aftersale_board.decided(principal, settings=settings, cursor=cursor)
    return {
        # Later pages are the decided ones only: the waiting are all on the first.
        "waiting": [] if cursor else await aftersale_board.waiting(principal, settings=settings),
        "decided": decided,
        "next": after,
        "paged": bool(cursor),
        "viewer": principal.user_id,  # their own requests are the operators' to decide
    }


@page(
    "GET",
    "/console/after-sales/{after_sale_id}",
    auth=Leader,
    template="console/after_sale.html",
)
async def after_sale(
    *, principal: Principal, after_sale_id: str, query: MultiDictProxy[str], config: Resources
) -> dict[str, Any]:
    line = await aftersale_board.one(principal, after_sale_id, settings=config[SETTINGS])
    return {"line": line, "viewer": principal.user_id}


# Money goes back and a decision cannot be taken back: each is asked once more first, on
# the page of web/confirm.py (a rejection too, for its buyer is told at once).
REFUND = confirm.Question(
    "同意退款{name}？",
    (
        "钱会原路退回买家的微信，发出后不能撤回。",
        "同意后这份申请就处理完了，不能再改成拒绝。",
    ),
    "确认同意退款",
    back="/console/after-sales",
    nav=confirm.CONSOLE_NAV,
)
REFUSE = confirm.Question(
    "拒绝{name}？",
    ("买家会马上看到拒绝和你写的原因。", "拒绝后不能再改成同意。"),
    "确认拒绝",
    back="/console/after-sales",
    nav=confirm.CONSOLE_NAV,
)


@page("POST", "/console/after-sales/approve", auth=Leader, template=confirm.TEMPLATE)
async def approve_after_sale(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide_after_sale(principal, form, config, approve=True)


@page("POST", "/console/after-sales/reject", auth=Leader, template=confirm.TEMPLATE)
async def reject_after_sale(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide_after_sale(principal, form, config, approve=False)


async def _decide_after_sale(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse | dict[str, Any]:
    """Approve or reject (services.aftersales.decide); a rejection carries its reason."""
    note = rejection_reason(
        form, approve
    )  # a missing reason is told before the question, not after
    line = await aftersale_board.one(
        principal, form.get("after_sale_id", ""), settings=config[SETTINGS]
    )
    sale = line.sale
    asked = REFUND if approve else REFUSE
    # Nothing to ask about what is decided, or what is not theirs to decide (their own
    # request): the service answers that at once.
    open_to_them = sale.status is AfterSaleStatus.PENDING and sale.user_id != principal.user_id
    if asked.needed(form, undone=open_to_them):
        return asked.page(
            name=f" ¥{fen(sale.amount)} 给{line.buyer}" if approve else f"{line.buyer}的售后申请",
            action=f"/console/after-sales/{'approve' if approve else 'reject'}",
            fields={"after_sale_id": str(sale.id)} | ({"reason": note} if note else {}),
        )
    sale = await aftersales.decide(
        principal=principal,
        after_sale_id=str(sale.id),
        approve=approve,
        note=note,
        now=config[CLOCK].now(),
    )
    to = f"/console/after-sales/{sale.id}"
    if approve:
        return back(to, f"已同意，¥{fen(sale.amount)} 将原路退回买家的微信")
    return back(to, "已拒绝，买家会看到你写的原因")


def rejection_reason(form: dict[str, str], approve: bool) -> str:
    """A rejection's reason, which the buyer is told: asked for, never cut short unseen."""
    if approve:
        return ""
    reason = form.get("reason", "").strip()
    if not 1 <= len(reason) <= MAX_TEXT:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, f"拒绝原因：请写明为什么拒绝（1 到 {MAX_TEXT} 个字）"
        )
    return reason


# Operators: group claims -------------------------------------------------------------------


@page("GET", "/admin/claims", auth=Admin, template="admin/claims.html")
async def claim_queue(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    pending = await claims.queue(status=ClaimStatus.PENDING)
    lines = {c.id: await claims.lines_of(c) for c in pending}
    decided = [c for c in await claims.queue() if c.status is not ClaimStatus.PENDING][-20:]
    return {"pending": pending, "lines": lines, "decided": decided}


PAY_CLAIM = confirm.Question(
    "批准这笔理赔（{name}）并退款？",
    ("每笔订单的份额会原路退回各自买家的微信，发出后不能撤回。", "批准后不能再改成驳回。"),
    "确认批准并退款",
    back="/admin/claims",
    nav=confirm.ADMIN_NAV,
)
REFUSE_CLAIM = confirm.Question(
    "驳回这笔理赔（{name}）？",
    ("团长查看这笔理赔时会看到驳回和你写的原因。", "驳回后不能再改成批准。"),
    "确认驳回",
    back="/admin/claims",
    nav=confirm.ADMIN_NAV,
)


@page("POST", "/admin/claims/approve", auth=Admin, template=confirm.TEMPLATE)
async def approve_claim(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide_claim(principal, form, config, approve=True)


@page("POST", "/admin/claims/reject", auth=Admin, template=confirm.TEMPLATE)
async def reject_claim(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    return await _decide_claim(principal, form, config, approve=False)


async def _decide_claim(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse | dict[str, Any]:
    """Approve or reject (services.claims.decide); a rejection carries its reason. Asked
    once more first, as an after-sales decision is."""
    note = rejection_reason(form, approve)
    shown = await claims.get_for(principal, form.get("claim_id", ""))
    asked = PAY_CLAIM if approve else REFUSE_CLAIM
    if asked.needed(form, undone=shown.status is ClaimStatus.PENDING):
        return asked.page(
            name=f"{shown.units} 件，共 ¥{fen(shown.amount)}",
            action=f"/admin/claims/{'approve' if approve else 'reject'}",
            fields={"claim_id": str(shown.id)} | ({"reason": note} if note else {}),
        )
    claim = await claims.decide(
        principal=principal,
        claim_id=str(shown.id),
        approve=approve,
        note=note,
        now=config[CLOCK].now(),
    )
    return back("/admin/claims", f"已批准，共退 ¥{claim.amount / 100:.2f}" if approve else "已驳回")


# Operators: reconciliation -----------------------------------------------------------------


@page("GET", "/admin/reconciliation", auth=Admin, template="admin/reconciliation.html")
async def bills(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    runs = await reconciliation.runs()
    chosen = None
    if query.get("date"):
        chosen = await reconciliation.run_of(reconciliation.parse_day(query["date"][:10]))
    elif runs:
        chosen = runs[0]
    items = await reconciliation.differences(chosen) if chosen else []
    return {"runs": runs, "run": chosen, "items": items}


@page("POST", "/admin/reconciliation/resolve", auth=Admin)
async def resolve(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    item = await reconciliation.resolve(
        actor_id=principal.user_id,
        difference_id=form.get("difference_id", ""),
        note=form.get("note", "")[:MAX_TEXT] or "已处理",
        now=config[CLOCK].now(),
    )
    run = await item.run
    return back(f"/admin/reconciliation?date={run.bill_date.isoformat()}", "已标记为处理完")
