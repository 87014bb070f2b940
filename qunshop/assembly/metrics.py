"""Prometheus metrics (prometheus_client), one registry per app.

Counted as they happen: requests and their latency by route template (``/api/v1/teams/{ref}
/join``, never the raw path, so ids do not explode the series), webhook outcomes, Redis round
trips. Read at scrape time: the outbox, parked messages, refunds, the clock's lag and
reconciliation differences (``services.monitoring``, cached for ``CACHE_SECONDS``), and the
database and Redis pools. ``/metrics`` itself (``miniapp_api/metrics.py``) decides who may
read them.

The app's middleware (``qunshop.assembly.middlewares``) calls ``observe`` once per request:
two dictionary updates and a bisection (about a microsecond); the tallies become a counter
and a histogram family when scraped.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from redis.asyncio import Redis
from tortoise import connections

from services import monitoring

CACHE_SECONDS = 5.0
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED = "unmatched"  # 404s: one series, whatever path was asked for


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.scrape_errors = Gauge(
            "qunshop_metrics_collect_errors",
            "1 when the last database read for /metrics failed",
            registry=r,
        )
        # What happens is tallied in plain dicts (one event loop, no locks) and turned into
        # families at scrape time: a third of what prometheus_client's locked children cost.
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}  # bucket counts, then the sum
        self.webhooks: dict[tuple[str, str], int] = {}  # (webhook path, outcome)
        self.updates: dict[str, int] = {}  # outcome
        self.redis_round_trips = [0]  # a cell the connections of the pool add to
        self._health: monitoring.Health | None = None
        self._health_at = 0.0
        self._redis: Redis | None = None
        r.register(_Requests(self))
        r.register(_Pools(self))

    # -- per request -------------------------------------------------------------------
    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        tally = self.latency.get(key[:2])
        if tally is None:
            tally = self.latency[key[:2]] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        tally[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # its bucket (le), or +Inf
        tally[-1] += seconds

    def webhook(self, webhook: str, outcome: str) -> None:
        key = (webhook, outcome)
        self.webhooks[key] = self.webhooks.get(key, 0) + 1

    def update(self, outcome: str) -> None:
        self.updates[outcome] = self.updates.get(outcome, 0) + 1

    # -- Redis ---------------------------------------------------------------------------
    def count_redis(self, redis: Redis) -> None:
        """Every command or pipeline the client sends is one round trip: counted where the
        connection sends its packed bytes (a pipeline sends all its commands at once)."""
        self._redis = redis
        pool = redis.connection_pool
        base = pool.connection_class
        cell = self.redis_round_trips

        class Counted(base):  # type: ignore[misc, valid-type]
            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                cell[0] += 1
                await super().send_packed_command(command, check_health)

        Counted.__name__ = f"Counted{base.__name__}"
        pool.connection_class = Counted

    # -- scrape ------------------------------------------------------------------------------
    async def refresh(self, now: datetime) -> None:
        """Read the database's figures, at most once per ``CACHE_SECONDS``."""
        if self._health is not None and time.monotonic() - self._health_at < CACHE_SECONDS:
            return
        try:
            self._health = await monitoring.health(now=now)
        except Exception:
            self.scrape_errors.set(1)
            raise
        self.scrape_errors.set(0)
        self._health_at = time.monotonic()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Requests:
    """The tallies as counter families and a histogram family."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        counts = CounterMetricFamily(
            "qunshop_http_requests",
            "HTTP requests answered, by route template",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in self.metrics.requests.items():
            counts.add_metric([method, route, str(status)], count)
        yield counts
        latency = HistogramMetricFamily(
            "qunshop_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            labels=["method", "route"],
        )
        for labels, tally in self.metrics.latency.items():
            buckets, running = [], 0.0
            for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), tally[:-1], strict=True):
                running += count
                buckets.append((str(bound), running))
            latency.add_metric(list(labels), buckets, sum_value=tally[-1])
        yield latency
        webhooks = CounterMetricFamily(
            "qunshop_webhook_requests",
            "Webhook deliveries by what became of them",
            labels=["webhook", "outcome"],
        )
        for labels, count in self.metrics.webhooks.items():
            webhooks.add_metric(list(labels), count)
        yield webhooks
        updates = CounterMetricFamily(
            "qunshop_chat_updates",
            "Chat updates claimed, duplicated, replied, deferred or left without a reply",
            labels=["outcome"],
        )
        for outcome, count in self.metrics.updates.items():
            updates.add_metric([outcome], count)
        yield updates
        yield CounterMetricFamily(
            "qunshop_redis_round_trips",
            "Commands and pipelines sent to Redis",
            value=self.metrics.redis_round_trips[0],
        )


class _Pools:
    """Collected at scrape time: the database figures and the two pools."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        health = self.metrics._health
        if health is not None:
            yield from _health_families(health)
        pool = _db_pool()
        if pool is not None:
            size, idle, most = pool.get_size(), pool.get_idle_size(), pool.get_max_size()
            yield _gauge("qunshop_db_pool_size", "Database connections open", size)
            yield _gauge("qunshop_db_pool_in_use", "Database connections checked out", size - idle)
            yield _gauge("qunshop_db_pool_max", "Database connections allowed", most)
        redis = self.metrics._redis
        if redis is not None:
            rpool = redis.connection_pool
            in_use = getattr(rpool, "_in_use_connections", None)
            if in_use is not None:
                yield _gauge("qunshop_redis_pool_in_use", "Redis connections in use", len(in_use))
            yield _gauge(
                "qunshop_redis_pool_max", "Redis connections allowed", rpool.max_connections
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _health_families(h: monitoring.Health) -> Any:
    yield _gauge("qunshop_outbox_pending", "Outbox messages not yet sent", h.outbox_pending)
    yield _gauge("qunshop_outbox_due", "Outbox messages due now", h.outbox_due)
    yield _gauge(
        "qunshop_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox message not yet sent",
        h.outbox_oldest_age_seconds,
    )
    yield _gauge("qunshop_outbox_parked", "Outbox messages given up on", h.outbox_parked)
    yield _gauge("qunshop_refunds_failed", "Refunds WeChat Pay closed", h.refunds_failed)
    yield _gauge("qunshop_refunds_stuck", "Refunds unsettled after an hour", h.refunds_stuck)
    if h.scheduler_lag_seconds is not None:
        yield _gauge(
            "qunshop_scheduler_lag_seconds",
            "Worst lag of the clock's job runs in the last five minutes",
            h.scheduler_lag_seconds,
        )
    if h.scheduler_last_run_age_seconds is not None:
        yield _gauge(
            "qunshop_scheduler_last_run_age_seconds",
            "Seconds since the clock last ran a job",
            h.scheduler_last_run_age_seconds,
        )
    yield _gauge(
        "qunshop_scheduler_failures", "Job runs failed in the last hour", h.scheduler_failures
    )
    yield _gauge(
        "qunshop_reconciliation_differences",
        "Payments of the last two days with nothing to show for them",
        h.reconciliation_differences,
    )


def _db_pool() -> Any:
    try:
        client = connections.get("default")
    except Exception:  # not initialised (a test without the ORM)
        return None
    return getattr(client, "_pool", None)


def route_of(request: web.Request) -> str:
    """The request's route template, the label its count and time are kept under."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else UNMATCHED
