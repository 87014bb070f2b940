"""Points that can be spent: a balance per person the database keeps from the ledger.

- ``points_balances``: one row per person; the trigger ``points_ledger_balance`` adds every
  ledger entry's delta to it in the entry's own transaction, and ``ck_points_balance``
  refuses an entry that would take it below zero. Concurrent spends queue on that row.
  Backfilled from the ledger, so balance = sum(delta) holds from the start.
- ``points_ledger.community_id`` may be NULL: points are the person's, shop-wide; an entry
  names the community it was earned in when there is one (a check-in's).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

FORWARD = [
    'ALTER TABLE "points_ledger" ALTER COLUMN "community_id" DROP NOT NULL',
    'ALTER TABLE "points_balances" ADD CONSTRAINT "ck_points_balance" CHECK (balance >= 0)',
    'INSERT INTO "points_balances" (user_id, balance) '
    'SELECT user_id, sum(delta) FROM "points_ledger" GROUP BY user_id',
    """CREATE FUNCTION qunshop_points_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Not INSERT ... ON CONFLICT DO UPDATE: the CHECK would judge the inserted delta alone.
    UPDATE points_balances SET balance = balance + NEW.delta WHERE user_id = NEW.user_id;
    IF NOT FOUND THEN
        INSERT INTO points_balances (user_id, balance) VALUES (NEW.user_id, 0)
        ON CONFLICT (user_id) DO NOTHING;
        UPDATE points_balances SET balance = balance + NEW.delta WHERE user_id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$""",
    'CREATE TRIGGER "points_ledger_balance" AFTER INSERT ON "points_ledger" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_points_balance()",
    'CREATE INDEX "ix_points_ledger_user" ON "points_ledger" (user_id, created_at)',
]
BACKWARD = [
    'DROP INDEX "ix_points_ledger_user"',
    'DROP TRIGGER "points_ledger_balance" ON "points_ledger"',
    "DROP FUNCTION qunshop_points_balance()",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class AlterFieldState(ops.AlterField):
    """AlterField for the migration state only; the forward SQL changes the column."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


class Migration(migrations.Migration):
    dependencies = [("models", "0031_coupons")]

    initial = False

    operations = [
        AlterFieldState(
            model_name="PointsEntry",
            name="community",
            field=fields.ForeignKeyField(
                "models.Community",
                source_field="community_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="points",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.CreateModel(
            name="PointsBalance",
            fields=[
                (
                    "user",
                    fields.OneToOneField(
                        "models.User",
                        source_field="user_id",
                        primary_key=True,
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="points_balance",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("balance", fields.IntField(default=0)),
            ],
            options={
                "table": "points_balances",
                "app": "models",
                "constraints": [CheckConstraint(check="balance >= 0", name="ck_points_balance")],
                "pk_attr": "user_id",
            },
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
