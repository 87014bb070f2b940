"""Orders and their states. Allowed transitions live in services/orders.py."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

BREAKDOWN = (
    "member_off >= 0 AND coupon_off >= 0 AND points_off >= 0 AND points_off = points_used "
    "AND delivery_fee >= 0 AND amount::bigint = "
    "unit_price::bigint * quantity + delivery_fee - member_off - coupon_off - points_off"
)


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID_AWAITING_TEAM = "paid_awaiting_team"
    CONFIRMED = "confirmed"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDING = "refunding"
    REFUNDED = "refunded"


# Paid and not given back: waiting for the team, or on its way to (or with) the buyer.
PAID_STATES = (
    OrderStatus.PAID_AWAITING_TEAM,
    OrderStatus.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.PICKED_UP,
    OrderStatus.COMPLETED,
)


class OrderKind(StrEnum):
    GROUP = "group"
    DIRECT = "direct"
    FLASH = "flash"
    BARGAIN = "bargain"


class Order(Model):
    id = fields.UUIDField(primary_key=True)
    # Sent to WeChat Pay: at most 32 characters, unique per merchant.
    out_trade_no = fields.CharField(max_length=32, unique=True)
    kind = fields.CharEnumField(OrderKind, max_length=16)
    # RESTRICT, as every key of a money or order record (migration 0280): the books outlive
    # whatever they name, and deleting it is refused rather than cascading.
    user = fields.ForeignKeyField("models.User", related_name="orders", on_delete=fields.RESTRICT)
    community = fields.ForeignKeyField(
        "models.Community", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField("models.Sku", related_name="orders", on_delete=fields.RESTRICT)
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    team = fields.ForeignKeyField(
        "models.Team", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    # A flash order's sale (0270; indexed with the buyer where set). RESTRICT: a sale that
    # sold something is part of its orders' record, never deleted from under them.
    flash_sale = fields.ForeignKeyField(
        "models.FlashSale", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    quantity = fields.IntField(default=1)
    unit_price = fields.IntField()  # fen
    amount = fields.IntField()  # fen, what is charged: the breakdown's "paid"
    # The price breakdown (migrations 0030, 0033; ck_order_breakdown makes it add up):
    # amount = unit_price * quantity + delivery_fee - member_off - coupon_off - points_off.
    list_price = fields.IntField(default=0)  # the SKU's price then (set by the database)
    member_off = fields.IntField(default=0)  # fen, a member tier's discount on the price
    coupon_off = fields.IntField(default=0)  # fen, the one coupon's discount
    delivery_fee = fields.IntField(default=0)  # fen, home delivery's fee, charged with the goods
    points_used = fields.IntField(default=0)  # points spent (100 points = 1 yuan)
    points_off = fields.IntField(default=0)  # fen
    new_user_offer = fields.BooleanField(default=False)  # uses a new-user-only coupon
    prepaid_at = fields.DatetimeField(null=True)  # WeChat Pay was asked: the price is fixed
    # Its index holds paid and later orders only (0150): unpaid ones are in
    # idx_orders_unpaid_until.
    status = fields.CharEnumField(
        OrderStatus, max_length=24, default=OrderStatus.PENDING_PAYMENT, db_index=True
    )
    # Read only while unpaid: the partial index idx_orders_unpaid_until (0085, 0121).
    reserved_until = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    picked_up_at = fields.DatetimeField(null=True)
    # 到货: when the leader confirmed the goods at the pickup point (ready for pickup).
    arrived_at = fields.DatetimeField(null=True)
    # The one "your seat is about to lapse" warning of an unpaid order.
    lapse_warned_at = fields.DatetimeField(null=True)
    # The last daily "please pick up" reminder; one a day at most.
    pickup_reminded_at = fields.DatetimeField(null=True)
    # 核销: the code shown at the pickup point (unique index uq_order_pickup_code).
    pickup_code = fields.CharField(max_length=16, null=True)
    # Unique where set: a partial unique index (0121), as are the indexes on paid_at,
    # picked_up_at and pickup_code, which an unpaid order does not enter.
    transaction_id = fields.CharField(max_length=64, null=True, unique=True)
    chat_id = fields.CharField(max_length=128, null=True)  # the group chat it came from
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "orders"
        constraints = (
            CheckConstraint(check="amount >= 0", name="ck_order_amount"),
            CheckConstraint(check="quantity >= 1", name="ck_order_quantity"),
            CheckConstraint(check=BREAKDOWN, name="ck_order_breakdown"),
        )
