"""Chat command handlers by topic: small routers with filters, included in order here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import (
    account,
    activities,
    aftersales,
    bargains,
    console,
    coupons,
    events,
    growth,
    leader,
    orders,
    privacy,
    reviews,
    shop,
    tiers,
)
from handlers import help as help_topic
from handlers.dispatcher import ChatDispatcher
from handlers.routing import Router
from services.chat_users import Senders

if TYPE_CHECKING:
    import aiohttp
    import jinja2
    from redis.asyncio import Redis

    from qunshop.clock import Clock
    from qunshop.config import Settings
    from qunshop.tasks import TaskTracker


def build_router() -> Router:
    root = Router("root")
    # Order matters: specific topics first, the fallback last.
    root.include(
        events.router,
        account.router,
        leader.router,
        console.router,
        growth.router,
        activities.router,
        aftersales.router,
        orders.router,
        coupons.router,
        bargains.router,
        tiers.router,
        reviews.router,
        privacy.router,
        shop.router,
        help_topic.router,
        help_topic.fallback,
    )
    return root


def build_dispatcher(
    *,
    redis: Redis,
    settings: Settings,
    clock: Clock,
    templates: jinja2.Environment,
    tasks: TaskTracker,
    http: aiohttp.ClientSession | None = None,
) -> ChatDispatcher:
    return ChatDispatcher(
        build_router(),
        redis=redis,
        settings=settings,
        clock=clock,
        templates=templates,
        senders=Senders(tasks),
        http=http,
    )
