"""Constraints that Tortoise 1.1's CreateModel leaves out of the tables it creates.

CreateModel ignores ``Meta.constraints``, so the CHECKs and unique keys the models declare
are created here: on PostgreSQL as real constraints, on SQLite as unique indexes and
triggers (SQLite cannot add a CHECK to an existing table).
"""

import re

from tortoise import migrations
from tortoise.migrations import operations as ops

CHECKS = [
    ("skus", "ck_sku_price", "price >= 0"),
    ("skus", "ck_sku_stock", "stock >= 0"),
    ("campaigns", "ck_campaign_stock_left", "stock_left >= 0"),
    ("campaigns", "ck_campaign_stock_cap", "stock_left <= stock_cap"),
    ("campaigns", "ck_campaign_team_size", "team_size BETWEEN 2 AND 50"),
    ("campaigns", "ck_campaign_price", "group_price >= 0"),
    ("teams", "ck_team_seats", "seats_held >= 0 AND seats_held <= size"),
    ("teams", "ck_team_paid", "seats_paid >= 0 AND seats_paid <= seats_held"),
    ("orders", "ck_order_amount", "amount >= 0"),
    ("orders", "ck_order_quantity", "quantity >= 1"),
    ("refunds", "ck_refund_amount", "amount > 0 AND amount <= total"),
]
UNIQUES = [
    ("memberships", "uq_membership", "user_id, community_id", None),
    ("seats", "uq_seat_open_team_per_user", "campaign_id, user_id", "in_open_team"),
]
_KEYWORDS = {"and", "or", "not", "between", "null", "is"}


def _new_columns(check: str) -> str:
    return re.sub(
        r"\b([a-z_]+)\b",
        lambda m: m.group(1) if m.group(1).lower() in _KEYWORDS else f"NEW.{m.group(1)}",
        check,
    )


async def forward(apps, schema_editor) -> None:
    postgres = schema_editor.DIALECT == "postgres"
    for table, name, columns, condition in UNIQUES:
        where = f" WHERE {condition}" if condition else ""
        await schema_editor._run_sql(
            f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({columns}){where}'
        )
    for table, name, check in CHECKS:
        if postgres:
            await schema_editor._run_sql(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})'
            )
            continue
        for event in ("INSERT", "UPDATE"):
            # execute_script: the trigger body's ';' must not split the statement.
            await schema_editor.client.execute_script(
                f'CREATE TRIGGER "{name}_{event.lower()}" BEFORE {event} ON "{table}" '
                f"WHEN NOT ({_new_columns(check)}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )


async def backward(apps, schema_editor) -> None:
    postgres = schema_editor.DIALECT == "postgres"
    for table, name, _check in CHECKS:
        if postgres:
            await schema_editor._run_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        else:
            for event in ("insert", "update"):
                await schema_editor._run_sql(f'DROP TRIGGER "{name}_{event}"')
    for _table, name, _columns, _condition in UNIQUES:
        await schema_editor._run_sql(f'DROP INDEX "{name}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0002_commerce_core")]

    operations = [ops.RunPython(forward, backward)]
