"""The test database: created and migrated once per run, emptied before each test."""

from __future__ import annotations

import asyncpg

from qunshop import dburl

KEEP = {"tortoise_migrations"}


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """A plain asyncpg connection to the test server (another of its databases if named)."""
    parsed = dburl.parse(url)
    if database is not None:
        parsed = parsed.with_database(database)
    return await asyncpg.connect(**parsed.connect_kwargs())


async def empty_database(url: str) -> None:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [r["tablename"] for r in rows if r["tablename"] not in KEEP]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def create_blank_database(url: str, name: str) -> str:
    """A new, empty database beside the test one; returns its URL."""
    conn = await connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return dburl.parse(url).with_database(name).url()


async def drop_database(url: str, name: str) -> None:
    conn = await connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
