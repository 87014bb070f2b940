"""Constraints that Tortoise 1.1's CreateModel leaves out of the tables it creates.

CreateModel ignores ``Meta.constraints``, so the CHECKs and unique keys the models declare
are created here.
"""

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


async def forward(apps, schema_editor) -> None:
    for table, name, columns, condition in UNIQUES:
        where = f" WHERE {condition}" if condition else ""
        await schema_editor._run_sql(
            f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({columns}){where}'
        )
    for table, name, check in CHECKS:
        await schema_editor._run_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})')


async def backward(apps, schema_editor) -> None:
    for table, name, _check in CHECKS:
        await schema_editor._run_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for _table, name, _columns, _condition in UNIQUES:
        await schema_editor._run_sql(f'DROP INDEX "{name}"')


class Migration(migrations.Migration):
    dependencies = [("models", "0002_commerce_core")]

    operations = [ops.RunPython(forward, backward)]
