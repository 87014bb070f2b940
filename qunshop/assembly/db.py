"""Tortoise ORM: configuration, start-up, migrations and the check that they are current."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as tortoise_migrate
from tortoise.migrations.executor import MigrationExecutor

from qunshop import dburl
from qunshop.assembly import pgclient
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
    "models.pickup",
    "models.audit",
    "models.aftersale",
    "models.claim",
    "models.reconciliation",
    "models.supply",
    "models.delivery",
    "models.identity",
    "models.pricing",
    "models.coupon",
    "models.points",
    "models.bargain",
    "models.tier",
    "models.moderation",
    "models.review",
    "models.post",
    "models.qa",
    "models.privacy",
    "models.rollup",
    "models.segment",
    "models.recommendation",
]
MIGRATIONS_MODULE = "migrations"


def _connection(database_url: str, pool_size: int) -> dict[str, Any]:
    url = dburl.parse(database_url)
    kwargs = url.connect_kwargs()
    # Warm: the pool opens all its connections at start-up, so the first burst of requests
    # does not queue behind connection set-up.
    return pgclient.engine(**kwargs, minsize=pool_size, maxsize=pool_size)


def tortoise_config(database_url: str, *, pool_size: int = 5) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url, pool_size)},
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


# For Tortoise's own CLI (``tortoise -c qunshop.assembly.db.TORTOISE_ORM makemigrations``): the
# autodetector compares models with the migration files and never connects.
TORTOISE_ORM_URL = "postgres://localhost/qunshop"  # never connected to
TORTOISE_ORM = tortoise_config(TORTOISE_ORM_URL)


def describe_url(database_url: str) -> str:
    """The URL without its password, for messages."""
    return dburl.describe(database_url)


async def open_orm(database_url: str, *, pool_size: int = 5) -> TortoiseContext:
    """Initialise Tortoise and prove the database answers."""
    ctx = TortoiseContext()
    ctx.__enter__()  # init needs a current context; the token is never reset on purpose
    try:
        # Global fallback: aiohttp runs handlers in tasks that do not inherit the start-up
        # task's context variables.
        await ctx.init(
            config=tortoise_config(database_url, pool_size=pool_size),
            _enable_global_fallback=True,
        )
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
    executor = MigrationExecutor(ctx.db(), tortoise_config(TORTOISE_ORM_URL)["apps"])
    try:
        plan = await executor.plan()
    except Exception:
        # No migrations table yet: everything is pending.
        logger.debug("migration plan failed; treating the database as new", exc_info=True)
        executor = MigrationExecutor(ctx.db(), tortoise_config(TORTOISE_ORM_URL)["apps"])
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
