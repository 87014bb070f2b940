"""Migration 0270 names each existing flash order's sale where the old rule (its SKU's sale whose
window holds the order's time) names exactly one; a sale with orders cannot be deleted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.support.db import connect, migrate_to

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _shop(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """A leader, their community, and two SKUs: (leader, community, sku A, sku B)."""
    leader, community, product = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, openid, nickname, role, created_at) "
        "VALUES ($1, 'o-leader', '', 'leader', $2)",
        leader,
        T0,
    )
    await conn.execute(
        "INSERT INTO communities (id, name, timezone, leader_id, created_at) "
        "VALUES ($1, '小区', 'Asia/Shanghai', $2, $3)",
        community,
        leader,
        T0,
    )
    await conn.execute(
        "INSERT INTO products (id, title, description, category, images, active, "
        "created_by_id, created_at, updated_at) VALUES ($1, '鸡蛋', '', 'fresh', '[]', true, "
        "$2, $3, $3)",
        product,
        leader,
        T0,
    )
    skus = [uuid.uuid4(), uuid.uuid4()]
    for sku in skus:
        await conn.execute(
            "INSERT INTO skus (id, product_id, name, price, stock) VALUES ($1, $2, '默认', 990, 9)",
            sku,
            product,
        )
    return leader, community, skus[0], skus[1]


async def _sale(conn: asyncpg.Connection, leader: Any, community: Any, sku: Any, m: int) -> Any:
    """A 30-minute sale of the SKU from ``m`` minutes past T0."""
    activity, sale = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO activities (id, community_id, kind, title, payload, active, created_by_id, "
        "created_at) VALUES ($1, $2, 'flash_sale', '', '{}', true, $3, $4)",
        activity,
        community,
        leader,
        T0,
    )
    await conn.execute(
        "INSERT INTO flash_sales (id, activity_id, sku_id, price, stock, stock_left, "
        "per_user_limit, starts_at, ends_at) VALUES ($1, $2, $3, 990, 5, 5, 1, $4, $5)",
        sale,
        activity,
        sku,
        _at(m),
        _at(m + 30),
    )
    return sale


async def _order(conn: asyncpg.Connection, buyer: Any, sku: Any, kind: str, m: int) -> Any:
    order = uuid.uuid4()
    await conn.execute(
        "INSERT INTO orders (id, out_trade_no, kind, user_id, sku_id, quantity, unit_price, "
        "amount, status, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, 1, 990, 990, 'cancelled', $6, $6)",
        order,
        order.hex[:32],
        kind,
        buyer,
        sku,
        _at(m),
    )
    return order


async def test_existing_flash_orders_get_their_sale_where_one_window_holds_them(
    blank_url: str,
) -> None:
    await migrate_to(blank_url, "models.0250_funnel_steps_nest")
    conn = await connect(blank_url)
    try:
        leader, community, sku_a, sku_b = await _shop(conn)
        first = await _sale(conn, leader, community, sku_a, 0)  # 0-30
        second = await _sale(conn, leader, community, sku_a, 20)  # 20-50: overlaps the first
        other = await _sale(conn, leader, community, sku_b, 0)
        orders = {
            "first": await _order(conn, leader, sku_a, "flash", 10),
            "both": await _order(conn, leader, sku_a, "flash", 25),
            "second": await _order(conn, leader, sku_a, "flash", 40),
            "other": await _order(conn, leader, sku_b, "flash", 10),
            "none": await _order(conn, leader, sku_a, "flash", 60),
            "direct": await _order(conn, leader, sku_a, "direct", 10),
        }
    finally:
        await conn.close()

    await migrate_to(blank_url)

    conn = await connect(blank_url)
    try:
        rows = await conn.fetch("SELECT id, flash_sale_id FROM orders")
        named = {row["id"]: row["flash_sale_id"] for row in rows}
        assert {k: named[v] for k, v in orders.items()} == {
            "first": first,
            "both": None,
            "second": second,
            "other": other,
            "none": None,
            "direct": None,
        }
        # RESTRICT: restrict_violation (23001) on the embedded PostgreSQL 18, foreign_key_violation
        # (23503) on the machine's 15
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            await conn.execute("DELETE FROM flash_sales WHERE id = $1", first)
    finally:
        await conn.close()
