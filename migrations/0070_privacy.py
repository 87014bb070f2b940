"""People's rights over their data: personal details kept sealed, and erasures recorded."""

import functools
from json import dumps, loads
from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0067_reconciliation")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Erasure",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.OneToOneField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="erasure",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("erased_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "keep_until",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("swept_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "summary",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "erasures", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PersonalDetails",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.OneToOneField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="personal_details",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("phone_sealed", fields.TextField(default="", unique=False)),
                ("real_name_sealed", fields.TextField(default="", unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "personal_details", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
