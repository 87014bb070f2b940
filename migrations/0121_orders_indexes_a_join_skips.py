"""Indexes a join no longer maintains: on columns still NULL when an order is made, and two
that another index covers.

Every join inserts an order (16 indexes) and a seat (8). Measured at the database, index
upkeep is about a tenth of a join's CPU there (BENCHMARKS.md, round 4 join).

- ``paid_at``, ``picked_up_at``, ``pickup_code`` and ``transaction_id`` are NULL until an
  order is paid, picked up or given its code: their indexes become partial
  (``WHERE col IS NOT NULL``), so an unpaid order has no entry in them. Every query that
  reads them names a value or a range of the column (``paid_at >= $1``, ``pickup_code = $1``,
  ``picked_up_at__lte``), which implies ``IS NOT NULL``, so its plan can still use them; a
  NULL was never unique or sought, so the two unique indexes keep their meaning (the model's
  ``unique=True`` on ``transaction_id`` still says so).
- ``orders.reserved_until`` and ``seats.reserved_until`` lose their full indexes (the models'
  ``db_index``): every query on them reads only unpaid orders or reserved seats
  (services/due_rows.py, reminders.warn_lapsing), which the partial indexes of 0085 hold.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

_PARTIAL = (
    ("idx_orders_paid_at", "", "paid_at"),
    ("idx_orders_picked_up_at", "", "picked_up_at"),
    ("uq_order_pickup_code", "UNIQUE ", "pickup_code"),
)

FORWARD = ";\n".join(
    [
        *(
            f'DROP INDEX "{name}";\n'
            f'CREATE {unique}INDEX "{name}" ON "orders" ("{col}") WHERE "{col}" IS NOT NULL'
            for name, unique, col in _PARTIAL
        ),
        'ALTER TABLE "orders" DROP CONSTRAINT "orders_transaction_id_key"',
        'CREATE UNIQUE INDEX "orders_transaction_id_key" ON "orders" ("transaction_id") '
        'WHERE "transaction_id" IS NOT NULL',
        'DROP INDEX "idx_orders_reserve_28f7b5"',
        'DROP INDEX "idx_seats_reserve_d3bb7e"',
    ]
)
BACKWARD = ";\n".join(
    [
        'CREATE INDEX "idx_seats_reserve_d3bb7e" ON "seats" ("reserved_until")',
        'CREATE INDEX "idx_orders_reserve_28f7b5" ON "orders" ("reserved_until")',
        'DROP INDEX "orders_transaction_id_key"',
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_transaction_id_key" UNIQUE ("transaction_id")',
        *(
            f'DROP INDEX "{name}";\nCREATE {unique}INDEX "{name}" ON "orders" ("{col}")'
            for name, unique, col in _PARTIAL
        ),
    ]
)


class Migration(migrations.Migration):
    dependencies = [("models", "0120_join_asks_for_member_prices")]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
        StateOnly(
            ops.AlterField(
                model_name="Order", name="reserved_until", field=fields.DatetimeField(null=True)
            )
        ),
        StateOnly(
            ops.AlterField(model_name="Seat", name="reserved_until", field=fields.DatetimeField())
        ),
    ]
