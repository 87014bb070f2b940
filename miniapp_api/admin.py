"""Admin views: the clock's pending work and its lag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from redis.asyncio import Redis

from miniapp_api.auth import admin
from miniapp_api.spec import endpoint
from services import clockstats


class SchedulerReport(BaseModel):
    scheduler_alive: bool
    scheduler: dict[str, Any] | None
    next_deadline: datetime | None
    runs_last_hour: int
    failures_last_hour: int
    lag_ms_p50: int | None
    lag_ms_p99: int | None
    lag_ms_max: int | None


@endpoint(
    summary="Admins: the scheduler's jobs, the next deadline and the lag of recent runs",
    tags=("admin",),
    response=SchedulerReport,
    auth=admin,
)
async def scheduler_report(*, redis: Redis, now: datetime) -> SchedulerReport:
    found = await clockstats.report(redis=redis, now=now)
    return SchedulerReport(
        scheduler_alive=found.scheduler is not None,
        scheduler=found.scheduler,
        next_deadline=found.next_deadline,
        runs_last_hour=found.runs,
        failures_last_hour=found.failures,
        lag_ms_p50=found.lag_ms_p50,
        lag_ms_p99=found.lag_ms_p99,
        lag_ms_max=found.lag_ms_max,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/scheduler", scheduler_report)
