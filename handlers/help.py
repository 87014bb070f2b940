"""帮助 / help, and the fallback that answers any text nobody else took."""

from __future__ import annotations

from handlers.routing import Always, Command, Context, Router
from qunshop.chat import ChatType, Reply, Text

router = Router("help")
fallback = Router("fallback")


# A greeting is how many people first address the bot: it is answered with what it does.
@router.route(Command("帮助", "help", "菜单", "menu", "你好", "您好", "在吗", "hi", "hello"))
async def show_help(ctx: Context, args: str = "") -> Reply:
    return Text(ctx.render("help.j2", is_leader=_is_staff(ctx)))


@fallback.route(Always)
async def unknown(ctx: Context) -> Reply | None:
    if ctx.update.event:  # an event no router took is acknowledged, not answered
        return None
    if not (ctx.update.text or "").strip():  # a bare @-mention asks what the bot does
        return await show_help(ctx)
    # Never repeat unmoderated text into a group: only the sender reads it back, alone.
    alone = ctx.update.chat_type is ChatType.SINGLE
    return Text(ctx.render("unknown.j2", text=(ctx.update.text or "")[:20] if alone else ""))


def _is_staff(ctx: Context) -> bool:
    return ctx.principal is not None and ctx.principal.role.value in ("leader", "admin")
