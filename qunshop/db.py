"""Tortoise ORM: configuration, start-up, migrations and the check that they are current."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor

from qunshop.errors import StartupError

logger = logging.getLogger(__name__)

APP_LABEL = "models"
MODEL_MODULES = [
    "models.user",
    "models.community",
    "models.catalog",
    "models.groupbuy",
    "models.order",
    "models.payment",
    "models.outbox",
    "models.chat",
    "models.activity",
    "models.growth",
    "models.audit",
]
MIGRATIONS_MODULE = "migrations"


def with_pool_size(database_url: str, size: int) -> str:
    """PostgreSQL URLs get a pool of ``size`` (Tortoise's default of 5 starves 64 requests)."""
    if not database_url.startswith(("postgres://", "asyncpg://", "psycopg://")):
        return database_url
    if "maxsize=" in database_url:
        return database_url
    joiner = "&" if "?" in database_url else "?"
    return f"{database_url}{joiner}minsize=2&maxsize={size}"


class _LeanConnection(asyncpg.connection.Connection):  # type: ignore[misc]
    """No reset query when a connection goes back to the pool.

    asyncpg's default ("RESET ALL; UNLISTEN *; ...") costs a round trip on every release,
    and Tortoise releases after every query outside a transaction: half of all round trips.
    We set no session state, listen to nothing and take no session advisory locks; an open
    transaction is still rolled back by asyncpg on release.
    """

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "asyncpg://")):
        return database_url
    config = expand_db_url(database_url.replace("postgres://", "asyncpg://", 1))
    config["credentials"]["connection_class"] = _LeanConnection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            APP_LABEL: {
                "models": list(MODEL_MODULES),
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For Tortoise's own CLI (``tortoise -c qunshop.db.TORTOISE_ORM makemigrations``): the
# autodetector compares models with the migration files, so no real database is needed.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


def describe_url(database_url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = database_url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return database_url


async def open_orm(database_url: str, *, pool_size: int = 5) -> TortoiseContext:
    """Initialise Tortoise and prove the database answers."""
    database_url = with_pool_size(database_url, pool_size)
    ctx = TortoiseContext()
    ctx.__enter__()  # init needs a current context; the token is never reset on purpose
    try:
        # Global fallback: aiohttp runs handlers in tasks that do not inherit the start-up
        # task's context variables.
        await ctx.init(config=tortoise_config(database_url), _enable_global_fallback=True)
        await ctx.db().execute_query("SELECT 1")
    except Exception as exc:
        await ctx.close_connections()
        raise StartupError(
            f"QUNSHOP_DATABASE_URL ({describe_url(database_url)}) cannot be used: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return ctx


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Names of the migrations not yet applied to this database."""
    executor = MigrationExecutor(ctx.db(), tortoise_config("unused")["apps"])
    try:
        plan = await executor.plan()
    except Exception:
        # No migrations table yet: everything is pending.
        logger.debug("migration plan failed; treating the database as new", exc_info=True)
        executor = MigrationExecutor(ctx.db(), tortoise_config("unused")["apps"])
        await executor.loader.build_graph()
        return [f"{k.app_label}.{k.name}" for k in executor._full_plan()]
    return [f"{s.migration.app_label}.{s.migration.name}" for s in plan if not s.backward]


async def ensure_migrated(ctx: TortoiseContext) -> None:
    pending = await pending_migrations(ctx)
    if pending:
        raise StartupError(
            f"the database is behind by {len(pending)} migration(s) ({', '.join(pending)}): "
            "run `qunshop migrate` (or `make run`, which migrates first)"
        )


async def run_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; returns what was applied."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    ctx = TortoiseContext()
    with ctx:
        try:
            await tortoise_migrate(config=tortoise_config(database_url), progress=progress)
        except Exception as exc:
            raise StartupError(
                f"QUNSHOP_DATABASE_URL ({describe_url(database_url)}) could not be migrated: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            await ctx.close_connections()
    return applied
