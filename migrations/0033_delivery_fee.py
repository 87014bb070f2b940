"""Home delivery's fee is a line of the price breakdown: ``orders.delivery_fee``, in the CHECK
(amount = unit_price * quantity + delivery_fee - member_off - coupon_off - points_off) and
fixed with the rest of the price once the order no longer awaits payment."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

BREAKDOWN = (
    "member_off >= 0 AND coupon_off >= 0 AND points_off >= 0 AND points_off = points_used "
    "AND delivery_fee >= 0 AND amount::bigint = "
    "unit_price::bigint * quantity + delivery_fee - member_off - coupon_off - points_off"
)

_PRICE_FIXED = """CREATE OR REPLACE FUNCTION qunshop_orders_price_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending_payment' AND (
        NEW.amount, NEW.unit_price, NEW.quantity, NEW.list_price, NEW.member_off,
        NEW.coupon_off, NEW.points_used, NEW.points_off{fee_new}
    ) IS DISTINCT FROM (
        OLD.amount, OLD.unit_price, OLD.quantity, OLD.list_price, OLD.member_off,
        OLD.coupon_off, OLD.points_used, OLD.points_off{fee_old}
    ) THEN
        RAISE EXCEPTION 'the price of an order no longer awaiting payment is fixed';
    END IF;
    RETURN NEW;
END $$"""


class Migration(migrations.Migration):
    dependencies = [("models", "0032_points_balances")]

    initial = False

    operations = [
        ops.AddField(model_name="Order", name="delivery_fee", field=fields.IntField(default=0)),
        # The database's own default too: the join and start functions insert orders in SQL.
        ops.RunSQL(
            'ALTER TABLE "orders" ALTER COLUMN "delivery_fee" SET DEFAULT 0',
            reverse_sql='ALTER TABLE "orders" ALTER COLUMN "delivery_fee" DROP DEFAULT',
        ),
        ops.RemoveConstraint(model_name="Order", name="ck_order_breakdown"),
        ops.AddConstraint(
            model_name="Order",
            constraint=CheckConstraint(check=BREAKDOWN, name="ck_order_breakdown"),
        ),
        ops.RunSQL(
            _PRICE_FIXED.format(fee_new=", NEW.delivery_fee", fee_old=", OLD.delivery_fee"),
            reverse_sql=_PRICE_FIXED.format(fee_new="", fee_old=""),
        ),
    ]
