"""Leaders withdraw (提现) their available earnings: ``withdrawals``, and the ledger's rows of them.

- ``withdrawals``: one payout each, from the earner's request to WeChat Pay's answer. At most
  one is open (requested or approved) per earner: the partial unique index
  ``uq_withdrawal_open``. ``partner_trade_no`` is WeChat Pay's key of the transfer (unique).
- ``earnings_ledger`` rows may now be a withdrawal's instead of an order's: ``order_id``
  becomes nullable, ``withdrawal_id`` is added, and ``ck_earning_subject`` says each row is
  exactly one of the two. The ledger stays append-only (0006's trigger is untouched); an
  accrual still names its order, as before. Keys restrict, as every money record's (0280).
- ``idx_earning_withdrawal`` holds the withdrawal rows only (the accruals never read it).

Nothing existing is rewritten: dropping NOT NULL and adding a nullable column read no row.
"""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from migrations._state import StateOnly
from models.growth import EarningEvent, EarningKind, WithdrawalStatus

FORWARD = ";\n".join(
    [
        """CREATE TABLE "withdrawals" (
    "id" UUID NOT NULL PRIMARY KEY,
    "earner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "amount" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'requested',
    "partner_trade_no" VARCHAR(32) NOT NULL UNIQUE,
    "openid" VARCHAR(128) NOT NULL,
    "reason" VARCHAR(255) NOT NULL DEFAULT '',
    "fail_code" VARCHAR(32) NOT NULL DEFAULT '',
    "payment_no" VARCHAR(64) NOT NULL DEFAULT '',
    "decided_by_id" UUID REFERENCES "users" ("id") ON DELETE RESTRICT,
    "decided_at" TIMESTAMPTZ,
    "settled_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "ck_withdrawal_amount" CHECK (amount >= 100)
)""",
        'CREATE INDEX "idx_withdrawal_status" ON "withdrawals" ("status")',
        'CREATE INDEX "idx_withdrawal_earner" ON "withdrawals" ("earner_id", "created_at")',
        'CREATE INDEX "idx_withdrawal_decided_by" ON "withdrawals" ("decided_by_id") '
        'WHERE "decided_by_id" IS NOT NULL',
        'CREATE UNIQUE INDEX "uq_withdrawal_open" ON "withdrawals" ("earner_id") '
        "WHERE status IN ('requested', 'approved')",
        'ALTER TABLE "earnings_ledger" ALTER COLUMN "order_id" DROP NOT NULL, '
        'ADD COLUMN "withdrawal_id" UUID REFERENCES "withdrawals" ("id") ON DELETE RESTRICT, '
        'ADD CONSTRAINT "ck_earning_subject" CHECK ((order_id IS NULL) <> (withdrawal_id IS NULL))',
        'CREATE INDEX "idx_earning_withdrawal" ON "earnings_ledger" ("withdrawal_id") '
        'WHERE "withdrawal_id" IS NOT NULL',
    ]
)
BACKWARD = ";\n".join(
    [
        'DROP INDEX "idx_earning_withdrawal"',
        'ALTER TABLE "earnings_ledger" DROP CONSTRAINT "ck_earning_subject", '
        'DROP COLUMN "withdrawal_id", ALTER COLUMN "order_id" SET NOT NULL',
        'DROP TABLE "withdrawals"',
    ]
)


def _restricting(to: str, related_name: str, *, null: bool, name: str) -> fields.Field:
    return fields.ForeignKeyField(
        f"models.{to}",
        source_field=f"{name}_id",
        null=null,
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=OnDelete.RESTRICT,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0330_a_review_reply_names_who_wrote_it")]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
        StateOnly(
            ops.CreateModel(
                name="Withdrawal",
                fields=[
                    (
                        "id",
                        fields.UUIDField(
                            primary_key=True, default=uuid4, unique=True, db_index=True
                        ),
                    ),
                    ("earner", _restricting("User", "withdrawals", null=False, name="earner")),
                    ("amount", fields.IntField()),
                    (
                        "status",
                        fields.CharEnumField(
                            enum_type=WithdrawalStatus,
                            max_length=16,
                            default=WithdrawalStatus.REQUESTED,
                            db_index=True,
                        ),
                    ),
                    ("partner_trade_no", fields.CharField(unique=True, max_length=32)),
                    ("openid", fields.CharField(max_length=128)),
                    ("reason", fields.CharField(default="", max_length=255)),
                    ("fail_code", fields.CharField(default="", max_length=32)),
                    ("payment_no", fields.CharField(default="", max_length=64)),
                    (
                        "decided_by",
                        _restricting("User", "withdrawals_decided", null=True, name="decided_by"),
                    ),
                    ("decided_at", fields.DatetimeField(null=True)),
                    ("settled_at", fields.DatetimeField(null=True)),
                    ("created_at", fields.DatetimeField()),
                ],
                options={
                    "table": "withdrawals",
                    "app": "models",
                    "constraints": [
                        CheckConstraint(check="amount >= 100", name="ck_withdrawal_amount")
                    ],
                    "pk_attr": "id",
                    "table_description": "A payout (提现) of available earnings to the "
                    "earner's WeChat 零钱 (企业付款到零钱).",
                },
                bases=["Model"],
            ),
            ops.AlterField(
                model_name="EarningEntry",
                name="order",
                field=_restricting("Order", "earnings", null=True, name="order"),
            ),
            ops.AddField(
                model_name="EarningEntry",
                name="withdrawal",
                field=_restricting("Withdrawal", "entries", null=True, name="withdrawal"),
            ),
            ops.AlterField(
                model_name="EarningEntry",
                name="kind",
                field=fields.CharEnumField(enum_type=EarningKind, max_length=16),
            ),
            ops.AlterField(
                model_name="EarningEntry",
                name="event",
                field=fields.CharEnumField(enum_type=EarningEvent, max_length=16),
            ),
        ),
    ]
