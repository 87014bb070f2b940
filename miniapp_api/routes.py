"""Every route of the HTTP door, in one place."""

from __future__ import annotations

from aiohttp import web

from miniapp_api import (
    accounts,
    activities,
    admin,
    aftersales,
    bargains,
    batches,
    catalog,
    checkout,
    claims,
    communities,
    coupons,
    dev,
    groupbuy,
    growth,
    health,
    home_delivery,
    identity,
    leaders,
    metrics,
    moderation,
    orders,
    pay_notify,
    posts,
    privacy,
    profile,
    questions,
    recommendations,
    reconciliation,
    reviews,
    segments,
    session,
    stats,
    subscriptions,
    suppliers,
    tiers,
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
    aftersales.setup(app)
    claims.setup(app)
    reconciliation.setup(app)
    batches.setup(app)
    suppliers.setup(app)
    identity.setup(app)
    home_delivery.setup(app)
    coupons.setup(app)
    checkout.setup(app)
    bargains.setup(app)
    tiers.setup(app)
    moderation.setup(app)
    reviews.setup(app)
    posts.setup(app)
    questions.setup(app)
    metrics.setup(app)
    privacy.setup(app)
    stats.setup(app)
    segments.setup(app)
    recommendations.setup(app)
