"""The test database: a copy of a migrated template made once per run, emptied before each test.

Migrating 0001.. into a blank database takes one to two minutes, so it is done once per set of
migrations: into a template named by their hash, kept on the server, which each run copies in
a second. Templates of older migrations stay until dropped by hand
(``DROP DATABASE qunshop_template_...``): a session of another branch may be copying one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate

from qunshop import dburl
from qunshop.assembly.db import run_migrations, tortoise_config

KEEP = {"tortoise_migrations"}
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
TEMPLATE_PREFIX = "qunshop_template_"


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """A plain asyncpg connection to the test server (another of its databases if named)."""
    parsed = dburl.parse(url)
    if database is not None:
        parsed = parsed.with_database(database)
    return await asyncpg.connect(**parsed.connect_kwargs())


def template_name() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS).as_posix().encode())
        digest.update(path.read_bytes())
    return TEMPLATE_PREFIX + digest.hexdigest()[:16]


async def prepare_template(url: str) -> str:
    """The migrated template's name on ``url``'s server, built there when missing."""
    template = template_name()
    admin = await connect(url, "postgres")
    try:
        if not await _exists(admin, template):
            await _build_template(admin, url, template)
    finally:
        await admin.close()
    return template


async def create_migrated_database(url: str) -> None:
    """Make ``url``'s database afresh as a copy of the migrated template (built when missing)."""
    name = dburl.parse(url).database
    template = await prepare_template(url)
    admin = await connect(url, "postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()


async def _exists(admin: asyncpg.Connection, name: str) -> bool:
    return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def _build_template(admin: asyncpg.Connection, url: str, template: str) -> None:
    # Migrated under a name of its own and renamed when done, so a session running beside
    # this one never copies a half-migrated template.
    building = f"{template}_{admin.get_server_pid()}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
    await admin.execute(f'CREATE DATABASE "{building}"')
    await run_migrations(dburl.parse(url).with_database(building).url())
    try:
        await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
    except asyncpg.DuplicateDatabaseError:  # the other session finished first
        await admin.execute(f'DROP DATABASE "{building}"')


async def empty_database(url: str) -> None:
    """Empty every table (but the migration log) and restart their id sequences.

    DELETE with triggers and foreign keys off, not TRUNCATE: truncating ~90 tables makes new
    files for each table and index (about half a second a test); deleting the few rows a
    test wrote takes a tenth of that."""
    conn = await connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r["tablename"] not in KEEP
        ]
        sequences = await conn.fetch(
            "SELECT seq.oid::regclass::text AS name FROM pg_class seq"
            " JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')"
            " JOIN pg_class tab ON tab.oid = dep.refobjid"
            " WHERE seq.relkind = 'S' AND tab.relname = ANY($1::text[])",
            tables,
        )
        statements = [
            "SET LOCAL session_replication_role = replica",  # no triggers, no FK checks
            *(f'DELETE FROM "{t}"' for t in tables),
            *(f"ALTER SEQUENCE {s['name']} RESTART" for s in sequences),
        ]
        async with conn.transaction():
            await conn.execute(";\n".join(statements))
    finally:
        await conn.close()


async def migrate_to(url: str, target: str | None = None) -> None:
    """Migrate ``url``'s database up to ``target`` (``"models.0250_..."``), or all the way."""
    with TortoiseContext():
        await migrate(config=tortoise_config(url), target=target)


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
