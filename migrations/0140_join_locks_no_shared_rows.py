"""A join no longer locks the rows every join shares: four foreign keys go from the database.

A foreign-key check locks the parent row (``FOR KEY SHARE``). A join inserts an order and a
seat, and four of their keys point at rows that every join of a campaign shares: the order's
campaign, community and SKU, and the seat's campaign. Under concurrent joins each of those
locks is added to the other open joins' locks on the same row, so PostgreSQL makes a new
multixact for every join, per row, and every read of those rows (the join reads the campaign
and the SKU) looks the multixact up. Measured at the database, 16 connections joining one
campaign: about 12 % of a join's PostgreSQL CPU (BENCHMARKS.md, round 5 join).

Why the database loses nothing it relied on:

- No door deletes a campaign, a community or a SKU, so the constraints' ``ON DELETE CASCADE``
  never ran; a campaign deleted by hand still takes its teams, and with them their orders
  and seats (``orders.team_id`` and ``seats.team_id`` keep their constraints).
- Every insert takes these ids from a row it has just read: a join and a start from the
  campaign row (``qunshop_join_team``, services/groupbuy.py), the direct, bargain and flash
  orders from the SKU they take stock from with a checked conditional update, and the
  community from the SKU's product or a look-up that refuses an unknown one.
- An order's SKU is also checked by the ``orders_list_price`` trigger (0030): it reads the
  SKU's price into ``list_price``, which is NOT NULL, so an unknown SKU still fails the insert.
- A seat's campaign is its team's, whose own constraint stays (the join reads it from there).

The keys that stay on a join's rows point at rows the join holds anyway or alone: the team
(its seat count is updated first), the user, and the seat's order (inserted just before).
The models say ``db_constraint=False``, so the ORM still joins along these keys.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

_DROPPED = (
    ("orders", "campaign_id", "campaigns"),
    ("orders", "community_id", "communities"),
    ("orders", "sku_id", "skus"),
    ("seats", "campaign_id", "campaigns"),
)

FORWARD = ";\n".join(
    f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_{column}_fkey"'
    for table, column, _ in _DROPPED
)
BACKWARD = ";\n".join(
    f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_fkey" FOREIGN KEY ("{column}") '
    f'REFERENCES "{parent}" ("id") ON DELETE CASCADE'
    for table, column, parent in _DROPPED
)

# The models' fields, as they now read (models/order.py, models/groupbuy.py).
_FIELDS = (
    ("Order", "campaign_id", "models.Campaign", True, "orders"),
    ("Order", "community_id", "models.Community", True, "orders"),
    ("Order", "sku_id", "models.Sku", False, "orders"),
    ("Seat", "campaign_id", "models.Campaign", False, "seats"),
)


class Migration(migrations.Migration):
    dependencies = [("models", "0121_orders_indexes_a_join_skips")]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
        *(
            StateOnly(
                ops.AlterField(
                    model_name=model,
                    name=column.removesuffix("_id"),
                    field=fields.ForeignKeyField(
                        parent,
                        source_field=column,
                        null=null,
                        db_constraint=False,
                        to_field="id",
                        related_name=related,
                        on_delete=fields.CASCADE,
                    ),
                )
            )
            for model, column, parent, null, related in _FIELDS
        ),
    ]
