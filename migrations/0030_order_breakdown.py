"""Every order keeps its price breakdown, and the database makes it add up.

- ``orders`` gains list_price, member_off, coupon_off, points_used, points_off,
  new_user_offer and prepaid_at; ``ck_order_breakdown`` holds
  amount = unit_price * quantity - member_off - coupon_off - points_off (points_off =
  points_used: 100 points are one yuan).
- ``list_price`` is written by the database, from the SKU's price at the insert (trigger
  ``orders_list_price``): whatever door creates the order (``qunshop_join_team`` too), the
  list price it keeps is one the SKU really had.
- ``sku_prices``: every price a SKU took, written by a trigger on ``skus``.
- A payment honoured on an order carries exactly the order's amount (trigger
  ``payments_match_order``), and once an order is no longer awaiting payment its breakdown
  cannot change (trigger ``orders_price_fixed``).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

# As it stood here (0033 adds the delivery fee): a migration keeps its own text.
BREAKDOWN = (
    "member_off >= 0 AND coupon_off >= 0 AND points_off >= 0 AND points_off = points_used "
    "AND amount::bigint = unit_price::bigint * quantity - member_off - coupon_off - points_off"
)

_NEW_COLUMNS = ("list_price", "member_off", "coupon_off", "points_used", "points_off")

FORWARD = [
    *(f'ALTER TABLE "orders" ALTER COLUMN "{c}" SET DEFAULT 0' for c in _NEW_COLUMNS),
    'ALTER TABLE "orders" ALTER COLUMN "new_user_offer" SET DEFAULT false',
    'UPDATE "orders" o SET list_price = s.price FROM "skus" s WHERE s.id = o.sku_id',
    """CREATE FUNCTION qunshop_orders_list_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT price INTO NEW.list_price FROM skus WHERE id = NEW.sku_id;
    RETURN NEW;
END $$""",
    'CREATE TRIGGER "orders_list_price" BEFORE INSERT ON "orders" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_orders_list_price()",
    """CREATE FUNCTION qunshop_orders_price_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending_payment' AND (
        NEW.amount, NEW.unit_price, NEW.quantity, NEW.list_price, NEW.member_off,
        NEW.coupon_off, NEW.points_used, NEW.points_off
    ) IS DISTINCT FROM (
        OLD.amount, OLD.unit_price, OLD.quantity, OLD.list_price, OLD.member_off,
        OLD.coupon_off, OLD.points_used, OLD.points_off
    ) THEN
        RAISE EXCEPTION 'the price of an order no longer awaiting payment is fixed';
    END IF;
    RETURN NEW;
END $$""",
    'CREATE TRIGGER "orders_price_fixed" BEFORE UPDATE ON "orders" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_orders_price_fixed()",
    """CREATE FUNCTION qunshop_payments_match_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.outcome = 'honoured'
       AND NEW.amount IS DISTINCT FROM (SELECT amount FROM orders WHERE id = NEW.order_id) THEN
        RAISE EXCEPTION 'an honoured payment carries exactly its order''s amount';
    END IF;
    RETURN NEW;
END $$""",
    'CREATE TRIGGER "payments_match_order" BEFORE INSERT OR UPDATE ON "payments" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_payments_match_order()",
    """CREATE FUNCTION qunshop_sku_prices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.price IS DISTINCT FROM OLD.price THEN
        UPDATE sku_prices SET until = now() WHERE sku_id = NEW.id AND until IS NULL;
        INSERT INTO sku_prices (sku_id, price, since) VALUES (NEW.id, NEW.price, now());
    END IF;
    RETURN NULL;
END $$""",
    'CREATE TRIGGER "sku_prices" AFTER INSERT OR UPDATE OF price ON "skus" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_sku_prices()",
    'INSERT INTO "sku_prices" (sku_id, price, since) SELECT id, price, now() FROM "skus"',
    'CREATE INDEX "ix_sku_prices_sku" ON "sku_prices" (sku_id, since)',
]
BACKWARD = [
    'DROP TRIGGER "sku_prices" ON "skus"',
    "DROP FUNCTION qunshop_sku_prices()",
    'DROP TRIGGER "payments_match_order" ON "payments"',
    "DROP FUNCTION qunshop_payments_match_order()",
    'DROP TRIGGER "orders_price_fixed" ON "orders"',
    "DROP FUNCTION qunshop_orders_price_fixed()",
    'DROP TRIGGER "orders_list_price" ON "orders"',
    "DROP FUNCTION qunshop_orders_list_price()",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


def _money() -> fields.IntField:
    return fields.IntField(default=0)


class Migration(migrations.Migration):
    dependencies = [("models", "0020_stock_slices")]

    initial = False

    operations = [
        *(ops.AddField(model_name="Order", name=c, field=_money()) for c in _NEW_COLUMNS),
        ops.AddField(
            model_name="Order", name="new_user_offer", field=fields.BooleanField(default=False)
        ),
        ops.AddField(model_name="Order", name="prepaid_at", field=fields.DatetimeField(null=True)),
        ops.CreateModel(
            name="SkuPrice",
            fields=[
                ("id", fields.BigIntField(primary_key=True)),
                (
                    "sku",
                    fields.ForeignKeyField(
                        "models.Sku",
                        source_field="sku_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="price_history",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("price", fields.IntField()),
                ("since", fields.DatetimeField()),
                ("until", fields.DatetimeField(null=True)),
            ],
            options={
                "table": "sku_prices",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One row per price a SKU took; ``until`` None: its price "
                "now (migration 0030).",
            },
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
        ops.AddConstraint(
            model_name="Order",
            constraint=CheckConstraint(check=BREAKDOWN, name="ck_order_breakdown"),
        ),
    ]
