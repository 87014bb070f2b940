"""The models and the migration chain agree: Tortoise's ``makemigrations`` would write nothing.

A model changed without its migration (or a migration that changes the database in SQL
without telling the migration state) fails here, naming what ``makemigrations`` would write.
The autodetector compares the models with the migration files only; it connects to nothing.
"""

from __future__ import annotations

import asyncio

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from qunshop.assembly.db import TORTOISE_ORM


async def _pending_operations() -> list[str]:
    apps = TORTOISE_ORM["apps"]
    async with tortoise_cli_context(TORTOISE_ORM) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps).changes()
    return [op.describe() for writer in writers for op in writer.operations]


def test_makemigrations_finds_nothing_to_write() -> None:
    assert asyncio.run(_pending_operations()) == []
