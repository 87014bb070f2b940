"""Dashboards: a community's funnel by day and by campaign, its cohorts and top products (its
leader or an operator), GMV by community and leader (operators), each table also as CSV.
Every figure is read from the rollups the clock keeps (``services.rollups``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from miniapp_api.auth import staff
from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import dashboards, tables
from services.auth import Principal

TAGS = ("stats",)


class StatsQuery(BaseModel):
    days: int = Field(default=30, ge=1, le=366, description="how many days back, today included")


class TableQuery(StatsQuery):
    table: Literal["days", "campaigns", "cohorts", "products"] = "days"


class DashboardOut(BaseModel):
    community_id: str
    since: date
    until: date
    totals: dict[str, Any] = Field(
        description="the steps, GMV (paid), refunds, net (paid less refunded), conversions, average"
    )
    days: list[dict[str, Any]] = Field(
        description="shared, opened, joined, paid, picked_up, "
        "gmv, refunds, refunded, net per day with activity"
    )
    campaigns: list[dict[str, Any]]
    cohorts: list[dict[str, Any]] = Field(description="weeks of new members, newest first")
    products: list[dict[str, Any]] = Field(description="top SKUs by GMV")


class CommunityRank(BaseModel):
    community_id: str
    name: str
    leader_id: str
    orders: int
    gmv: int = Field(description="paid, fen")
    net: int = Field(description="net sales: paid less refunded, fen")
    average_order: int
    refunds: int
    refunded: int


class RankingOut(BaseModel):
    since: date
    until: date
    items: list[CommunityRank]


class CsvText(BaseModel):
    """UTF-8 CSV with a byte-order mark (Excel reads the Chinese)."""


async def _dashboard(
    principal: Principal, community_id: str, days: int, settings: Settings, now: datetime
) -> dashboards.Dashboard:
    return await dashboards.community_dashboard(
        principal=principal, community_id=community_id, days=days, now=now, tz=settings.tz
    )


@endpoint(
    summary="A community's funnel, cohorts and top products (its leader or an operator)",
    tags=TAGS,
    query=StatsQuery,
    response=DashboardOut,
    auth=staff,
    errors=(403, 404),
)
async def dashboard(
    *,
    principal: Principal,
    community_id: str,
    query: StatsQuery,
    settings: Settings,
    now: datetime,
) -> DashboardOut:
    found = await _dashboard(principal, community_id, query.days, settings, now)
    return DashboardOut(
        community_id=found.community_id,
        since=found.window.since,
        until=found.window.until,
        totals=found.totals,
        days=found.days,
        campaigns=found.campaigns,
        cohorts=found.cohorts,
        products=found.products,
    )


def csv_response(rows: list[dict[str, Any]], name: str) -> web.Response:
    return web.Response(
        body=tables.csv_bytes(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@endpoint(
    summary="One table of a community's dashboard as CSV (days, campaigns, cohorts, products)",
    tags=TAGS,
    query=TableQuery,
    response=CsvText,
    response_media="text/csv",
    auth=staff,
    errors=(403, 404),
)
async def dashboard_csv(
    *,
    principal: Principal,
    community_id: str,
    query: TableQuery,
    settings: Settings,
    now: datetime,
) -> web.Response:
    found = await _dashboard(principal, community_id, query.days, settings, now)
    rows: list[dict[str, Any]] = getattr(found, query.table)
    return csv_response(rows, f"{query.table}-{found.window.since}-{found.window.until}")


@endpoint(
    summary="Operators: GMV, paid orders, average order and refunds by community and leader",
    tags=("admin",),
    query=StatsQuery,
    response=RankingOut,
    auth=True,
    errors=(403,),
)
async def ranking(
    *, principal: Principal, query: StatsQuery, settings: Settings, now: datetime
) -> RankingOut:
    window, rows = await dashboards.by_community(
        actor=principal, days=query.days, now=now, tz=settings.tz
    )
    items = [
        CommunityRank(**{k: str(v) if k.endswith("id") else v for k, v in r.items()}) for r in rows
    ]
    return RankingOut(since=window.since, until=window.until, items=items)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/communities/{community_id}/dashboard", dashboard)
    app.router.add_get("/api/v1/communities/{community_id}/dashboard.csv", dashboard_csv)
    app.router.add_get("/api/v1/admin/stats/communities", ranking)
