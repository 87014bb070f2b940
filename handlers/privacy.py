"""A person's rights over their data, from the chat: 我的数据/my-data (a single-use link to
the archive) and 注销账号/erase-account (after a confirmation), both in a one-to-one chat only.
A shopper who never opened the mini-program has the same rights as one who did."""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from qunshop.chat import ChatType, Reply, Text
from services import privacy_erasure, privacy_links

router = Router("privacy")
CONFIRM = "确认"


@router.route(Command("我的数据", "导出数据", "my-data"))
async def my_data(ctx: Context, args: str = "") -> Reply:
    if ctx.update.chat_type is ChatType.GROUP:  # the link opens the person's data
        return Text(ctx.render("private_only.j2", command="我的数据"))
    assert ctx.principal is not None
    token = await privacy_links.export_link(principal=ctx.principal, redis=ctx.redis)
    url = f"{ctx.settings.public_base_url}/h5/my-data?token={token}"
    return Text(ctx.render("privacy/export_link.j2", url=url))


@router.route(Command("注销账号", "erase-account"))
async def erase_account(ctx: Context, args: str = "") -> Reply:
    if ctx.update.chat_type is ChatType.GROUP:
        return Text(ctx.render("private_only.j2", command="注销账号"))
    if args.strip() not in (CONFIRM, "confirm"):
        return Text(ctx.render("privacy/erase_ask.j2"))
    assert ctx.principal is not None
    done = await privacy_erasure.erase(
        principal=ctx.principal, settings=ctx.settings, now=ctx.now, redis=ctx.redis
    )
    return Text(ctx.render("privacy/erased.j2", keep_until=done.keep_until, tz=ctx.tz))
