"""会员/tier: the sender's member tier, growth and perks."""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from qunshop.chat import Reply, Text
from services import tiers

router = Router("tiers")


@router.route(Command("会员", "tier", "等级"))
async def my_tier(ctx: Context, args: str = "") -> Reply:
    assert ctx.principal is not None
    if ctx.in_group:  # growth is what they spent: not for the group to read
        return Text(ctx.render("private_only.j2", command="会员"))
    found = await tiers.standing(ctx.principal.user_id, now=ctx.now)
    return Text(ctx.render("tier.j2", tier=found, perks=found.perks))
