"""Segments of a community's members (an operator's or leader's rule), the news sent to
them, and who got each message (so sends are counted and later orders attributed)."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class Segment(Model):
    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="segments", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    # {"category": "fruit" | null, "min_orders": 2, "silent_days": 14 | null,
    #  "min_spent": 0, "min_recency_score": 1}: services/segments.py reads it.
    rule = fields.JSONField(default=dict)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="segments_created", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "segments"


class Broadcast(Model):
    """One message sent to a segment's members."""

    id = fields.UUIDField(primary_key=True)
    segment = fields.ForeignKeyField(
        "models.Segment", related_name="broadcasts", on_delete=fields.RESTRICT
    )
    text = fields.CharField(max_length=300)
    template_id = fields.CharField(max_length=64, default="")  # "" : customer service only
    audience = fields.IntField(default=0)  # members the rule matched
    sent = fields.IntField(default=0)
    skipped_consent = fields.IntField(default=0)  # no consent and no 48-hour window
    skipped_quota = fields.IntField(default=0)  # already had news today
    created_by = fields.ForeignKeyField(
        "models.User", related_name="broadcasts_sent", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "broadcasts"


class Delivery(Model):
    """A member a broadcast reached, and how: the base of conversion attribution."""

    id = fields.UUIDField(primary_key=True)
    broadcast = fields.ForeignKeyField("models.Broadcast", related_name="deliveries")
    user = fields.ForeignKeyField(
        "models.User", related_name="deliveries", on_delete=fields.RESTRICT
    )
    via = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "broadcast_deliveries"
        constraints = (UniqueConstraint(fields=("broadcast_id", "user_id"), name="uq_delivery"),)
