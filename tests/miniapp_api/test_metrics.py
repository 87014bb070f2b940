"""/metrics: Prometheus text a scraper parses, counted by route template, and guarded."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from models.outbox import OutboxMessage, OutboxStatus
from qunshop.assembly.app import create_app
from qunshop.assembly.logs import Context, formatter
from qunshop.config import Mode
from tests.bot.helpers import OA, oa_text


async def scrape(client: TestClient, **headers: str) -> dict[str, list[Any]]:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    found = [s.value for s in samples.get(name, []) if labels.items() <= s.labels.items()]
    assert found, f"{name} {labels} not in the scrape"
    return sum(found)


async def test_a_scrape_parses_and_counts_what_happened(client: TestClient) -> None:
    now = datetime.now(tz=UTC)
    for path in ("/api/v1/campaigns/1/teams", "/api/v1/campaigns/2/teams"):
        await client.get(path)
    await client.get("/api/v1/no-such-thing")
    forged = await client.post("/bot/wechat", params={"timestamp": "1"}, data="<xml/>")
    assert forged.status == 403
    oa = OA(client)
    assert (await oa.post(oa_text("帮助"))).status == 200
    old = await OutboxMessage.create(
        kind="chat.send", payload={}, dedupe_key="m-old", next_attempt_at=now
    )
    await OutboxMessage.filter(id=old.id).update(created_at=now - timedelta(minutes=10))
    await OutboxMessage.create(
        kind="chat.send",
        payload={},
        dedupe_key="m-dead",
        next_attempt_at=now,
        status=OutboxStatus.DEAD,
    )

    samples = await scrape(client)

    teams = "/api/v1/campaigns/{campaign_id}/teams"
    assert value(samples, "qunshop_http_requests_total", method="GET", route=teams) == 2
    assert value(samples, "qunshop_http_requests_total", route="unmatched", status="404") == 1
    assert value(samples, "qunshop_http_request_duration_seconds_count", route=teams) == 2
    assert not [s for s in samples["qunshop_http_requests_total"] if "/1/" in s.labels["route"]]
    assert value(samples, "qunshop_webhook_requests_total", outcome="refused") == 1
    assert value(samples, "qunshop_webhook_requests_total", outcome="accepted") == 1
    assert value(samples, "qunshop_chat_updates_total", outcome="claimed") == 1
    assert value(samples, "qunshop_chat_updates_total", outcome="replied") == 1
    assert value(samples, "qunshop_outbox_pending") == 1
    assert 590 <= value(samples, "qunshop_outbox_oldest_pending_age_seconds") <= 3600
    assert value(samples, "qunshop_outbox_parked") == 1
    assert value(samples, "qunshop_refunds_failed") == 0
    assert value(samples, "qunshop_reconciliation_differences") == 0
    assert value(samples, "qunshop_redis_round_trips_total") > 0
    assert value(samples, "qunshop_db_pool_size") >= 1
    assert 0 <= value(samples, "qunshop_db_pool_in_use") <= value(samples, "qunshop_db_pool_max")


async def test_the_route_template_is_the_label(client: TestClient) -> None:
    await client.get("/healthz")
    samples = await scrape(client)
    routes = {s.labels["route"] for s in samples["qunshop_http_requests_total"]}
    assert "/healthz" in routes


async def test_a_token_guards_it_when_set(make_settings: Any, start_client: Any) -> None:
    client = await start_client(
        create_app(make_settings(metrics_token="scrape-secret-1234"), background=False)
    )
    denied = await client.get("/metrics")
    assert denied.status == 401
    assert (await denied.json())["code"] == "unauthenticated"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    await scrape(client, Authorization="Bearer scrape-secret-1234")


async def test_production_without_a_token_exposes_nothing(
    make_settings: Any, start_client: Any
) -> None:
    client = await start_client(create_app(make_settings(mode=Mode.PRODUCTION), background=False))
    resp = await client.get("/metrics")
    assert resp.status == 403
    assert (await resp.json())["code"] == "forbidden"


async def test_without_a_token_only_loopback_clients(make_settings: Any, start_client: Any) -> None:
    """Behind a trusted proxy the client is who X-Forwarded-For names, not the proxy."""
    client = await start_client(
        create_app(make_settings(trusted_proxies="127.0.0.1"), background=False)
    )
    resp = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 403
    await scrape(client)


async def test_log_lines_carry_the_request_id_and_the_update_key(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(Context())
    oa = OA(client)
    xml = oa_text("帮助")
    await oa.post(xml, ts=None)
    await oa.post(xml)  # the platform's retry: a duplicate, logged with its key
    duplicate = [r for r in caplog.records if "duplicate delivery" in r.getMessage()]
    assert len(duplicate) == 1
    record = duplicate[0]
    assert record.update_key.startswith("wechat:msg:")  # type: ignore[attr-defined]
    assert len(record.request_id) == 32  # type: ignore[attr-defined]
    line = json.loads(formatter("json").format(record))
    assert line["request_id"] == record.request_id  # type: ignore[attr-defined]
    assert line["update_key"] == record.update_key  # type: ignore[attr-defined]
