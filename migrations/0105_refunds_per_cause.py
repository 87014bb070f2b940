"""A payment may be refunded several times, each cause once, never beyond what it paid.

- ``refunds.payment_id`` is no longer unique; ``refunds.cause`` names what a refund is for
  (an after-sales request, a claim, a delivery batch's shortage, or the reason itself) and
  ``uq_refund_cause`` keeps one refund per (payment, cause).
- ``payments.refunded`` is what the payment's refunds owe back all told, raised only by a
  checked conditional update (services/refunds.owe); ``ck_payment_refunded`` holds it
  within the payment's amount. Existing rows are filled from the refunds they have.
- ``uq_claim_line_refunded`` (one refunded claim line per order, ever) goes: each claim
  takes its own share once, bounded by what the order paid.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

from migrations._state import StateOnly

SQL = [
    'ALTER TABLE "payments" ADD COLUMN "refunded" INT NOT NULL DEFAULT 0',
    'UPDATE "payments" p SET "refunded" = r.total '
    'FROM (SELECT payment_id, sum(amount) AS total FROM "refunds" GROUP BY payment_id) r '
    "WHERE r.payment_id = p.id",
    'ALTER TABLE "payments" ADD CONSTRAINT "ck_payment_refunded" '
    "CHECK (refunded >= 0 AND refunded <= amount)",
    'ALTER TABLE "refunds" ADD COLUMN "cause" VARCHAR(96)',
    'UPDATE "refunds" SET "cause" = "reason"',
    'ALTER TABLE "refunds" ALTER COLUMN "cause" SET NOT NULL',
    'ALTER TABLE "refunds" DROP CONSTRAINT "refunds_payment_id_key"',
    'ALTER TABLE "refunds" ADD CONSTRAINT "uq_refund_cause" UNIQUE ("payment_id", "cause")',
    'DROP INDEX "uq_claim_line_refunded"',
]
REVERSE_SQL = [
    'CREATE UNIQUE INDEX "uq_claim_line_refunded" ON "claim_lines" (order_id) '
    "WHERE status = 'refunded'",
    'ALTER TABLE "refunds" DROP CONSTRAINT "uq_refund_cause"',
    'ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_key" UNIQUE ("payment_id")',
    'ALTER TABLE "refunds" DROP COLUMN "cause"',
    'ALTER TABLE "payments" DROP COLUMN "refunded"',
]


class Migration(migrations.Migration):
    dependencies = [("models", "0101_audit_actor_erasure")]

    initial = False

    operations = [
        ops.RunSQL(";\n".join(SQL), reverse_sql=";\n".join(REVERSE_SQL)),
        StateOnly(
            ops.AddField(model_name="Payment", name="refunded", field=fields.IntField(default=0))
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="Payment",
                constraint=CheckConstraint(
                    check="refunded >= 0 AND refunded <= amount", name="ck_payment_refunded"
                ),
            )
        ),
        StateOnly(
            ops.AlterField(
                model_name="Refund",
                name="payment",
                field=fields.ForeignKeyField(
                    "models.Payment",
                    source_field="payment_id",
                    db_constraint=True,
                    to_field="id",
                    related_name="refunds",
                    on_delete=OnDelete.CASCADE,
                ),
            )
        ),
        StateOnly(
            ops.AddField(model_name="Refund", name="cause", field=fields.CharField(max_length=96))
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="Refund",
                constraint=UniqueConstraint(fields=("payment_id", "cause"), name="uq_refund_cause"),
            )
        ),
    ]
