"""Migration 0330 names the writer of each existing reply where a held reply left its
moderation row; a reply never held stays unnamed. (That the key restricts, as every key to
``users`` but the listed few, is tests/services/test_records_kept_everywhere.py's.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from tests.qunshop.test_migration_flash_sale import _order, _shop
from tests.support.db import connect, migrate_to

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def _review(
    conn: asyncpg.Connection, order: uuid.UUID, author: uuid.UUID, reply: str
) -> uuid.UUID:
    review = uuid.uuid4()
    product = await conn.fetchval(
        "SELECT s.product_id FROM orders o JOIN skus s ON s.id = o.sku_id WHERE o.id = $1", order
    )
    await conn.execute(
        "INSERT INTO reviews (id, order_id, author_id, product_id, rating, text, images, shown, "
        "reply_text, reply_shown, replied_at, created_at) "
        "VALUES ($1, $2, $3, $4, 5, '好', '[]', 'visible', $5, 'visible', $6, $6)",
        review,
        order,
        author,
        product,
        reply,
        T0,
    )
    return review


async def _held(conn: asyncpg.Connection, kind: str, ref: uuid.UUID, author: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO moderation_items (id, kind, ref, author_id, text, images, status, reason, "
        "reports, payload, created_at) VALUES ($1, $2, $3, $4, '', '[]', 'approved', '', 0, "
        "'{}', $5)",
        uuid.uuid4(),
        kind,
        str(ref),
        author,
        T0,
    )


async def test_existing_replies_name_their_writer_where_moderation_did(blank_url: str) -> None:
    await migrate_to(blank_url, "models.0320_business_records_never_go_by_a_cascade")
    conn = await connect(blank_url)
    try:
        leader, _, sku, _ = await _shop(conn)
        operator = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, openid, nickname, role, created_at) "
            "VALUES ($1, 'o-operator', '运营', 'admin', $2)",
            operator,
            T0,
        )
        held = await _review(conn, await _order(conn, leader, sku, "direct", 0), leader, "谢谢")
        await _held(conn, "reply", held, operator)
        plain = await _review(conn, await _order(conn, leader, sku, "direct", 1), leader, "好的")
        await _held(conn, "review", plain, leader)  # the review's own row names its author
        none = await _review(conn, await _order(conn, leader, sku, "direct", 2), leader, "")
    finally:
        await conn.close()

    await migrate_to(blank_url)

    conn = await connect(blank_url)
    try:
        rows = await conn.fetch("SELECT id, replied_by_id FROM reviews")
        named = {row["id"]: row["replied_by_id"] for row in rows}
        assert named == {held: operator, plain: None, none: None}
    finally:
        await conn.close()
