from __future__ import annotations

from typing import Any

import pytest

from qunshop.assembly.app import create_app
from qunshop.assembly.db import open_orm, pending_migrations, run_migrations
from qunshop.errors import StartupError


async def test_server_refuses_a_database_behind(
    blank_url: str, make_settings: Any, start_client: Any
) -> None:
    app = create_app(make_settings(database_url=blank_url))
    with pytest.raises(StartupError) as exc:
        await start_client(app)
    message = str(exc.value)
    assert "behind by" in message
    assert "0001_initial" in message
    assert "qunshop migrate" in message


async def test_migrate_brings_it_current(
    blank_url: str, make_settings: Any, start_client: Any
) -> None:
    applied = await run_migrations(blank_url)
    assert "models.0001_initial" in applied
    assert await run_migrations(blank_url) == []
    ctx = await open_orm(blank_url)
    try:
        assert await pending_migrations(ctx) == []
    finally:
        await ctx.close_connections()
