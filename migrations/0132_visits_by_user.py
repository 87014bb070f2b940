"""A buyer's group visits by time: the paid order's tie to its group (services/earnings.py's
``_CONTEXT_SQL``) asks for one user's latest group visit of the last 24 hours on every paid
order. ``visits`` had no index on ``user_id``: the plan walked every visit of those 24 hours
(``created_at``'s index) for one person's. With (user_id, created_at) it reads the newest
of that person's visits first and stops at the first group one."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0131_tiers_on_paid_never_fails_a_payment")]

    initial = False

    operations = [
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_visits_user_created" ON "visits" '
            '("user_id", "created_at")',
            reverse_sql='DROP INDEX IF EXISTS "idx_visits_user_created"',
        )
    ]
