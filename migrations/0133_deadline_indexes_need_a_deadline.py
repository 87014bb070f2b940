"""The clock's partial indexes (0085) no longer offer themselves to look-ups by id.

``UPDATE orders ... WHERE id = $1 AND status = 'pending_payment'`` (prepay's price fix, the pay
function) implies the old predicate ``status = 'pending_payment'``, so the planner could read
the whole partial index and filter by id. While a table has no statistics yet (a new shop, or
the first minute of a burst before autovacuum's ANALYZE), both indexes cost the same and the
smaller partial one won: every prepay walked every unpaid order (2,000 unpaid: ~2,000 buffers
a prepay instead of ~5). Each predicate now also asks for its deadline. A look-up by id does not
imply that; the clock's queries do (``deadline <= $1``, ``min(deadline)``, ``> $2 AND <= $3``),
so they keep their index.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = """
DROP INDEX IF EXISTS "idx_teams_open_deadline";
CREATE INDEX "idx_teams_open_deadline" ON "teams" ("deadline_at")
    WHERE "status" = 'open' AND "deadline_at" IS NOT NULL;
DROP INDEX IF EXISTS "idx_seats_reserved_until";
CREATE INDEX "idx_seats_reserved_until" ON "seats" ("reserved_until")
    WHERE "status" = 'reserved' AND "reserved_until" IS NOT NULL;
DROP INDEX IF EXISTS "idx_orders_unpaid_until";
CREATE INDEX "idx_orders_unpaid_until" ON "orders" ("reserved_until")
    WHERE "status" = 'pending_payment' AND "reserved_until" IS NOT NULL;
"""

PREVIOUS = """
DROP INDEX IF EXISTS "idx_teams_open_deadline";
CREATE INDEX "idx_teams_open_deadline" ON "teams" ("deadline_at") WHERE "status" = 'open';
DROP INDEX IF EXISTS "idx_seats_reserved_until";
CREATE INDEX "idx_seats_reserved_until" ON "seats" ("reserved_until")
    WHERE "status" = 'reserved';
DROP INDEX IF EXISTS "idx_orders_unpaid_until";
CREATE INDEX "idx_orders_unpaid_until" ON "orders" ("reserved_until")
    WHERE "status" = 'pending_payment';
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0132_visits_by_user")]

    initial = False

    operations = [ops.RunSQL(INDEXES, reverse_sql=PREVIOUS)]
