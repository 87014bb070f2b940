"""The funnel's order steps nest: of the orders placed on a day, how many were paid and how
many of those were picked up (``funnel_days.joined_paid``, ``joined_picked_up``).

The funnel read ``joined`` (orders placed that day) beside ``paid`` and ``picked_up`` (orders
paid, picked up that day): three populations on three clocks. An order placed at 23:55 and
paid at 00:05 is joined one day and paid the next, so a day, or a window of days, showed more
paid than placed: a step above 100 %. ``paid`` and ``picked_up`` stay what they were (the
day's money and the day's counter work); the funnel reads the new columns, each a subset of
the step before it (services/rollups.py, services/dashboards.py).

The rows already rolled up are filled from the orders as they are now, by the day each was
placed in the shop's default time zone (``Settings.timezone``, Asia/Shanghai); the clock's
next run recomputes the days it touches in the configured zone.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

NO_CAMPAIGN = "00000000-0000-0000-0000-000000000000"  # models.rollup.NO_CAMPAIGN

BACKFILL = f"""
UPDATE funnel_days f SET joined_paid = o.paid, joined_picked_up = o.picked_up
FROM (
  SELECT community_id, coalesce(campaign_id, '{NO_CAMPAIGN}') AS campaign_id,
         (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
         count(*) FILTER (WHERE paid_at IS NOT NULL) AS paid,
         count(*) FILTER (WHERE paid_at IS NOT NULL AND picked_up_at IS NOT NULL) AS picked_up
  FROM orders WHERE community_id IS NOT NULL GROUP BY 1, 2, 3
) AS o
WHERE f.community_id = o.community_id AND f.campaign_id = o.campaign_id AND f.day = o.day
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0220_member_growth_reads_the_members_orders")]

    initial = False

    operations = [
        ops.AddField(model_name="FunnelDay", name="joined_paid", field=fields.IntField(default=0)),
        ops.AddField(
            model_name="FunnelDay", name="joined_picked_up", field=fields.IntField(default=0)
        ),
        ops.RunSQL(BACKFILL, reverse_sql="SELECT 1"),
    ]
