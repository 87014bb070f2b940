"""The operator console's coupons (/admin/coupons): the templates with their stock left, a
form for a new one (满减 or percent off, its stock, limit and days), and closing one.

The same verbs as the admin API (services/coupons.py), audited there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models.coupon import CouponKind
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, REDIS
from services import coupon_gate, coupons
from services.coupons import TemplateDraft
from web import confirm
from web.admin import _fen, _int
from web.auth import Admin
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

MAX_NAME = 64
ACTION = "/admin/coupons/close"
STOP = confirm.Question(
    "停发「{name}」？",
    ("停发后没有人能再领取或获得这张券，也不能重新开始发放。", "已经领到的券照常可用，直到过期。"),
    "确认停发",
    back="/admin/coupons",
    nav=confirm.ADMIN_NAV,
)


@page("GET", "/admin/coupons", auth=Admin, template="admin/coupons.html")
async def templates(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    return {"templates": await coupons.list_templates()}


def _draft(form: dict[str, str]) -> TemplateDraft:
    name = form.get("name", "").strip()[:MAX_NAME]
    if not name:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "名称：请给优惠券起个名字")
    try:
        kind = CouponKind(form.get("kind", ""))
    except ValueError:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "类型：请选择满减或折扣") from None
    percent = kind is CouponKind.PERCENT
    return TemplateDraft(
        name=name,
        kind=kind,
        threshold=_fen(form.get("threshold", "0") or "0", "threshold"),
        amount_off=0 if percent else _fen(form.get("amount_off", ""), "amount_off"),
        percent_off=_int(form.get("percent_off", ""), "percent_off", low=1, high=99)
        if percent
        else 0,
        max_off=_fen(form.get("max_off", ""), "max_off") if percent else 0,
        new_user_only=form.get("new_user_only") == "on",
        stock_total=_int(form.get("stock_total", ""), "stock_total", low=1),
        per_user_limit=_int(form.get("per_user_limit", "1"), "per_user_limit", low=1, high=100),
        valid_days=_int(form.get("valid_days", ""), "valid_days", low=1, high=3650),
    )


@page("POST", "/admin/coupons", auth=Admin, again=templates)
async def create(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    template = await coupons.create_template(
        principal=principal, draft=_draft(form), now=config[CLOCK].now()
    )
    await coupon_gate.prime(
        config[REDIS], template.id, left=template.stock_left, limit=template.per_user_limit
    )
    return back("/admin/coupons", f"已创建：{template.name}")


@page("POST", ACTION, auth=Admin, template=confirm.TEMPLATE)
async def close(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    """Stopping cannot be undone: asked once more first (web/confirm.py)."""
    shown = await coupons.get_template(form.get("template_id", ""))
    if STOP.needed(form, undone=shown.active):
        return STOP.page(name=shown.name, action=ACTION, fields={"template_id": str(shown.id)})
    template = await coupons.close_template(
        principal=principal, template_id=shown.id, now=config[CLOCK].now()
    )
    await coupon_gate.forget(config[REDIS], template.id)
    return back("/admin/coupons", f"已停发：{template.name}")
