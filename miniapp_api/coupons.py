"""Coupons: admins make templates and grant them; shoppers claim, exchange and list theirs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from redis.asyncio import Redis

from miniapp_api.auth import admin
from miniapp_api.marketing_schemas import (
    CouponList,
    CouponOut,
    CouponQuery,
    CouponTemplateIn,
    CouponTemplateList,
    CouponTemplateOut,
    GrantIn,
    GrantOut,
    TemplateQuery,
)
from miniapp_api.spec import endpoint
from models.coupon import Coupon, CouponTemplate
from qunshop.keys import CHAT_TEMPLATES, Resources
from services import coupon_gate as coupon_gates
from services import coupon_grants, coupons
from services.auth import Principal
from services.coupons import Held, TemplateDraft

TAGS = ("coupons",)


def _card(config: Resources) -> Callable[[CouponTemplate], dict[str, str]]:
    """The coupon card the group hears: what it is and how to claim it (templates/chat)."""
    page = config[CHAT_TEMPLATES].get_template("coupons/card.j2")

    def render(template: CouponTemplate) -> dict[str, str]:
        return {"type": "text", "text": page.render(template=template).strip()}

    return render


@endpoint(
    summary="Admins: make a coupon template (a claimable one of a community is announced in "
    "its group chat)",
    tags=TAGS,
    body=CouponTemplateIn,
    response=CouponTemplateOut,
    status=201,
    auth=admin,
    errors=(404, 422),
)
async def create_template(
    *, principal: Principal, body: CouponTemplateIn, now: datetime, redis: Redis, config: Resources
) -> CouponTemplateOut:
    draft = TemplateDraft(**body.model_dump())
    template = await coupons.create_template(
        principal=principal, draft=draft, now=now, card=_card(config)
    )
    await coupon_gates.prime(
        redis, template.id, left=template.stock_left, limit=template.per_user_limit
    )
    return CouponTemplateOut.of(template)


@endpoint(
    summary="Admins: every coupon template", tags=TAGS, response=CouponTemplateList, auth=admin
)
async def list_templates() -> CouponTemplateList:
    return CouponTemplateList(
        items=[CouponTemplateOut.of(t) for t in await coupons.list_templates()]
    )


@endpoint(
    summary="Admins: stop a template (no more claims or grants; coupons held stay valid)",
    tags=TAGS,
    response=CouponTemplateOut,
    auth=admin,
    errors=(404,),
)
async def close_template(
    *, principal: Principal, template_id: str, redis: Redis, now: datetime
) -> CouponTemplateOut:
    template = await coupons.close_template(principal=principal, template_id=template_id, now=now)
    await coupon_gates.forget(redis, template.id)
    return CouponTemplateOut.of(template)


@endpoint(
    summary="Admins: grant a template to each listed person",
    tags=TAGS,
    body=GrantIn,
    response=GrantOut,
    auth=admin,
    errors=(404,),  # a person the grant refuses is counted in the answer's ``refused``
)
async def grant(
    *, principal: Principal, template_id: str, body: GrantIn, now: datetime
) -> GrantOut:
    result = await coupon_grants.by_operator(
        principal=principal, template_id=template_id, user_ids=body.user_ids, now=now
    )
    return GrantOut(granted=len(result.coupons), refused=dict(result.refused))


@endpoint(
    summary="Coupons one may claim now (shop-wide, and the community's), oldest first, a page "
    "at a time",
    tags=TAGS,
    query=TemplateQuery,
    response=CouponTemplateList,
)
async def claimable(*, query: TemplateQuery, now: datetime) -> CouponTemplateList:
    found, more = await coupons.claimable(
        community_id=query.community_id, now=now, limit=query.limit, cursor=query.cursor
    )
    return CouponTemplateList(items=[CouponTemplateOut.of(t) for t in found], next_cursor=more)


async def _out(coupon: Coupon, now: datetime) -> CouponOut:
    template = await coupons.get_template(coupon.template_id)
    usable = coupon.valid_from <= now < coupon.valid_until
    return CouponOut.of(Held(coupon=coupon, template=template, usable=usable))


@endpoint(
    summary="Claim one coupon of a template",
    tags=TAGS,
    response=CouponOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def claim(
    *,
    principal: Principal,
    template_id: str,
    now: datetime,
    redis: Redis,
    coupon_gate: coupon_gates.CouponGate,
) -> CouponOut:
    held = await coupon_gates.claim(
        redis=redis, principal=principal, template_id=template_id, now=now, gate=coupon_gate
    )
    return CouponOut.of(held)


@endpoint(
    summary="Exchange points for a coupon (its points_price)",
    tags=TAGS,
    response=CouponOut,
    status=201,
    auth=True,
    errors=(404, 409),
)
async def exchange(*, principal: Principal, template_id: str, now: datetime) -> CouponOut:
    coupon = await coupons.exchange(principal=principal, template_id=template_id, now=now)
    return await _out(coupon, now)


@endpoint(
    summary="The caller's coupons, a page at a time: the usable ones first, soonest to expire, "
    "then the rest, newest claimed first",
    tags=TAGS,
    query=CouponQuery,
    response=CouponList,
    auth=True,
)
async def my_coupons(*, principal: Principal, query: CouponQuery, now: datetime) -> CouponList:
    held, more = await coupons.mine(
        principal.user_id, now=now, limit=query.limit, cursor=query.cursor
    )
    return CouponList(items=[CouponOut.of(h) for h in held], next_cursor=more)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/admin/coupon-templates", create_template)
    app.router.add_get("/api/v1/admin/coupon-templates", list_templates)
    app.router.add_post("/api/v1/admin/coupon-templates/{template_id}/close", close_template)
    app.router.add_post("/api/v1/admin/coupon-templates/{template_id}/grants", grant)
    app.router.add_get("/api/v1/coupon-templates", claimable)
    app.router.add_post("/api/v1/coupon-templates/{template_id}/claim", claim)
    app.router.add_post("/api/v1/coupon-templates/{template_id}/exchange", exchange)
    app.router.add_get("/api/v1/me/coupons", my_coupons)
