"""Bargains (砍价: bargain_offers, bargains, bargain_cuts), orders of kind ``bargain``, and
member tiers (tier_levels, tier_rules, member_tiers). CreateModel leaves Meta.constraints out
(see 0003), so the CHECKs and unique keys the models declare are created here."""

import functools
from json import dumps, loads
from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.bargain import BargainStatus
from models.order import OrderKind

CHECKS = [
    ("bargain_offers", "ck_bargain_offer_floor", "floor_price >= 0"),
    ("bargain_offers", "ck_bargain_offer_helpers", "helpers_needed BETWEEN 1 AND 500"),
    ("bargain_offers", "ck_bargain_offer_hours", "hours BETWEEN 1 AND 720"),
    ("bargains", "ck_bargain_price", "floor_price <= price_now AND price_now <= start_price"),
    ("bargains", "ck_bargain_cuts", "cuts_made >= 0 AND cuts_made <= cuts_needed"),
    ("bargain_cuts", "ck_bargain_cut_amount", "amount > 0"),
    ("tier_levels", "ck_tier_threshold", "threshold >= 0"),
    ("tier_levels", "ck_tier_discount", "discount_bps BETWEEN 0 AND 5000"),
    ("tier_levels", "ck_tier_multiplier", "points_multiplier_pct BETWEEN 100 AND 1000"),
    ("tier_rules", "ck_tier_window", "window_days BETWEEN 1 AND 730"),
]
UNIQUES = [
    ("bargains", "uq_bargain_live_per_starter", "offer_id, starter_id", "status <> 'expired'"),
    ("bargain_cuts", "uq_bargain_cut_helper", "bargain_id, helper_id", None),
    ("bargain_cuts", "uq_bargain_cut_seq", "bargain_id, seq", None),
]


async def forward(apps, schema_editor) -> None:
    for table, name, columns, condition in UNIQUES:
        where = f" WHERE {condition}" if condition else ""
        await schema_editor._run_sql(
            f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({columns}){where}'
        )
    for table, name, check in CHECKS:
        await schema_editor._run_sql(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})'
        )


async def backward(apps, schema_editor) -> None:
    for table, name, _check in CHECKS:
        await schema_editor._run_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for _table, name, _columns, _condition in UNIQUES:
        await schema_editor._run_sql(f'DROP INDEX "{name}"')


def _id() -> fields.UUIDField:
    return fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)


def _fk(model: str, source: str, related: str, **kw) -> fields.ForeignKeyField:
    return fields.ForeignKeyField(
        model,
        source_field=source,
        db_constraint=True,
        to_field="id",
        related_name=related,
        on_delete=kw.pop("on_delete", OnDelete.CASCADE),
        **kw,
    )


def _json() -> fields.JSONField:
    return fields.JSONField(
        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0033_delivery_fee")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Order",
            name="kind",
            field=fields.CharEnumField(
                description="GROUP: group\nDIRECT: direct\nFLASH: flash\nBARGAIN: bargain",
                enum_type=OrderKind,
                max_length=16,
            ),
        ),
        ops.CreateModel(
            name="BargainOffer",
            fields=[
                ("id", _id()),
                ("sku", _fk("models.Sku", "sku_id", "bargain_offers")),
                ("floor_price", fields.IntField()),
                ("helpers_needed", fields.IntField()),
                ("hours", fields.IntField()),
                ("new_users_only", fields.BooleanField(default=False)),
                ("active", fields.BooleanField(default=True)),
                ("created_by", _fk("models.User", "created_by_id", "bargain_offers_opened")),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "bargain_offers", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Bargain",
            fields=[
                ("id", _id()),
                ("code", fields.CharField(unique=True, max_length=16)),
                ("offer", _fk("models.BargainOffer", "offer_id", "bargains")),
                ("starter", _fk("models.User", "starter_id", "bargains_started")),
                ("sku", _fk("models.Sku", "sku_id", "bargains")),
                ("start_price", fields.IntField()),
                ("floor_price", fields.IntField()),
                ("price_now", fields.IntField()),
                ("cuts_needed", fields.IntField()),
                ("cuts_made", fields.IntField(default=0)),
                ("new_users_only", fields.BooleanField(default=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default="open",
                        description="OPEN: open\nORDERED: ordered\nEXPIRED: expired",
                        enum_type=BargainStatus,
                        db_index=True,
                        max_length=16,
                    ),
                ),
                ("deadline_at", fields.DatetimeField(db_index=True)),
                ("order", _fk("models.Order", "order_id", "bargains", null=True)),
                ("chat_id", fields.CharField(null=True, max_length=128)),
                ("created_at", fields.DatetimeField()),
            ],
            options={"table": "bargains", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BargainCut",
            fields=[
                ("id", _id()),
                ("bargain", _fk("models.Bargain", "bargain_id", "cuts")),
                ("helper", _fk("models.User", "helper_id", "bargain_cuts")),
                ("seq", fields.IntField()),
                ("amount", fields.IntField()),
                ("created_at", fields.DatetimeField()),
            ],
            options={"table": "bargain_cuts", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TierLevel",
            fields=[
                ("id", _id()),
                ("name", fields.CharField(unique=True, max_length=32)),
                ("threshold", fields.IntField()),
                ("discount_bps", fields.IntField(default=0)),
                ("points_multiplier_pct", fields.IntField(default=100)),
                ("coupon_template_ids", _json()),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "tier_levels", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TierRules",
            fields=[
                ("id", fields.IntField(primary_key=True, unique=True, db_index=True)),
                ("window_days", fields.IntField(default=365)),
                ("lower_mid_month", fields.BooleanField(default=False)),
                ("timezone", fields.CharField(default="Asia/Shanghai", max_length=64)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "tier_rules", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MemberTier",
            fields=[
                ("id", _id()),
                (
                    "user",
                    fields.OneToOneField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="member_tier",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "level",
                    _fk(
                        "models.TierLevel",
                        "level_id",
                        "members",
                        null=True,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("growth", fields.IntField(default=0)),
                ("held_month", fields.CharField(max_length=7)),
                ("recalculated_at", fields.DatetimeField()),
            ],
            options={"table": "member_tiers", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
