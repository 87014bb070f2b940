"""Moderation: the word lists operators edit, the queue of held and reported items, image
checks waiting on WeChat's verdict, and offences that mute a person for a while."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class ItemStatus(StrEnum):
    WAITING = "waiting"  # out of sight until WeChat's image verdicts come back
    REVIEW = "review"  # out of sight (or reported) until an operator decides
    APPROVED = "approved"
    REJECTED = "rejected"


class BannedWord(Model):
    id = fields.UUIDField(primary_key=True)
    word = fields.CharField(max_length=64, unique=True)  # normalised (services/moderation.py)
    category = fields.CharField(max_length=32, default="")  # the reason a refusal names
    created_at = fields.DatetimeField()

    class Meta:
        table = "banned_words"


class ModerationItem(Model):
    """One thing a person said (a review, a post, a 公告, a nickname ...) that waits on a
    verdict or was reported: one row per item, so reports and checks gather on it."""

    id = fields.UUIDField(primary_key=True)
    kind = fields.CharField(max_length=16)  # models.moderation KINDS in services/moderation.py
    ref = fields.CharField(max_length=64)  # the item's id in its own table
    author = fields.ForeignKeyField(
        "models.User", related_name="moderation_items", null=True, on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="moderation_items", null=True
    )
    text = fields.TextField(default="")
    images = fields.JSONField(default=list)
    status = fields.CharEnumField(ItemStatus, max_length=16, db_index=True)
    reason = fields.CharField(max_length=255, default="")  # why it was held
    reports = fields.IntField(default=0)
    payload = fields.JSONField(default=dict)  # what approval does (a 公告's group, a nickname)
    created_at = fields.DatetimeField(db_index=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by_id = fields.UUIDField(null=True)

    class Meta:
        table = "moderation_items"
        constraints = (UniqueConstraint(fields=("kind", "ref"), name="uq_moderation_item"),)


class MediaCheck(Model):
    """An image sent to mediaCheckAsync; WeChat's push finds it by trace_id."""

    id = fields.UUIDField(primary_key=True)
    item = fields.ForeignKeyField("models.ModerationItem", related_name="media_checks")
    trace_id = fields.CharField(max_length=128, unique=True)
    url = fields.CharField(max_length=512)
    suggest = fields.CharField(max_length=16, null=True)  # None until the push arrives
    label = fields.IntField(null=True)
    checked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "media_checks"


class ContentReport(Model):
    id = fields.UUIDField(primary_key=True)
    item = fields.ForeignKeyField("models.ModerationItem", related_name="report_rows")
    reporter = fields.ForeignKeyField(
        "models.User", related_name="content_reports", on_delete=fields.RESTRICT
    )
    reason = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "content_reports"
        constraints = (
            UniqueConstraint(fields=("item_id", "reporter_id"), name="uq_content_report"),
        )


class Offence(Model):
    """Something of a person's refused (a banned word, a risky verdict, a rejection)."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="offences")
    reason = fields.CharField(max_length=255)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "offences"


class Mute(Model):
    user = fields.OneToOneField("models.User", related_name="mute", primary_key=True)
    until = fields.DatetimeField()
    reason = fields.CharField(max_length=255)

    class Meta:
        table = "mutes"


class Shown(StrEnum):
    """Whether a piece of community content (a review, a post ...) is shown."""

    VISIBLE = "visible"
    HELD = "held"  # waiting on a verdict: out of sight
    REMOVED = "removed"  # rejected by WeChat or an operator
