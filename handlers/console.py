"""后台/console: a leader asks, in a one-to-one chat, for a single-use console login link."""

from __future__ import annotations

from handlers.routing import Command, Context, Roles, Router
from models.user import Role
from qunshop.chat import ChatType, Reply, Text
from services import console_login

router = Router("console")
staff = Roles(Role.LEADER, Role.ADMIN)


@router.route(Command("后台", "console"), staff)
async def console(ctx: Context, args: str = "") -> Reply:
    if ctx.update.chat_type is ChatType.GROUP:  # a link in a group could be used by anyone
        return Text(ctx.render("private_only.j2", command="后台"))
    user = await ctx.load_user()
    token = await console_login.issue(user=user, redis=ctx.redis)
    url = f"{ctx.settings.public_base_url}/console/login?token={token}"
    return Text(ctx.render("console_link.j2", url=url, operator=user.role is Role.ADMIN))
