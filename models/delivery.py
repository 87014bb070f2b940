"""The daily wave: a community's order cut-off, and the delivery batches cut at it."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class DeliveryPlan(Model):
    """When a community's orders close for the next delivery, and whether it delivers home.

    ``next_cutoff_at`` (UTC) is the deadline the clock reads; setting the plan computes it
    from ``cutoff`` (local "HH:MM" in the community's time zone), each cut advances it.
    """

    id = fields.UUIDField(primary_key=True)
    community = fields.OneToOneField("models.Community", related_name="delivery_plan")
    cutoff = fields.CharField(max_length=5)  # "HH:MM", the community's local time
    next_cutoff_at = fields.DatetimeField(null=True, db_index=True)
    home_delivery = fields.BooleanField(default=False)
    delivery_fee = fields.IntField(default=0)  # fen, per home-delivered order
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "delivery_plans"
        constraints = (CheckConstraint(check="delivery_fee >= 0", name="ck_delivery_plan_fee"),)


class BatchStatus(StrEnum):
    DISPATCHED = "dispatched"  # cut and sent on its way to the pickup point
    ARRIVED = "arrived"  # the leader's 到货, with counts
    CLOSED = "closed"  # nothing is waiting any more


class DeliveryBatch(Model):
    """The orders one pickup point receives in one delivery: cut once per cut-off."""

    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="batches", on_delete=fields.RESTRICT
    )
    pickup_point = fields.ForeignKeyField(
        "models.PickupPoint", related_name="batches", null=True, on_delete=fields.RESTRICT
    )
    cutoff_at = fields.DatetimeField()
    delivery_date = fields.DateField(db_index=True)  # the community's local date
    status = fields.CharEnumField(BatchStatus, max_length=16, default=BatchStatus.DISPATCHED)
    orders = fields.IntField()
    units = fields.IntField()
    created_at = fields.DatetimeField()
    arrived_at = fields.DatetimeField(null=True)
    arrival = fields.ForeignKeyField(
        "models.Arrival", related_name="batches", null=True, on_delete=fields.RESTRICT
    )
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_batches"
        constraints = (
            UniqueConstraint(fields=("community_id", "cutoff_at"), name="uq_batch_cutoff"),
        )


class BatchOrder(Model):
    """One order of a batch, a line of the pick list. An order is in one batch at most."""

    id = fields.UUIDField(primary_key=True)
    batch = fields.ForeignKeyField(
        "models.DeliveryBatch", related_name="lines", on_delete=fields.RESTRICT
    )
    order = fields.OneToOneField(
        "models.Order", related_name="batch_line", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField(
        "models.Sku", related_name="batch_lines", on_delete=fields.RESTRICT
    )
    supplier = fields.ForeignKeyField(
        "models.Supplier", related_name="batch_lines", null=True, on_delete=fields.RESTRICT
    )
    quantity = fields.IntField()
    short = fields.BooleanField(default=False)  # not filled at arrival: refunded

    class Meta:
        table = "batch_orders"


class BatchShortage(Model):
    """A SKU that arrived short, as the leader counted it at 到货."""

    id = fields.UUIDField(primary_key=True)
    batch = fields.ForeignKeyField(
        "models.DeliveryBatch", related_name="shortages", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField("models.Sku", related_name="shortages", on_delete=fields.RESTRICT)
    ordered = fields.IntField()
    short = fields.IntField()
    refunded_orders = fields.IntField()

    class Meta:
        table = "batch_shortages"
        constraints = (
            UniqueConstraint(fields=("batch_id", "sku_id"), name="uq_batch_shortage"),
            CheckConstraint(check="short >= 1 AND short <= ordered", name="ck_batch_short"),
        )


class Address(Model):
    """A shopper's delivery address. The recipient's name and phone are sealed with the
    settings' key (services/personal.py), the row's id bound in: never in the clear."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="addresses")
    recipient_sealed = fields.TextField(default="")
    phone_sealed = fields.TextField(default="")
    detail = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()

    class Meta:
        table = "addresses"


class HomeStatus(StrEnum):
    PENDING = "pending"  # waiting for the goods to reach the leader
    DISPATCHED = "dispatched"  # on its way to the buyer, with a tracking number
    DELIVERED = "delivered"


class HomeDelivery(Model):
    """An order delivered to the buyer's door instead of picked up, for a fee. The
    recipient's name and phone are sealed as an ``Address``'s are, under this row's id."""

    id = fields.UUIDField(primary_key=True)
    order = fields.OneToOneField(
        "models.Order", related_name="home_delivery", on_delete=fields.RESTRICT
    )
    recipient_sealed = fields.TextField(default="")
    phone_sealed = fields.TextField(default="")
    address = fields.CharField(max_length=255)
    fee = fields.IntField()  # fen, added to the order's amount
    status = fields.CharEnumField(HomeStatus, max_length=16, default=HomeStatus.PENDING)
    tracking_no = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    dispatched_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "home_deliveries"
        constraints = (CheckConstraint(check="fee >= 0", name="ck_home_delivery_fee"),)
