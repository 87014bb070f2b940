"""The test database: created and migrated once per run, emptied before each test."""

from __future__ import annotations

import sqlite3

import asyncpg

KEEP = {"tortoise_migrations"}


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "asyncpg://", "postgresql://"))


def _pg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def empty_database(url: str) -> None:
    if is_postgres(url):
        conn = await asyncpg.connect(_pg_dsn(url))
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [r["tablename"] for r in rows if r["tablename"] not in KEEP]
            if tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()
        return
    path = url.split("://", 1)[1]
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if r[0] not in KEEP
        ]
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')
    conn.close()


async def create_blank_database(url: str, name: str) -> str:
    """A new, empty database beside the test one; returns its URL."""
    if not is_postgres(url):
        return url.rsplit("/", 1)[0] + f"/{name}.sqlite3"
    conn = await asyncpg.connect(_pg_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str, name: str) -> None:
    if not is_postgres(url):
        return
    conn = await asyncpg.connect(_pg_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
