"""Moderation: banned words, the queue of held and reported items, image checks, offences and mutes."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.moderation import ItemStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint


class Migration(migrations.Migration):
    dependencies = [("models", "0040_bargains_and_tiers")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BannedWord",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("word", fields.CharField(unique=True, max_length=64)),
                ("category", fields.CharField(default="", max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "banned_words", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ModerationItem",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("ref", fields.CharField(max_length=64)),
                (
                    "author",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="moderation_items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "community",
                    fields.ForeignKeyField(
                        "models.Community",
                        source_field="community_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="moderation_items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("text", fields.TextField(default="", unique=False)),
                (
                    "images",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        db_index=True,
                        description="WAITING: waiting\nREVIEW: review\nAPPROVED: approved\nREJECTED: rejected",
                        enum_type=ItemStatus,
                        max_length=16,
                    ),
                ),
                ("reason", fields.CharField(default="", max_length=255)),
                ("reports", fields.IntField(default=0)),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("decided_by_id", fields.UUIDField(null=True)),
            ],
            options={
                "table": "moderation_items",
                "app": "models",
                "constraints": [
                    UniqueConstraint(fields=("kind", "ref"), name="uq_moderation_item")
                ],
                "pk_attr": "id",
                "table_description": "One thing a person said (a review, a post, a 公告, a nickname ...) that waits on a",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ContentReport",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "item",
                    fields.ForeignKeyField(
                        "models.ModerationItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="report_rows",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "reporter",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="reporter_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="content_reports",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("reason", fields.CharField(default="", max_length=255)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "content_reports",
                "app": "models",
                "constraints": [
                    UniqueConstraint(fields=("item_id", "reporter_id"), name="uq_content_report")
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MediaCheck",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "item",
                    fields.ForeignKeyField(
                        "models.ModerationItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="media_checks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("trace_id", fields.CharField(unique=True, max_length=128)),
                ("url", fields.CharField(max_length=512)),
                ("suggest", fields.CharField(null=True, max_length=16)),
                ("label", fields.IntField(null=True)),
                ("checked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "media_checks",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An image sent to mediaCheckAsync; WeChat's push finds it by trace_id.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Mute",
            fields=[
                (
                    "user",
                    fields.OneToOneField(
                        "models.User",
                        source_field="user_id",
                        primary_key=True,
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="mute",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("until", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("reason", fields.CharField(max_length=255)),
            ],
            options={"table": "mutes", "app": "models", "pk_attr": "user_id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Offence",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="offences",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("reason", fields.CharField(max_length=255)),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "offences",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Something of a person's refused (a banned word, a risky verdict, a rejection).",
            },
            bases=["Model"],
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_moderation_item" ON "moderation_items" (kind, ref)',
            reverse_sql='DROP INDEX "uq_moderation_item"',
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_content_report" ON "content_reports" (item_id, reporter_id)',
            reverse_sql='DROP INDEX "uq_content_report"',
        ),
    ]
