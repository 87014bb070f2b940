"""Group-buy campaigns, their teams and the seats in them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


def default_reminders() -> list[int]:
    return [60, 10]


class Campaign(Model):
    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="campaigns", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField("models.Sku", related_name="campaigns", on_delete=fields.RESTRICT)
    title = fields.CharField(max_length=128)
    group_price = fields.IntField()  # fen, what each member pays
    head_price = fields.IntField(null=True)  # fen, the head's perk; None: no perk
    # [{"min_members": 3, "price": 1800}, ...]: everyone pays the tier the team reaches.
    price_tiers = fields.JSONField(default=list)
    team_size = fields.IntField()
    team_hours = fields.IntField(default=24)
    reservation_minutes = fields.IntField(default=15)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    stock_cap = fields.IntField()
    # The reserve: units neither held by seats nor set aside in StockSlices (0020). What is
    # left to sell is services.campaigns.stock_left.
    stock_left = fields.IntField()
    per_user_limit = fields.IntField(default=1)
    guaranteed = fields.BooleanField(default=False)  # merchant completes teams at the deadline
    # Minutes before a team's deadline when the group is reminded "N more needed".
    reminder_minutes = fields.JSONField(default=default_reminders)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="campaigns_created", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    paused_at = fields.DatetimeField(null=True)  # paused by its leader: joins refused (0019)

    class Meta:
        table = "campaigns"
        constraints = (
            CheckConstraint(check="stock_left >= 0", name="ck_campaign_stock_left"),
            CheckConstraint(check="stock_left <= stock_cap", name="ck_campaign_stock_cap"),
            CheckConstraint(check="team_size BETWEEN 2 AND 50", name="ck_campaign_team_size"),
            CheckConstraint(check="group_price >= 0", name="ck_campaign_price"),
        )


class StockSlice(Model):
    """Units set aside from a campaign's reserve (``Campaign.stock_left``), so that joins take
    stock from a few rows, not all from the campaign's (0020's ``qunshop_take_stock``). What is
    left to sell is the reserve plus the slices: ``services.campaigns.stock_left``."""

    id = fields.IntField(primary_key=True)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="stock_slices")
    slot = fields.SmallIntField()
    stock_left = fields.IntField()

    class Meta:
        table = "campaign_stock_slices"
        constraints = (
            UniqueConstraint(fields=("campaign_id", "slot"), name="uq_stock_slice"),
            CheckConstraint(check="stock_left >= 0", name="ck_stock_slice_left"),
        )


class TeamStatus(StrEnum):
    OPEN = "open"  # seats free, waiting for members
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Team(Model):
    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)  # what people type in chat: 参团 <code>
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="teams", on_delete=fields.RESTRICT
    )
    head = fields.ForeignKeyField(
        "models.User", related_name="teams_started", on_delete=fields.RESTRICT
    )
    size = fields.IntField()
    seats_held = fields.IntField(default=0)
    seats_paid = fields.IntField(default=0)
    status = fields.CharEnumField(TeamStatus, max_length=16, default=TeamStatus.OPEN)
    deadline_at = fields.DatetimeField(db_index=True)
    closed_at = fields.DatetimeField(null=True)
    final_price = fields.IntField(null=True)  # fen, settled at close (price tiers)
    chat_id = fields.CharField(max_length=128, null=True)  # the group chat it was started in
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "teams"
        constraints = (
            CheckConstraint(check="seats_held >= 0 AND seats_held <= size", name="ck_team_seats"),
            CheckConstraint(
                check="seats_paid >= 0 AND seats_paid <= seats_held", name="ck_team_paid"
            ),
        )


class SeatStatus(StrEnum):
    RESERVED = "reserved"  # held while the member pays
    PAID = "paid"
    RELEASED = "released"  # the reservation lapsed or the order was cancelled
    # The team failed and the seat's payment went back: it no longer counts against the
    # campaign's per-person limit (which counts reserved and paid seats only).
    REFUNDED = "refunded"


class Seat(Model):
    id = fields.UUIDField(primary_key=True)
    team = fields.ForeignKeyField("models.Team", related_name="seats", on_delete=fields.RESTRICT)
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="seats", on_delete=fields.RESTRICT
    )
    user = fields.ForeignKeyField("models.User", related_name="seats", on_delete=fields.RESTRICT)
    order = fields.OneToOneField("models.Order", related_name="seat", on_delete=fields.RESTRICT)
    is_head = fields.BooleanField(default=False)
    status = fields.CharEnumField(SeatStatus, max_length=16, default=SeatStatus.RESERVED)
    # True while the seat counts toward an unfinished team: one such seat per user per campaign.
    in_open_team = fields.BooleanField(default=True)
    # Read only while reserved: the partial index idx_seats_reserved_until (0085, 0121).
    reserved_until = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seats"
        constraints = (
            UniqueConstraint(
                fields=("campaign_id", "user_id"),
                name="uq_seat_open_team_per_user",
                condition="in_open_team",
            ),
        )
