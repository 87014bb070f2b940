"""Every route of the HTTP door, in one place."""

from __future__ import annotations

from aiohttp import web

from miniapp_api import (
    accounts,
    activities,
    admin,
    catalog,
    communities,
    dev,
    groupbuy,
    growth,
    health,
    leaders,
    metrics,
    orders,
    pay_notify,
    privacy,
    profile,
    recommendations,
    segments,
    session,
    stats,
    subscriptions,
)


def setup_routes(app: web.Application) -> None:
    health.setup(app)
    activities.setup(app)
    session.setup(app)
    profile.setup(app)
    subscriptions.setup(app)
    catalog.setup(app)
    communities.setup(app)
    groupbuy.setup(app)
    growth.setup(app)
    orders.setup(app)
    pay_notify.setup(app)
    dev.setup(app)
    admin.setup(app)
    accounts.setup(app)
    leaders.setup(app)
    metrics.setup(app)
    privacy.setup(app)
    stats.setup(app)
    segments.setup(app)
    recommendations.setup(app)
