"""The one factory: ``create_app(settings)`` builds the server for `serve` and for tests."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.routes import setup_bot_routes
from miniapp_api.routes import setup_routes
from qunshop.assembly import standin
from qunshop.assembly.background import outbox_ctx, scheduler_ctx
from qunshop.assembly.metrics import Metrics
from qunshop.assembly.middlewares import edge_middleware
from qunshop.assembly.resources import (
    chat_ctx,
    http_ctx,
    messenger_ctx,
    orm_ctx,
    redis_ctx,
    tasks_ctx,
)
from qunshop.clock import Clock
from qunshop.config import Settings
from qunshop.keys import CLOCK, METRICS, SETTINGS
from web.routes import setup_web

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, clock: Clock | None = None, background: bool = True
) -> web.Application:
    """``background=False`` leaves out the outbox sender and the clock (tests drive them)."""
    standin_bases = standin.unset_bases(settings)
    if standin_bases:  # development with no API base: WeChat is this server's own stand-in
        settings = standin.route_to_standin(settings)
    metrics = Metrics()
    app = web.Application(
        # One middleware for everything every request passes through (see its module).
        middlewares=[edge_middleware(metrics)],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[METRICS] = metrics
    # Dependency order; teardown runs in reverse.
    app.cleanup_ctx.extend([orm_ctx, redis_ctx, http_ctx, messenger_ctx, tasks_ctx, chat_ctx])
    if background:
        app.cleanup_ctx.append(outbox_ctx)
        if settings.role in ("all", "scheduler"):
            app.cleanup_ctx.append(scheduler_ctx)
    setup_routes(app)
    setup_bot_routes(app)
    setup_web(app)
    if standin_bases:
        app.add_subapp(standin.PREFIX, standin.StandIn(settings).build())
        logger.info(
            "development mode: %s go to the built-in stand-in at %s",
            ", ".join(f"QUNSHOP_{name.upper()}" for name in standin_bases),
            getattr(settings, standin_bases[0]),
        )
    return app
