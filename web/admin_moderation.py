"""The operator console's moderation: the queue of held and reported items (approve or
reject each) and the banned-word list (add, remove). Each page calls one service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models.moderation import ItemStatus
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK
from services import moderation, word_filter
from web.admin import MAX_REASON
from web.auth import Admin
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

KINDS = {
    "announcement": "公告",
    "activity": "活动",
    "nickname": "昵称",
    "review": "评价",
    "reply": "团长回复",
    "post": "帖子",
    "comment": "评论",
    "question": "提问",
    "answer": "回答",
}
STATUSES = {
    "review": "待审核",
    "waiting": "等待图片结果",
    "approved": "已通过",
    "rejected": "已驳回",
}
MAX_WORDS = 2000  # characters of the words box


@page("GET", "/admin/moderation", auth=Admin, template="admin/moderation.html")
async def queue(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    try:
        status = ItemStatus(query.get("status") or ItemStatus.REVIEW)
    except ValueError:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, "状态只能是：" + "、".join(STATUSES.values())
        ) from None
    return {
        "items": await moderation.queue(actor=principal, status=status),
        "status": status,
        "statuses": STATUSES,
        "kinds": KINDS,
    }


async def _decide(
    principal: Principal, form: dict[str, str], config: Resources, *, approve: bool
) -> web.StreamResponse:
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, f"原因：最多 {MAX_REASON} 个字")
    item = await moderation.decide(
        actor=principal,
        item_id=form.get("item_id", ""),
        approve=approve,
        reason=reason,
        now=config[CLOCK].now(),
    )
    verb = "已通过" if approve else "已驳回"
    return back("/admin/moderation", f"{verb}：{KINDS.get(item.kind, item.kind)}")


@page("POST", "/admin/moderation/approve", auth=Admin)
async def approve(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide(principal, form, config, approve=True)


@page("POST", "/admin/moderation/reject", auth=Admin)
async def reject(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    return await _decide(principal, form, config, approve=False)


@page("GET", "/admin/words", auth=Admin, template="admin/words.html")
async def words(*, principal: Principal, query: MultiDictProxy[str]) -> dict[str, Any]:
    del principal  # Admin checked it; the list itself is the operators' data
    return {"words": await word_filter.words()}


@page("POST", "/admin/words/add", auth=Admin)
async def add_words(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    text = form.get("words", "")
    listed = [w for w in text.replace("，", ",").replace("\n", ",").split(",") if w.strip()]
    if not listed or len(text) > MAX_WORDS:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "违禁词：请填写一个或多个，用逗号或换行分隔")
    added = await word_filter.add_words(
        actor=principal,
        words=listed,
        category=form.get("category", "")[:32],
        now=config[CLOCK].now(),
    )
    return back("/admin/words", f"已添加 {len(added)} 个词")


@page("POST", "/admin/words/remove", auth=Admin)
async def remove_word(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    await word_filter.remove_word(
        actor=principal, word_id=form.get("word_id", ""), now=config[CLOCK].now()
    )
    return back("/admin/words", "已删除")
