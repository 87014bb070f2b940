"""The clock's records: scheduled community activities, reminders sent, points, job runs."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class ActivityKind(StrEnum):
    ANNOUNCEMENT = "announcement"
    CHECKIN = "checkin"  # 签到: opens the day's check-in and posts it
    FLASH_SALE = "flash_sale"  # 秒杀
    EARNINGS_STATEMENT = "earnings_statement"


class Activity(Model):
    """Something a leader scheduled for their group: once (run_at) or recurring (cron)."""

    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="activities", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(ActivityKind, max_length=24)
    title = fields.CharField(max_length=128, default="")
    payload = fields.JSONField(default=dict)  # text, sku_id, price, stock, per_user_limit ...
    cron = fields.CharField(max_length=64, null=True)  # in the community's time zone
    run_at = fields.DatetimeField(null=True)  # one-off
    next_run_at = fields.DatetimeField(null=True, db_index=True)  # None: nothing more to run
    last_run_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="activities_created", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "activities"


class ActivityRun(Model):
    """One firing of an activity: the unique key makes every firing happen once."""

    id = fields.UUIDField(primary_key=True)
    activity = fields.ForeignKeyField("models.Activity", related_name="runs")
    due_at = fields.DatetimeField()
    ran_at = fields.DatetimeField()

    class Meta:
        table = "activity_runs"
        constraints = (UniqueConstraint(fields=("activity_id", "due_at"), name="uq_activity_run"),)


class FlashSale(Model):
    """The stock of a flash sale. A Redis gate admits buyers, this row decides."""

    id = fields.UUIDField(primary_key=True)
    activity = fields.OneToOneField("models.Activity", related_name="flash_sale")
    sku = fields.ForeignKeyField(
        "models.Sku", related_name="flash_sales", on_delete=fields.RESTRICT
    )
    price = fields.IntField()  # fen
    stock = fields.IntField()
    stock_left = fields.IntField()
    per_user_limit = fields.IntField(default=1)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    class Meta:
        table = "flash_sales"
        constraints = (CheckConstraint(check="stock_left >= 0", name="ck_flash_stock_left"),)


class TeamReminder(Model):
    """A "N more needed" reminder posted for a team, at most once per offset."""

    id = fields.UUIDField(primary_key=True)
    team = fields.ForeignKeyField("models.Team", related_name="reminders")
    minutes_before = fields.IntField()
    sent_at = fields.DatetimeField()

    class Meta:
        table = "team_reminders"
        constraints = (
            UniqueConstraint(fields=("team_id", "minutes_before"), name="uq_team_reminder"),
        )


class CheckIn(Model):
    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="checkins")
    community = fields.ForeignKeyField("models.Community", related_name="checkins")
    day = fields.DateField()  # in the community's time zone
    streak = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "checkins"
        constraints = (
            UniqueConstraint(fields=("user_id", "community_id", "day"), name="uq_checkin_day"),
        )


class PointsEntry(Model):
    """Append-only points ledger: a balance is the sum, nothing is ever edited."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="points", on_delete=fields.RESTRICT)
    community = fields.ForeignKeyField(
        "models.Community", related_name="points", null=True, on_delete=fields.RESTRICT
    )
    delta = fields.IntField()
    reason = fields.CharField(max_length=32)
    ref = fields.CharField(max_length=64, unique=True)  # what earned it, once
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "points_ledger"


class JobRun(Model):
    """When a timed job was due and when it ran: the lag the admin page shows."""

    id = fields.UUIDField(primary_key=True)
    job = fields.CharField(max_length=64, db_index=True)
    due_at = fields.DatetimeField()
    ran_at = fields.DatetimeField(db_index=True)
    lag_ms = fields.IntField()
    ok = fields.BooleanField(default=True)
    error = fields.TextField(default="")

    class Meta:
        table = "job_runs"


class SubscribeConsent(Model):
    """One-time subscribe messages a user accepted (wx.requestSubscribeMessage), per template.

    Each acceptance allows one message: ``remaining`` goes up when the mini-program reports
    an acceptance and down, by a checked conditional update, with every message sent.
    """

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="subscribe_consents")
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscribe_consents"
        constraints = (
            UniqueConstraint(fields=("user_id", "template_id"), name="uq_subscribe_consent"),
            CheckConstraint(check="remaining >= 0", name="ck_subscribe_remaining"),
        )
