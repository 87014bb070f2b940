"""A flash order names its sale: ``orders.flash_sale_id``.

Orders had no link to their sale, so a sale's orders were guessed as the flash orders of its
SKU made inside its window (services/flashsale.py ``orders_of``). The guess goes wrong when two
sales of one SKU overlap, or when a sale closed early (its window cut to the close's clock)
sold an order stamped after that clock and a new sale was placed from there: the order is
then counted towards the wrong sale's per-person limit, and its lapse news names the wrong
sale's state. Now the statement that writes flash orders (services/flashtake.py) names the
sale, and every reader goes by it.

- The column is nullable (every other kind of order has none) and its foreign key is
  ``ON DELETE RESTRICT``: a sale that sold something stays with its orders.
- The partial index ``idx_orders_flash_sale (flash_sale_id, user_id)`` holds flash orders
  only (a join writes no entry in it): what a buyer holds in a sale, a lost gate's counts, and
  the foreign key's check.
- Existing flash orders are filled by the old rule where it names exactly one sale; an order
  that no sale's window holds, or that two hold, stays NULL (it counts towards no sale now,
  and its lapse news, if any, says its sale ended).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

_IN_WINDOW = "s.sku_id = o.sku_id AND s.starts_at <= o.created_at AND o.created_at < s.ends_at"

FORWARD = ";\n".join(
    [
        'ALTER TABLE "orders" ADD COLUMN "flash_sale_id" UUID',
        f"""UPDATE "orders" o SET "flash_sale_id" = (
  SELECT s.id FROM "flash_sales" s WHERE {_IN_WINDOW})
WHERE o.kind = 'flash'
  AND (SELECT count(*) FROM "flash_sales" s WHERE {_IN_WINDOW}) = 1""",
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_flash_sale_id_fkey" FOREIGN KEY '
        '("flash_sale_id") REFERENCES "flash_sales" ("id") ON DELETE RESTRICT',
        'CREATE INDEX "idx_orders_flash_sale" ON "orders" ("flash_sale_id", "user_id") '
        'WHERE "flash_sale_id" IS NOT NULL',
    ]
)
BACKWARD = ";\n".join(
    ['DROP INDEX "idx_orders_flash_sale"', 'ALTER TABLE "orders" DROP COLUMN "flash_sale_id"']
)


class Migration(migrations.Migration):
    dependencies = [("models", "0250_funnel_steps_nest")]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
        StateOnly(
            ops.AddField(
                model_name="Order",
                name="flash_sale",
                field=fields.ForeignKeyField(
                    "models.FlashSale",
                    source_field="flash_sale_id",
                    null=True,
                    db_constraint=True,
                    to_field="id",
                    related_name="orders",
                    on_delete=OnDelete.RESTRICT,
                ),
            )
        ),
    ]
