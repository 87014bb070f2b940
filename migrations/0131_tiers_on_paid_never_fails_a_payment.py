"""A payment's tier recalculation without a ladder (services/tiers.on_paid) as a function whose
error is caught and answered, not raised.

The statement ran in the payment's transaction with no savepoint: any PostgreSQL error in it
(a deadlock on the member's row against a refund's recalculation, say) aborted the
transaction and failed the payment, where a tier recalculation must never hold a payment up
(services/tiers.py). A savepoint from Python costs two round trips on every notify; a PL/pgSQL
block with an EXCEPTION clause is the same subtransaction taken inside the one round trip.
``failed`` carries the error's SQLSTATE and message for the caller to log; ``written`` is
the statement's answer as before (true: no ladder, the member's row written).

The statement is services/tiers.py's ``_WITHOUT_LADDER_SQL`` of round 4, unchanged, with
its parameters named.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FUNCTION = """
CREATE FUNCTION qunshop_tiers_without_ladder(
    p_user_id uuid, p_now timestamptz, p_id uuid, p_window_days integer, p_timezone text,
    p_rules_id integer, OUT written boolean, OUT failed text
) LANGUAGE plpgsql AS $$
BEGIN
    WITH r AS (
        SELECT p_now - make_interval(days => coalesce(max(window_days), p_window_days)) AS since,
               to_char(p_now AT TIME ZONE coalesce(max(timezone), p_timezone), 'YYYY-MM')
                   AS month,
               coalesce(max(ladder_version), 0) AS ladder_version
          FROM tier_rules WHERE id = p_rules_id
    )
    INSERT INTO member_tiers AS m
           (id, user_id, level_id, growth, held_month, recalculated_at, ladder_version)
    SELECT p_id, p_user_id, NULL,
           greatest(
               coalesce((
                   SELECT sum(amount) FROM orders WHERE user_id = p_user_id AND paid_at >= r.since
               ), 0)
               - coalesce((
                   SELECT sum(f.amount) FROM refunds f JOIN orders o ON o.id = f.order_id
                    WHERE o.user_id = p_user_id AND o.paid_at >= r.since AND f.status <> 'failed'
               ), 0),
               0
           ),
           r.month, p_now, r.ladder_version
      FROM r
     WHERE NOT EXISTS (SELECT 1 FROM tier_levels)
    ON CONFLICT (user_id) DO UPDATE
       SET level_id = NULL, growth = excluded.growth, held_month = excluded.held_month,
           recalculated_at = excluded.recalculated_at, ladder_version = excluded.ladder_version;
    written := FOUND;
EXCEPTION WHEN OTHERS THEN  -- rolled back alone: the payment stands
    written := false;
    failed := SQLSTATE || ': ' || SQLERRM;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0130_pay_order_completes_the_team")]

    initial = False

    operations = [
        ops.RunSQL(
            FUNCTION,
            reverse_sql="DROP FUNCTION qunshop_tiers_without_ladder"
            "(uuid, timestamptz, uuid, integer, text, integer)",
        ),
    ]
