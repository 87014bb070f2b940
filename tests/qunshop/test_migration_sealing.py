"""Migration 0100 seals the home-delivery recipients already in the database: afterwards no
column holds them in the clear, and they open with the settings' key."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from services import personal
from tests.support.db import connect, migrate_to

KEY = base64.b64encode(bytes(range(32))).decode()


async def test_existing_recipients_are_sealed_and_the_clear_columns_go(
    blank_url: str, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate_to(blank_url, "models.0073_recommendations")
    user_id, address_id = uuid.uuid4(), uuid.uuid4()
    conn = await connect(blank_url)
    try:
        await conn.execute(
            "INSERT INTO users (id, openid, nickname, role, created_at) "
            "VALUES ($1, 'o-before', '', 'shopper', now())",
            user_id,
        )
        await conn.execute(
            "INSERT INTO addresses (id, user_id, recipient, phone, detail, created_at) "
            "VALUES ($1, $2, '王五', '13600136000', '1 号楼', now())",
            address_id,
            user_id,
        )
    finally:
        await conn.close()

    monkeypatch.setenv("QUNSHOP_PERSONAL_DATA_KEY", KEY)  # `qunshop migrate`'s environment
    await migrate_to(blank_url)

    conn = await connect(blank_url)
    try:
        row = await conn.fetchrow("SELECT * FROM addresses WHERE id = $1", address_id)
    finally:
        await conn.close()
    assert "recipient" not in row and "phone" not in row
    key = personal.data_key(make_settings(personal_data_key=KEY))
    opened = [
        personal.unseal(row[c], key=key, owner=address_id)
        for c in ("recipient_sealed", "phone_sealed")
    ]
    assert opened == ["王五", "13600136000"]
