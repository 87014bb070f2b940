"""Indexes for the hot lookups by foreign key (joins, payments, settlements).

Plain SQL on purpose: Tortoise's AlterField rebuilds a SQLite table to add an index and so
drops the indexes and triggers that 0003 created on it.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = [
    ("idx_seats_team", "seats", "team_id"),
    ("idx_seats_user", "seats", "user_id"),
    ("idx_seats_campaign_user", "seats", "campaign_id, user_id"),
    ("idx_teams_campaign_status", "teams", "campaign_id, status"),
    ("idx_orders_team", "orders", "team_id"),
    ("idx_orders_user_created", "orders", "user_id, created_at"),
    ("idx_orders_campaign", "orders", "campaign_id"),
    ("idx_orders_community_paid", "orders", "community_id, paid_at"),
    ("idx_payments_order", "payments", "order_id"),
    ("idx_refunds_order", "refunds", "order_id"),
]


async def restore_sqlite_checks(apps, schema_editor) -> None:
    """0005's AddField rebuilt ``orders`` on SQLite and lost 0003's CHECK triggers: restore."""
    if schema_editor.DIALECT == "postgres":
        return  # real constraints survive ALTER TABLE
    checks = importlib.import_module("migrations.0003_constraints")
    for table, name, check in checks.CHECKS:
        for event in ("INSERT", "UPDATE"):
            await schema_editor.client.execute_script(
                f'CREATE TRIGGER IF NOT EXISTS "{name}_{event.lower()}" BEFORE {event} ON "{table}" '
                f"WHEN NOT ({checks._new_columns(check)}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0006_growth")]

    operations = [
        ops.RunSQL(
            [f'CREATE INDEX "{name}" ON "{table}" ({columns})' for name, table, columns in INDEXES],
            reverse_sql=[f'DROP INDEX "{name}"' for name, _, _ in INDEXES],
        ),
        ops.RunPython(restore_sqlite_checks, ops.RunPython.noop),
    ]
