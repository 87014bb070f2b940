"""What the clock did and will do: job runs with their lag, and the scheduler's own snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from models.activity import JobRun
from services import deadlines

if TYPE_CHECKING:
    from redis.asyncio import Redis

SNAPSHOT_KEY = "qunshop:scheduler:snapshot"
SNAPSHOT_TTL = 120


async def record_run(
    *, job: str, due_at: datetime, ran_at: datetime, ok: bool = True, error: str = ""
) -> JobRun:
    lag = max(int((ran_at - due_at).total_seconds() * 1000), 0)
    return await JobRun.create(
        job=job, due_at=due_at, ran_at=ran_at, lag_ms=lag, ok=ok, error=error[:2000]
    )


async def publish_snapshot(redis: Redis, snapshot: dict[str, Any]) -> None:
    await redis.set(SNAPSHOT_KEY, json.dumps(snapshot, default=str), ex=SNAPSHOT_TTL)


def _percentile(values: list[int], pct: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(int(round(pct / 100 * (len(ordered) - 1))), len(ordered) - 1)
    return ordered[index]


@dataclass(frozen=True)
class ClockReport:
    scheduler: dict[str, Any] | None  # None: no scheduler has reported in two minutes
    next_deadline: datetime | None
    runs: int
    failures: int
    lag_ms_p50: int | None
    lag_ms_p99: int | None
    lag_ms_max: int | None


async def report(
    *, redis: Redis, now: datetime, window: timedelta = timedelta(hours=1)
) -> ClockReport:
    raw = await redis.get(SNAPSHOT_KEY)
    runs = await JobRun.filter(ran_at__gte=now - window).values_list("lag_ms", "ok")
    lags = [lag for lag, _ in runs]
    return ClockReport(
        scheduler=json.loads(raw) if raw else None,
        next_deadline=await deadlines.next_due(now),
        runs=len(runs),
        failures=sum(1 for _, ok in runs if not ok),
        lag_ms_p50=_percentile(lags, 50),
        lag_ms_p99=_percentile(lags, 99),
        lag_ms_max=max(lags) if lags else None,
    )
