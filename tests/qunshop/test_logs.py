"""Logs a person can read: an access line per request, quiet routine, JSON on request."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aiohttp.test_utils import TestClient

from qunshop.assembly.logs import Routine, formatter


async def test_one_access_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qunshop.access")
    resp = await client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
    assert resp.status == 200
    missing = await client.get("/api/v1/nowhere")
    assert missing.status == 404

    lines = [r for r in caplog.records if r.name == "qunshop.access"]
    assert len(lines) == 2
    first, second = lines
    assert first.getMessage().startswith("GET /healthz 200 ")
    assert first.getMessage().endswith("ms req-12345678")
    assert (first.method, first.path, first.status, first.request_id) == (  # type: ignore[attr-defined]
        "GET",
        "/healthz",
        200,
        "req-12345678",
    )
    assert first.duration_ms >= 0  # type: ignore[attr-defined]
    assert second.status == 404  # type: ignore[attr-defined]
    assert second.request_id == missing.headers["X-Request-ID"]  # type: ignore[attr-defined]


def test_json_lines_carry_the_fields_as_keys() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    log = logging.getLogger("qunshop.test-json")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("GET / 200", extra={"status": 200, "request_id": "abc"})
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "GET / 200"
    assert (line["level"], line["logger"]) == ("WARNING", "qunshop.test-json")
    assert (line["status"], line["request_id"]) == (200, "abc")
    assert "asctime" in line


def test_routine_scheduler_runs_are_debug() -> None:
    record = logging.LogRecord(
        "apscheduler.executors.default", logging.INFO, __file__, 1, "Job ran", None, None
    )
    root = logging.getLogger()
    before = root.level
    try:
        root.setLevel(logging.INFO)
        assert Routine().filter(record) is False
        assert record.levelname == "DEBUG"
        root.setLevel(logging.DEBUG)
        assert Routine().filter(record) is True
    finally:
        root.setLevel(before)
    warning = logging.LogRecord(
        "apscheduler.scheduler", logging.WARNING, __file__, 1, "missed", None, None
    )
    assert Routine().filter(warning) is True and warning.levelname == "WARNING"
    ours = logging.LogRecord("qunshop.access", logging.INFO, __file__, 1, "GET /", None, None)
    assert Routine().filter(ours) is True and ours.levelname == "INFO"
