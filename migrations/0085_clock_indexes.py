"""The clock's look-ups (services/due_rows.py): only the open rows, by their deadlines.

The time indexes also hold every settled team, paid seat and finished order, whose times lie in
the past, so "the earliest open one" walked the whole history first (a million settled teams:
0.4 s a look-up). These partial indexes hold only the rows still waiting, so they stay as small
as the pending work. due_rows.py writes each state out in its statements' text, as the partial
indexes' predicates need.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = """
CREATE INDEX IF NOT EXISTS "idx_teams_open_deadline" ON "teams" ("deadline_at")
    WHERE "status" = 'open';
CREATE INDEX IF NOT EXISTS "idx_seats_reserved_until" ON "seats" ("reserved_until")
    WHERE "status" = 'reserved';
CREATE INDEX IF NOT EXISTS "idx_orders_unpaid_until" ON "orders" ("reserved_until")
    WHERE "status" = 'pending_payment';
"""

DROP = """
DROP INDEX IF EXISTS "idx_teams_open_deadline";
DROP INDEX IF EXISTS "idx_seats_reserved_until";
DROP INDEX IF EXISTS "idx_orders_unpaid_until";
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0080_pay_order_function")]

    initial = False

    operations = [ops.RunSQL(INDEXES, reverse_sql=DROP)]
