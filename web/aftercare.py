"""Console pages of after-sales (leaders), group claims and reconciliation (operators).

Each page calls the services the API calls; each form posts with CSRF and redirects after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from models.claim import ClaimStatus
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, SETTINGS
from qunshop.templates import fen
from services import aftersale_board, aftersales, claims, reconciliation
from web.auth import Admin, Leader
from web.console import see_other
from web.page import page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

MAX_NOTE = 100
MAX_TEXT = 500


def _note(query: MultiDictProxy[str]) -> str:
    return query.get("note", "")[:MAX_NOTE]


def _back(path: str, note: str) -> web.StreamResponse:
    joiner = "&" if "?" in path else "?"
    return see_other(f"{path}{joiner}note={quote(note)}")


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
        "note": _note(query),
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
    return {"line": line, "note": _note(query), "viewer": principal.user_id}


@page("POST", "/console/after-sales/approve", auth=Leader)
async def approve_after_sale(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_after_sale(principal, form, config, approve=True)


@page("POST", "/console/after-sales/reject", auth=Leader)
async def reject_after_sale(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_after_sale(principal, form, config, approve=False)


async def _decide_after_sale(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse:
    """Approve or reject (services.aftersales.decide); a rejection carries its reason."""
    sale = await aftersales.decide(
        principal=principal,
        after_sale_id=form.get("after_sale_id", ""),
        approve=approve,
        note=_reason(form, approve),
        now=config[CLOCK].now(),
    )
    back = f"/console/after-sales/{sale.id}"
    if approve:
        return _back(back, f"已同意，¥{fen(sale.amount)} 将原路退回买家的微信")
    return _back(back, "已拒绝，买家会看到你写的原因")


def _reason(form: dict[str, str], approve: bool) -> str:
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
    return {"pending": pending, "lines": lines, "decided": decided, "note": _note(query)}


@page("POST", "/admin/claims/approve", auth=Admin)
async def approve_claim(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_claim(principal, form, config, approve=True)


@page("POST", "/admin/claims/reject", auth=Admin)
async def reject_claim(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_claim(principal, form, config, approve=False)


async def _decide_claim(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse:
    """Approve or reject (services.claims.decide); a rejection carries its reason."""
    claim = await claims.decide(
        principal=principal,
        claim_id=form.get("claim_id", ""),
        approve=approve,
        note=_reason(form, approve),
        now=config[CLOCK].now(),
    )
    return _back(
        "/admin/claims", f"已批准，共退 ¥{claim.amount / 100:.2f}" if approve else "已驳回"
    )


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
    return {"runs": runs, "run": chosen, "items": items, "note": _note(query)}


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
    return _back(f"/admin/reconciliation?date={run.bill_date.isoformat()}", "已标记为处理完")
