"""Deliveries confirmed at a pickup point (到货) and the live share cards of teams."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Arrival(Model):
    """A leader confirmed that a delivery reached the community's pickup point."""

    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="arrivals", on_delete=fields.RESTRICT
    )
    confirmed_by = fields.ForeignKeyField(
        "models.User", related_name="arrivals_confirmed", on_delete=fields.RESTRICT
    )
    orders = fields.IntField()  # how many confirmed orders became ready for pickup
    created_at = fields.DatetimeField()

    class Meta:
        table = "pickup_arrivals"


class TeamCard(Model):
    """A team's updatable share card (动态消息): its activity_id and what it last showed.

    One per team; a new id replaces an expired one. ``sent_state`` and ``sent_members``
    are what WeChat was last told, so a repeated or coalesced update sends nothing new.
    """

    id = fields.UUIDField(primary_key=True)
    team = fields.OneToOneField("models.Team", related_name="card")
    activity_id = fields.CharField(max_length=128)
    expires_at = fields.DatetimeField()
    sent_state = fields.IntField(null=True)  # 0 joining, 1 final
    sent_members = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "team_cards"
