"""The leader's data page (/console/stats): each led community's funnel, days, campaigns,
cohorts and top products from the rollups, with each table as CSV; and the operators'
ranking of communities and leaders (/admin/stats). The same services as the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from qunshop.keys import CLOCK, REDIS, SETTINGS
from services import communities, dashboards, rollups, tables
from web.auth import Admin, Leader
from web.page import page

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

DAYS = 30
TABLES = ("days", "campaigns", "cohorts", "products")


def _days(query: MultiDictProxy[str]) -> int:
    text = query.get("days", "")
    return min(max(int(text), 1), 366) if text.isdecimal() else DAYS


@page("GET", "/console/stats", auth=Leader, template="console/stats.html")
async def stats(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> dict[str, Any]:
    days = _days(query)
    cards = [c for c in await communities.my_communities(actor=principal) if c.is_leader]
    boards = [
        (
            card.community,
            await dashboards.community_dashboard(
                principal=principal,
                community_id=str(card.community.id),
                days=days,
                now=config[CLOCK].now(),
                tz=config[SETTINGS].tz,
            ),
        )
        for card in cards
    ]
    return {
        "boards": boards,
        "days": days,
        "steps": STEP_NAMES,
        "funnel": FUNNEL_NAMES,
        **await _freshness(config),
    }


async def _freshness(config: Resources) -> dict[str, Any]:
    """When the rollups these figures come from last counted (_stats_lag.html says it), and
    now, so a time of an earlier day is given its date."""
    return {
        "refreshed": await rollups.refreshed_at(redis=config[REDIS]),
        "now": config[CLOCK].now(),
    }


STEP_NAMES = (  # each day's events (services/dashboards.STEPS)
    ("shared", "分享"),
    ("opened", "打开"),
    ("joined", "下单"),
    ("paid", "付款"),
    ("picked_up", "提货"),
)
FUNNEL_NAMES = (  # services/dashboards.FUNNEL: each step a subset of the one before
    ("joined", "下单"),
    ("joined_paid", "付款"),
    ("joined_picked_up", "提货"),
)


@page("GET", "/console/stats.csv", auth=Leader)
async def stats_csv(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> web.StreamResponse:
    table = query.get("table", "days")
    if table not in TABLES:
        raise web.HTTPNotFound()
    board = await dashboards.community_dashboard(
        principal=principal,
        community_id=query.get("community", ""),
        days=_days(query),
        now=config[CLOCK].now(),
        tz=config[SETTINGS].tz,
    )
    return csv_of(getattr(board, table), f"{table}-{board.window.since}-{board.window.until}")


@page("GET", "/admin/stats", auth=Admin, template="admin/stats.html")
async def ranking(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> dict[str, Any]:
    window, rows = await dashboards.by_community(
        actor=principal, days=_days(query), now=config[CLOCK].now(), tz=config[SETTINGS].tz
    )
    return {"window": window, "rows": rows, "days": _days(query), **await _freshness(config)}


@page("GET", "/admin/stats.csv", auth=Admin)
async def ranking_csv(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> web.StreamResponse:
    window, rows = await dashboards.by_community(
        actor=principal, days=_days(query), now=config[CLOCK].now(), tz=config[SETTINGS].tz
    )
    return csv_of(rows, f"communities-{window.since}-{window.until}")


def csv_of(rows: list[dict[str, Any]], name: str) -> web.Response:
    return web.Response(
        body=tables.readable_csv_bytes(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
