"""Migration 0340: the ledger's existing rows stay as they were (each an order's); a row is an
order's or a withdrawal's, never neither nor both; one open withdrawal per earner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.qunshop.test_migration_flash_sale import _order, _shop
from tests.support.db import connect, migrate_to

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LEDGER = (
    "INSERT INTO earnings_ledger (id, earner_id, order_id, kind, event, amount, frozen_delta, "
    "available_delta, base, rate_bps, ref, created_at) "
    "VALUES ($1, $2, $3, 'leader_share', 'accrue', 100, 100, 0, 990, 1000, $4, $5)"
)


async def _withdrawal(conn: asyncpg.Connection, earner: uuid.UUID, status: str) -> uuid.UUID:
    made = uuid.uuid4()
    await conn.execute(
        "INSERT INTO withdrawals (id, earner_id, amount, status, partner_trade_no, openid, "
        "created_at) VALUES ($1, $2, 100, $3, $4, 'o-leader', $5)",
        made,
        earner,
        status,
        made.hex,
        T0,
    )
    return made


async def test_the_ledger_takes_withdrawals_beside_orders(blank_url: str) -> None:
    await migrate_to(blank_url, "models.0330_a_review_reply_names_who_wrote_it")
    conn = await connect(blank_url)
    try:
        leader, _, sku, _ = await _shop(conn)
        order = await _order(conn, leader, sku, "direct", 0)
        await conn.execute(LEDGER, uuid.uuid4(), leader, order, "before", T0)
    finally:
        await conn.close()

    await migrate_to(blank_url)

    conn = await connect(blank_url)
    try:
        kept = await conn.fetch("SELECT order_id, withdrawal_id FROM earnings_ledger")
        assert [(r["order_id"], r["withdrawal_id"]) for r in kept] == [(order, None)]
        with pytest.raises(asyncpg.CheckViolationError):  # neither an order's nor a withdrawal's
            await conn.execute(LEDGER, uuid.uuid4(), leader, None, "neither", T0)
        paid = await _withdrawal(conn, leader, "paid")
        with pytest.raises(asyncpg.CheckViolationError):  # both
            await conn.execute(
                LEDGER.replace("order_id,", "order_id, withdrawal_id,").replace("$3,", "$3, $6,"),
                uuid.uuid4(),
                leader,
                order,
                "both",
                T0,
                paid,
            )
        await _withdrawal(conn, leader, "requested")
        with pytest.raises(asyncpg.UniqueViolationError):  # a second open one
            await _withdrawal(conn, leader, "approved")
        with pytest.raises(asyncpg.CheckViolationError):  # under WeChat Pay's ¥1
            await conn.execute(
                "INSERT INTO withdrawals (id, earner_id, amount, partner_trade_no, openid, "
                "created_at) VALUES ($1, $2, 99, 'x', 'o', $3)",
                uuid.uuid4(),
                leader,
                T0,
            )
    finally:
        await conn.close()
