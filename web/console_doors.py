"""The leader console's answering pages: replies to product reviews, and the community's
delivery cut-off. Each form calls the same service the API and chat call (services/reviews.py,
services/batches.py), then redirects back with a note."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, HTTP, REDIS, SETTINGS
from services import batches, moderation, reviews
from web.admin import _fen
from web.auth import Leader
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

MAX_REPLY = 500
CUTOFF = re.compile(r"(\d{1,2}):(\d{2})")


@page("GET", "/console/reviews", auth=Leader, template="console/reviews.html")
async def review_list(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    return {"reviews": await reviews.for_leader(principal=principal)}


@page("POST", "/console/reviews/reply", auth=Leader)
async def reply_review(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    text = form.get("text", "").strip()
    if not text or len(text) > MAX_REPLY:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, f"回复：请填写 1 到 {MAX_REPLY} 个字")
    await reviews.reply(
        principal=principal,
        review_id=form.get("review_id", ""),
        text=text,
        now=config[CLOCK].now(),
        wechat=moderation.Screen(http=config[HTTP], redis=config[REDIS], settings=config[SETTINGS]),
    )
    return back("/console/reviews", "已回复")


@page("GET", "/console/delivery", auth=Leader, template="console/delivery.html")
async def delivery_plans(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    return {"plans": await batches.my_plans(principal=principal)}


def _cutoff(text: str) -> str:
    """The form's time field (20:00), as the plan keeps it."""
    match = CUTOFF.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, "截单时间：请按 20:00 这样填写（00:00 到 23:59）"
        )
    return f"{int(match[1]):02d}:{match[2]}"


@page("POST", "/console/delivery", auth=Leader)
async def set_delivery_plan(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    home = form.get("home_delivery") == "on"
    plan = await batches.set_plan(
        principal=principal,
        community_id=form.get("community_id", ""),
        cutoff=_cutoff(form.get("cutoff", "")),
        home_delivery=home,
        delivery_fee=_fen(form.get("delivery_fee") or "0", "delivery_fee") if home else 0,
        now=config[CLOCK].now(),
    )
    return back("/console/delivery", f"已设置：每天 {plan.cutoff} 截单")
