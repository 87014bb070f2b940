"""Bargains (砍价): an admin opens a SKU for bargaining; a user starts one; friends cut.

A bargain's price only goes down, by cuts drawn on the server (services/bargains.py), and
never below its floor: CHECK constraints keep ``floor_price <= price_now <= start_price``
and ``cuts_made <= cuts_needed``; unique keys keep one cut per helper per bargain and one
live bargain per starter per offer.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class BargainOffer(Model):
    """A SKU opened for bargaining: the floor, how many helpers, how long each bargain runs."""

    id = fields.UUIDField(primary_key=True)
    sku = fields.ForeignKeyField(
        "models.Sku", related_name="bargain_offers", on_delete=fields.RESTRICT
    )
    floor_price = fields.IntField()  # fen: what the last needed cut reaches
    helpers_needed = fields.IntField()
    hours = fields.IntField()
    new_users_only = fields.BooleanField(default=False)  # only people who never paid may cut
    active = fields.BooleanField(default=True)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="bargain_offers_opened", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bargain_offers"
        constraints = (
            CheckConstraint(check="floor_price >= 0", name="ck_bargain_offer_floor"),
            CheckConstraint(
                check="helpers_needed BETWEEN 1 AND 500", name="ck_bargain_offer_helpers"
            ),
            CheckConstraint(check="hours BETWEEN 1 AND 720", name="ck_bargain_offer_hours"),
        )


class BargainStatus(StrEnum):
    OPEN = "open"  # cutting, or reached, and not bought yet
    ORDERED = "ordered"  # the starter's order exists (pending payment or paid)
    EXPIRED = "expired"  # the deadline passed unbought


class Bargain(Model):
    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)  # the shared card's code
    offer = fields.ForeignKeyField(
        "models.BargainOffer", related_name="bargains", on_delete=fields.RESTRICT
    )
    starter = fields.ForeignKeyField(
        "models.User", related_name="bargains_started", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField("models.Sku", related_name="bargains", on_delete=fields.RESTRICT)
    start_price = fields.IntField()  # fen: the SKU's price when it started
    floor_price = fields.IntField()
    price_now = fields.IntField()
    cuts_needed = fields.IntField()
    cuts_made = fields.IntField(default=0)
    new_users_only = fields.BooleanField(default=False)
    status = fields.CharEnumField(
        BargainStatus, max_length=16, default=BargainStatus.OPEN, db_index=True
    )
    deadline_at = fields.DatetimeField(db_index=True)
    order = fields.ForeignKeyField(
        "models.Order", related_name="bargains", null=True, on_delete=fields.RESTRICT
    )
    chat_id = fields.CharField(max_length=128, null=True)  # the group chat it started in
    created_at = fields.DatetimeField()

    class Meta:
        table = "bargains"
        constraints = (
            CheckConstraint(
                check="floor_price <= price_now AND price_now <= start_price",
                name="ck_bargain_price",
            ),
            CheckConstraint(
                check="cuts_made >= 0 AND cuts_made <= cuts_needed", name="ck_bargain_cuts"
            ),
            # One live bargain per starter per offer.
            UniqueConstraint(
                fields=("offer_id", "starter_id"),
                name="uq_bargain_live_per_starter",
                condition="status <> 'expired'",
            ),
        )


class BargainCut(Model):
    id = fields.UUIDField(primary_key=True)
    bargain = fields.ForeignKeyField("models.Bargain", related_name="cuts")
    helper = fields.ForeignKeyField(
        "models.User", related_name="bargain_cuts", on_delete=fields.RESTRICT
    )
    seq = fields.IntField()  # 1 for the first cut
    amount = fields.IntField()  # fen
    created_at = fields.DatetimeField()

    class Meta:
        table = "bargain_cuts"
        constraints = (
            CheckConstraint(check="amount > 0", name="ck_bargain_cut_amount"),
            UniqueConstraint(fields=("bargain_id", "helper_id"), name="uq_bargain_cut_helper"),
            UniqueConstraint(fields=("bargain_id", "seq"), name="uq_bargain_cut_seq"),
        )
