"""Reviews in chat: 评价/review lists one's picked-up orders to review, 评价 <序号> <星级> <内容>
writes one (moderated like every review; the reply never repeats the text)."""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from handlers.shop import principal_of
from qunshop.chat import ChatType, Reply, Text
from services import reviews

router = Router("reviews")

_PATTERN = r"(?:(?P<number>\d{1,2})\s+(?P<stars>[1-5])(?:\s+(?P<text>.{1,500}))?)?"


@router.route(Command("评价", "review", pattern=_PATTERN))
async def review(
    ctx: Context,
    args: str = "",
    number: str | None = None,
    stars: str | None = None,
    text: str | None = None,
    bad_args: bool = False,
) -> Reply:
    if ctx.update.chat_type is not ChatType.SINGLE:
        return Text(ctx.render("reviews/private_only.j2"))
    who = principal_of(ctx)
    waiting = await reviews.reviewable(who)
    if bad_args or number is None or stars is None:
        return Text(ctx.render("reviews/list.j2", orders=waiting, tz=ctx.tz))
    index = int(number)
    if not 1 <= index <= len(waiting):
        return Text(ctx.render("reviews/list.j2", orders=waiting, tz=ctx.tz))
    done = await reviews.write(
        principal=who,
        order_id=waiting[index - 1].id,
        rating=int(stars),
        text=(text or "").strip(),
        images=[],
        now=ctx.now,
        wechat=ctx.screen(),
    )
    return Text(ctx.render("reviews/written.j2", written=done, order=waiting[index - 1]))
