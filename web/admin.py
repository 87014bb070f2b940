"""The operator console (/admin): users and roles, orders, parked messages and refunds,
products and stock, growth rules, and the audit log of every change made here.

Operators log in as leaders do (``后台`` in a one-to-one chat; the login sends an admin
here). Each page calls one service; each form posts with CSRF and redirects after.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from models.growth import BindingScope
from models.user import ApplicationStatus, Role
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, REDIS
from services import (
    audit,
    audit_names,
    catalog,
    growth_rules,
    leader_admin,
    leaders,
    operator_queue,
    order_search,
    parked,
    roles,
    shop_admin,
)
from web.auth import Admin
from web.labels import field_name, role_name
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

YUAN = re.compile(r"\d{1,7}(\.\d{1,2})?")
PERCENT = re.compile(r"\d{1,3}(\.\d{1,2})?")
MAX_QUERY = 64
MAX_REASON = 500


def _hundredths(text: str, pattern: re.Pattern[str]) -> int | None:
    """A number with at most two decimals, times 100 (yuan to fen, percent to 万分之一)."""
    text = text.strip()
    if not pattern.fullmatch(text):
        return None
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def _fen(text: str, field: str) -> int:
    fen = _hundredths(text, YUAN)
    if fen is None:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, f"{field_name(field)}：请填写金额（元），例如 19.90"
        )
    return fen


def _bps(text: str, field: str) -> int:
    """A rate typed as percent (12.5 = 12.5%), stored in 万分之一 (1250)."""
    bps = _hundredths(text, PERCENT)
    if bps is None or bps > 10_000:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED,
            f"{field_name(field)}：请填写 0 到 100 之间的百分数，最多两位小数，例如 12.5",
        )
    return bps


def _int(text: str, field: str, *, low: int = 0, high: int = 10_000_000) -> int:
    text = text.strip()
    if not text.isdecimal() or not low <= int(text) <= high:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, f"{field_name(field)}：请填写 {low} 到 {high} 之间的整数"
        )
    return int(text)


@page("GET", "/admin", auth=Admin, template="admin/home.html")
async def home(*, principal: Principal, config: Resources) -> dict[str, Any]:
    entries = (await audit.recent(actor=principal))[:10]
    return {
        "entries": entries,
        "names": await audit_names.names(entries),
        "waiting": await operator_queue.waiting(actor=principal),
        "stuck": await parked.stuck_refunds(actor=principal, now=config[CLOCK].now()),
    }


@page("GET", "/admin/users", auth=Admin, template="admin/users.html")
async def users(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    q = query.get("q", "")[:MAX_QUERY]
    role = leader_admin.parse_role(query["role"]) if query.get("role") else None
    found = await leader_admin.find_users(actor=principal, q=q, role=role)
    return {"users": found, "q": q, "role": role, "roles": list(Role)}


@page("POST", "/admin/users/role", auth=Admin)
async def set_role(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _change_role(roles.grant, principal, form, config)


@page("POST", "/admin/users/revoke", auth=Admin)
async def revoke_role(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _change_role(roles.revoke, principal, form, config)


async def _change_role(
    change: Any, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    """Grant or revoke (services.roles): the one way a role changes, audited there."""
    user = await change(
        actor=principal,
        user_id=form.get("user_id", ""),
        role=leader_admin.parse_role(form.get("role", "")),
        redis=config[REDIS],
        now=config[CLOCK].now(),
    )
    return back("/admin/users", f"{user.nickname or user.openid} 现在是{role_name(user.role)}")


@page("GET", "/admin/leaders", auth=Admin, template="admin/leaders.html")
async def leader_applications(
    *, principal: Principal, query: MultiDictProxy[str]
) -> dict[str, Any]:
    try:
        status = ApplicationStatus(query.get("status") or ApplicationStatus.PENDING)
    except ValueError:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, "状态只能是：待处理、已通过或已拒绝"
        ) from None
    return {
        "applications": await leaders.applications(actor=principal, status=status),
        "status": status,
        "statuses": list(ApplicationStatus),
    }


@page("POST", "/admin/leaders/approve", auth=Admin)
async def approve_leader(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    done = await leaders.approve(
        actor=principal,
        application_id=form.get("application_id", ""),
        redis=config[REDIS],
        now=config[CLOCK].now(),
    )
    return back("/admin/leaders", f"已批准：{done.community_name}")


@page("POST", "/admin/leaders/reject", auth=Admin)
async def reject_leader(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, f"原因：请填写 1 到 {MAX_REASON} 个字")
    done = await leaders.reject(
        actor=principal,
        application_id=form.get("application_id", ""),
        reason=reason,
        now=config[CLOCK].now(),
    )
    return back("/admin/leaders", f"已拒绝：{done.community_name}")


@page("GET", "/admin/orders", auth=Admin, template="admin/orders.html")
async def orders(
    *, principal: Principal, query: MultiDictProxy[str], config: Resources
) -> dict[str, Any]:
    q = query.get("q", "")[:MAX_QUERY]
    found = await order_search.search(actor=principal, q=q, now=config[CLOCK].now()) if q else None
    return {"q": q, "found": found}


@page("GET", "/admin/parked", auth=Admin, template="admin/parked.html")
async def parked_list(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    return {
        "parked": await parked.parked(actor=principal),
        "failed": await parked.failed_refunds(actor=principal),
    }


@page("POST", "/admin/parked/retry", auth=Admin)
async def retry(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    message = await parked.retry(
        actor=principal, message_id=form.get("message_id", ""), now=config[CLOCK].now()
    )
    return back("/admin/parked", f"已重新发送：{message.kind}")


@page("GET", "/admin/products", auth=Admin, template="admin/products.html")
async def products(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    q = query.get("q", "")[:MAX_QUERY]
    found = await catalog.list_products(actor=principal, q=q or None, limit=50)
    return {"products": found.items, "q": q}


@page("POST", "/admin/skus", auth=Admin)
async def set_sku(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    sku = await shop_admin.set_sku(
        actor=principal,
        sku_id=form.get("sku_id", ""),
        price=_fen(form.get("price", ""), "price"),
        stock=_int(form.get("stock", ""), "stock"),
        now=config[CLOCK].now(),
    )
    return back("/admin/products", f"已保存：{sku.name}")


@page("GET", "/admin/growth", auth=Admin, template="admin/growth.html")
async def growth(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    return {
        "rules": await growth_rules.current(),
        "scopes": list(BindingScope),
    }


@page("POST", "/admin/growth", auth=Admin, again=growth)
async def set_growth(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    days = form.get("binding_days", "").strip()
    try:
        scope = BindingScope(form.get("binding_scope", ""))
    except ValueError:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "谁可以被绑定：请从列表中选择") from None
    rules = growth_rules.Rules(
        leader_share_bps=_bps(form.get("leader_share_bps", ""), "leader_share_bps"),
        invite_bps=(
            _bps(form.get("invite1_bps", ""), "invite1_bps"),
            _bps(form.get("invite2_bps", ""), "invite2_bps"),
        ),
        binding_scope=scope,
        binding_days=_int(days, "binding_days", low=1) if days else None,
    )
    await shop_admin.set_growth_rules(actor=principal, rules=rules, now=config[CLOCK].now())
    return back("/admin/growth", "规则已保存")


def page_size(query: MultiDictProxy[str], default: int) -> int:
    """``?size=``: rows on a page, as asked (the service bounds it); else ``default``."""
    text = query.get("size", "")
    return int(text) if text.isdecimal() and len(text) <= 4 else default


@page("GET", "/admin/audit", auth=Admin, template="admin/audit.html")
async def audit_log(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    target = query.get("target", "")[:128] or None
    size = page_size(query, audit.PAGE)
    entries, after = await audit.page(
        actor=principal, target=target, limit=size, cursor=query.get("after") or None
    )
    more = {"target": target, "size": size if size != audit.PAGE else None, "after": after}
    return {
        "entries": entries,
        "names": await audit_names.names(entries),
        "target": target,
        "next": {k: v for k, v in more.items() if v} if after else None,
        "first": bool(query.get("after")),
    }
