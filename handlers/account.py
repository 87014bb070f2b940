"""Accounts in chat: 认证/verify-leader, and the link a reply offers an unlinked sender.

A chat sender the mini-program does not know yet gets a link with replies that need the
mini-program (join, orders, invite): opening it after logging in there links the two
(``services.accounts``). In a one-to-one chat the link is in the reply; in a group it would be
anyone's to redeem, so it is sent to the sender alone and the reply only says so.
"""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from qunshop.chat import ChatType, Reply, Text
from services import accounts, chat_users, leaders

router = Router("account")


@router.route(Command("认证", "verify-leader", pattern=r"(?P<code>[A-Za-z0-9]{4,16})"))
async def verify_leader(ctx: Context, args: str, code: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not code:
        return Text(ctx.render("usage.j2", usage="认证 <认证码>", example="认证 K7M3XQ2A"))
    linked = await leaders.redeem_chat_code(
        platform=ctx.update.platform.value,
        external_id=ctx.update.sender,
        code=code,
        redis=ctx.redis,
        now=ctx.now,
    )
    user = await chat_users.user(linked.account_id)
    return Text(ctx.render("account/leader_verified.j2", user=user, already=linked.already))


async def link_hint(ctx: Context, *, private: bool = False) -> str | None:
    """What to add to a reply for a sender not linked yet (None for everyone else).

    ``private``: the reply is for others to see (a share card), so the link goes apart."""
    offer = await accounts.offer_link(
        platform=ctx.update.platform.value,
        external_id=ctx.update.sender,
        secret=ctx.settings.secret_key.get_secret_value(),
        base_url=ctx.settings.public_base_url,
        now=ctx.now,
    )
    if offer is None:
        return None
    if ctx.update.chat_type is ChatType.SINGLE and not private:
        return ctx.render("account/link.j2", offer=offer)
    sent = await accounts.send_link_privately(
        platform=ctx.update.platform.value,
        external_id=ctx.update.sender,
        text=ctx.render("account/link.j2", offer=offer),
        now=ctx.now,
    )
    return ctx.render("account/link_sent.j2") if sent else None


async def with_link(ctx: Context, text: str) -> Text:
    """The reply's text, and the link hint after it where the sender needs one."""
    hint = await link_hint(ctx)
    return Text(f"{text}\n{hint}" if hint else text)
