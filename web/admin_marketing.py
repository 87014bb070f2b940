"""The operator console's marketing pages: bargain offers (砍价) and the member-tier ladder.

Each page calls one service (services/bargains.py, services/tiers.py), the same verbs the
admin API calls, audited there; each form posts with CSRF and redirects after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK
from qunshop.templates import goods_name
from services import bargains, catalog, coupons, tiers
from web import confirm
from web.admin import _bps, _fen, _int
from web.auth import Admin
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

EXTRA_ROWS = 2  # empty level rows the tiers form offers for new levels
OFFERED = 100  # products the bargain form offers to choose from, newest first
CHECKED = "on"
ACTION = "/admin/bargains/close"
STOP = confirm.Question(
    "停止砍价「{name}」？",
    (
        "停止后不能再发起砍价、帮砍或按砍后价下单，也不能重新开始。",
        "正在进行的砍价立即结束，发起人会收到通知。",
        "已经下的单不受影响：已付款的照常有效，未付款的仍可在保留时间内付款。",
    ),
    "确认停止",
    back="/admin/bargains",
    nav=confirm.ADMIN_NAV,
)


@page("GET", "/admin/bargains", auth=Admin, template="admin/bargains.html")
async def bargain_offers(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    products = await catalog.list_products(actor=principal, limit=OFFERED)
    return {
        "offers": await bargains.all_offers(),
        "products": [p for p in products.items if p.product.active and p.skus],
    }


@page("POST", "/admin/bargains", auth=Admin, again=bargain_offers)
async def open_bargain_offer(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    spec = bargains.OfferSpec(
        sku_id=form.get("sku_id", "").strip(),
        floor_price=_fen(form.get("floor_price", ""), "floor_price"),
        helpers_needed=_int(form.get("helpers_needed", ""), "helpers_needed", low=1, high=500),
        hours=_int(form.get("hours", ""), "hours", low=1, high=720),
        new_users_only=form.get("new_users_only") == CHECKED,
    )
    await bargains.open_offer(principal=principal, spec=spec, now=config[CLOCK].now())
    return back("/admin/bargains", "砍价商品已上架")


@page("POST", ACTION, auth=Admin, template=confirm.TEMPLATE)
async def close_bargain_offer(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    """Stopping cannot be undone and ends people's bargains: asked once more first."""
    shown = await bargains.get_offer(form.get("offer_id", ""))
    if STOP.needed(form, undone=shown.active):
        name = goods_name(shown.sku.product.title, shown.sku.name)
        return STOP.page(name=name, action=ACTION, fields={"offer_id": str(shown.id)})
    await bargains.close_offer(principal=principal, offer_id=str(shown.id), now=config[CLOCK].now())
    return back(
        "/admin/bargains", "已停止：不能再发起、帮砍或按砍后价下单，进行中的砍价已结束并通知发起人"
    )


@page("GET", "/admin/tiers", auth=Admin, template="admin/tiers.html")
async def tier_ladder(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    levels = await tiers.levels()
    return {
        "rules": await tiers.rules(),
        "levels": levels,
        "coupons": await coupons.list_templates(),
        "rows": len(levels) + EXTRA_ROWS,
    }


def _level(form: dict[str, str], i: int) -> tiers.LevelSpec | None:
    name = form.get(f"name_{i}", "").strip()
    if not name:
        return None  # an empty row: no level (a level is removed by emptying its name)
    # One checkbox per coupon template (``coupon_<row>_<n>``, its id as the value).
    prefix = f"coupon_{i}_"
    chosen = tuple(v.strip() for k, v in form.items() if k.startswith(prefix) and v.strip())
    return tiers.LevelSpec(
        name=name,
        threshold=_fen(form.get(f"threshold_{i}", ""), f"threshold_{i}"),
        discount_bps=_bps(form.get(f"discount_bps_{i}", "0") or "0", f"discount_bps_{i}"),
        points_multiplier_pct=_int(
            form.get(f"multiplier_{i}", "100") or "100", f"multiplier_{i}", low=100, high=1000
        ),
        coupon_template_ids=chosen,
    )


@page("POST", "/admin/tiers", auth=Admin, again=tier_ladder)
async def set_tier_ladder(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    rows = _int(form.get("rows", ""), "rows", low=0, high=tiers.MAX_LEVELS + EXTRA_ROWS)
    levels = tuple(level for i in range(rows) if (level := _level(form, i)) is not None)
    if form.get("lower_mid_month") not in (None, CHECKED):
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "月中可降级：请勾选或不勾选")
    ladder = tiers.Ladder(
        window_days=_int(form.get("window_days", ""), "window_days", low=1, high=730),
        lower_mid_month=form.get("lower_mid_month") == CHECKED,
        timezone=form.get("timezone", "").strip() or tiers.DEFAULT_TZ,
        levels=levels,
    )
    await tiers.set_ladder(ladder, actor=principal, now=config[CLOCK].now())
    return back("/admin/tiers", "会员等级已保存")
