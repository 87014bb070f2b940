"""One index entry fewer a join: ``idx_orders_campaign`` (0007) goes, as nothing reads it.

No query in services/, scheduler/, web/, miniapp_api/ or the SQL functions reads orders by
their campaign: orders are read by id, trade number, user, team, community, status and
their event times (rollups name ``campaign_id`` only as an output column). The one
remaining reader would be the foreign key's ``ON DELETE CASCADE`` from ``campaigns``, and
no code deletes a campaign (they close); a hand-made delete would scan orders, as it scans
seats since 0150.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0150_join_writes_fewer_index_entries")]

    initial = False

    operations = [
        ops.RunSQL(
            'DROP INDEX "idx_orders_campaign"',
            reverse_sql='CREATE INDEX "idx_orders_campaign" ON "orders" ("campaign_id")',
        )
    ]
