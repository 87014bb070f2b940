"""Supply pages: the leader's delivery batches, the operators' review queue and delivery
day. Each calls the same services as the API (services/batches.py, services/listings.py)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from models.delivery import BatchStatus
from models.supply import ReviewStatus
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, SETTINGS
from services import batch_sheets, listings, reconciliation
from web.auth import Admin, Leader
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

MAX_REASON = 255


@page("GET", "/console/batches", auth=Leader, template="console/batches.html")
async def console_batches(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    """The leader's batches, newest first, and the pick list of the one on its way."""
    found = await batch_sheets.list_batches(principal=principal, community_id=None, status=None)
    on_way = [b for b in found if b.status is BatchStatus.DISPATCHED]
    sheet = await batch_sheets.sheet(on_way[-1]) if on_way else None
    return {"batches": found, "sheet": sheet}


def _review_status(query: MultiDictProxy[str]) -> ReviewStatus:
    """The queue a review page shows: pending unless the operator picked another."""
    try:
        return ReviewStatus(query.get("status") or ReviewStatus.PENDING)
    except ValueError:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, "状态只能是：待处理、已通过或已拒绝"
        ) from None


def _reason(form: dict[str, str]) -> str:
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, f"原因：最多 {MAX_REASON} 个字")
    return reason


@page("GET", "/admin/reviews", auth=Admin, template="admin/reviews.html")
async def review_queue(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    status = _review_status(query)
    return {
        "reviews": await listings.queue(principal=principal, status=status),
        "status": status,
        "statuses": list(ReviewStatus),
    }


async def _decide(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse:
    reason = _reason(form)
    review = await listings.decide(
        principal=principal,
        review_id=form.get("review_id", ""),
        approve=approve,
        reason=reason,
        now=config[CLOCK].now(),
    )
    done = "已通过" if approve else "已驳回"
    title = (await review.product).title
    return back("/admin/reviews", f"{done}：{title}")


@page("POST", "/admin/reviews/approve", auth=Admin)
async def approve_review(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide(principal, form, config, approve=True)


@page("POST", "/admin/reviews/reject", auth=Admin)
async def reject_review(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide(principal, form, config, approve=False)


def _day(text: str) -> dt.date:
    """A form's or a query's date (2026-12-07)."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "日期：请按 2026-12-07 这样填写") from None


@page("GET", "/admin/deliveries", auth=Admin, template="admin/deliveries.html")
async def delivery_day(
    *, principal: Principal, query: MultiDictProxy[str], config: Resources
) -> dict[str, Any]:
    """A delivery day: what to buy from each supplier and the route's stops."""
    text = query.get("date", "")
    day = _day(text) if text else None
    if day is None:  # tomorrow where the shop is: in UTC it is still yesterday before 08:00
        day = config[CLOCK].now().astimezone(config[SETTINGS].tz).date() + dt.timedelta(days=1)
    return {"day": await batch_sheets.delivery_day(principal=principal, day=day)}


@page("GET", "/admin/suppliers", auth=Admin, template="admin/suppliers.html")
async def supplier_queue(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    """Suppliers by status (pending first): their qualifications, to approve or reject."""
    status = _review_status(query)
    return {
        "suppliers": await listings.suppliers(principal=principal, status=status),
        "status": status,
        "statuses": list(ReviewStatus),
    }


async def _decide_supplier(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse:
    reason = _reason(form)
    supplier = await listings.decide_supplier(
        principal=principal,
        supplier_id=form.get("supplier_id", ""),
        approve=approve,
        reason=reason,
        now=config[CLOCK].now(),
    )
    done = "已通过" if approve else "已驳回"
    return back("/admin/suppliers", f"{done}：{supplier.name}")


@page("POST", "/admin/suppliers/approve", auth=Admin)
async def approve_supplier(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_supplier(principal, form, config, approve=True)


@page("POST", "/admin/suppliers/reject", auth=Admin)
async def reject_supplier(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide_supplier(principal, form, config, approve=False)


@page("POST", "/admin/reconciliation/run", auth=Admin)
async def run_reconciliation(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    """Download and match a past day's bill again (queued; the page shows it when done)."""
    day = _day(form.get("date", ""))
    await reconciliation.request_run(day=day, now=config[CLOCK].now())
    note = f"已开始对账：{day.isoformat()}，稍后刷新查看"
    return back("/admin/reconciliation", note)
