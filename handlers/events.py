"""Events: follows and scans with a QR scene, unfollows, the WeCom bot's enter_chat."""

from __future__ import annotations

from handlers.routing import Context, Event, Router
from qunshop.chat import Reply, Text
from services import accounts, attribution, groupchat

router = Router("events")


@router.route(Event("subscribe", "scan"))
async def followed(ctx: Context) -> Reply:
    await attribution.followed(
        platform=ctx.update.platform.value,
        external_id=ctx.update.sender,
        event=(ctx.update.event or "").lower(),
        scene=ctx.update.event_key,
        redis=ctx.redis,
        secret=ctx.settings.secret_key.get_secret_value(),
        now=ctx.now,
    )
    await accounts.on_follow(
        platform=ctx.update.platform.value, external_id=ctx.update.sender, now=ctx.now
    )
    return Text(ctx.render("welcome.j2", returning=(ctx.update.event or "").lower() == "scan"))


@router.route(Event("unsubscribe"))
async def unfollowed(ctx: Context) -> Reply | None:
    await groupchat.record_follow(
        platform=ctx.update.platform.value,
        external_id=ctx.update.sender,
        event="unsubscribe",
        scene=None,
        now=ctx.now,
    )
    return None  # nobody reads a reply after unfollowing


@router.route(Event("enter_chat"))
async def entered(ctx: Context) -> Reply:
    return Text(ctx.render("welcome.j2", returning=False))
