from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class Community(Model):
    """A group chat run by a leader, with a pickup point."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=64)
    leader = fields.ForeignKeyField(
        "models.User", related_name="led_communities", on_delete=fields.RESTRICT
    )
    # The platform's id of the bound group chat (WeCom chatid, or a mini-program opengid).
    chat_id = fields.CharField(max_length=128, null=True, unique=True)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    # The WeCom group robot's webhook key: how the bot speaks in the group unprompted.
    robot_key = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "communities"


class PickupPoint(Model):
    id = fields.UUIDField(primary_key=True)
    community = fields.OneToOneField("models.Community", related_name="pickup_point")
    name = fields.CharField(max_length=64)
    address = fields.CharField(max_length=255)
    hours = fields.CharField(max_length=64, default="")

    class Meta:
        table = "pickup_points"


class Membership(Model):
    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="memberships")
    community = fields.ForeignKeyField("models.Community", related_name="memberships")
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        constraints = (UniqueConstraint(fields=("user_id", "community_id"), name="uq_membership"),)
