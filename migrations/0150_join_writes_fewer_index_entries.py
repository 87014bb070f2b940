"""Three index entries fewer a join: two indexes another index serves as well, and the status
index leaves out unpaid orders.

A join inserts an order (10 index entries) and a seat (7); index upkeep is ~8 % of a join's
CPU at the database (BENCHMARKS.md, round 6 join profile). Every reader of these indexes
was found in services/ and the SQL functions; tests/services/test_join_indexes.py asks
their plans on a large analysed table.

- ``idx_orders_user_community`` (user_id, community_id) goes: its readers (rollups'
  member_stats, segments' member counts and conversions) name one user, and
  ``idx_orders_user_created`` (user_id, created_at) finds that user's few orders as well.
- ``idx_seats_campaign_user`` (campaign_id, user_id) goes: its readers (the join's and a
  start's per-person count) name one user too, which ``idx_seats_user`` finds; the
  "already in an open team" test reads ``uq_seat_open_team_per_user``. No query reads
  seats by campaign alone.
- ``idx_orders_status_33ec6d`` becomes partial, ``WHERE status <> 'pending_payment'``, so a
  new order has no entry in it. Its one reader by status alone,
  ``reminders.send_pickup_reminders`` (``ready_for_pickup``), names another status; the
  readers of unpaid orders (services/due_rows.py, ``reminders.warn_lapsing``) read the
  partial ``idx_orders_unpaid_until`` (0085), which holds exactly the unpaid orders.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = ";\n".join(
    [
        'DROP INDEX "idx_orders_user_community"',
        'DROP INDEX "idx_seats_campaign_user"',
        'DROP INDEX "idx_orders_status_33ec6d"',
        'CREATE INDEX "idx_orders_status_33ec6d" ON "orders" ("status") '
        "WHERE \"status\" <> 'pending_payment'",
    ]
)
BACKWARD = ";\n".join(
    [
        'DROP INDEX "idx_orders_status_33ec6d"',
        'CREATE INDEX "idx_orders_status_33ec6d" ON "orders" ("status")',
        'CREATE INDEX "idx_seats_campaign_user" ON "seats" ("campaign_id", "user_id")',
        'CREATE INDEX "idx_orders_user_community" ON "orders" ("user_id", "community_id")',
    ]
)


class Migration(migrations.Migration):
    dependencies = [("models", "0133_deadline_indexes_need_a_deadline")]

    initial = False

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
