"""Orders' pages keep room for an update of the same row (fillfactor 85).

A prepay sets ``prepaid_at`` (no index reads it): with room on the row's page that is a
heap-only (HOT) update, one WAL record and no index entry; on a full page it is a new row
version elsewhere and a new entry in each of the table's indexes. Packed pages (the default,
100) left about half of the bench's prepays non-HOT (5 WAL records a prepay on average).
Only pages filled from now on keep the room; a shop's older pages stay as they are.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0180_join_seat_by_code_plain_insert")]

    initial = False

    operations = [
        ops.RunSQL(
            'ALTER TABLE "orders" SET (fillfactor = 85)',
            reverse_sql='ALTER TABLE "orders" RESET (fillfactor)',
        ),
    ]
