"""The migration state catches up with the models: constraints, options and fields that
earlier migrations made in SQL (RunSQL) or never wrote down, so that ``makemigrations``
finds nothing (tests/qunshop/test_migrations_agree.py).

Every constraint named here is already in the database (0003, 0006, 0020, 0040, 0065, 0066
made them in SQL): they are taught to the state only (``StateOnly``). Options (table
descriptions, IdempotencyRecord's) change nothing in the database. ``InviteBinding.source``
takes the H5 source its enum gained in 0016 (its column comment follows).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

from migrations._state import StateOnly
from models.growth import VisitSource


class Migration(migrations.Migration):
    dependencies = [("models", "0105_refunds_per_cause")]

    initial = False

    operations = [
        StateOnly(
            ops.AddConstraint(
                model_name="AfterSale",
                constraint=CheckConstraint(check="amount > 0", name="ck_after_sale_amount"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="AfterSale",
                constraint=UniqueConstraint(
                    fields=("order_id",), name="uq_after_sale_open", condition="status = 'pending'"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="Bargain",
                constraint=CheckConstraint(
                    check="floor_price <= price_now AND price_now <= start_price",
                    name="ck_bargain_price",
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="Bargain",
                constraint=CheckConstraint(
                    check="cuts_made >= 0 AND cuts_made <= cuts_needed", name="ck_bargain_cuts"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="Bargain",
                constraint=UniqueConstraint(
                    fields=("offer_id", "starter_id"),
                    name="uq_bargain_live_per_starter",
                    condition="status <> 'expired'",
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainCut",
                constraint=CheckConstraint(check="amount > 0", name="ck_bargain_cut_amount"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainCut",
                constraint=UniqueConstraint(
                    fields=("bargain_id", "helper_id"), name="uq_bargain_cut_helper"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainCut",
                constraint=UniqueConstraint(
                    fields=("bargain_id", "seq"), name="uq_bargain_cut_seq"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="BargainOffer",
            options={
                "table": "bargain_offers",
                "app": "models",
                "constraints": [
                    CheckConstraint(check="floor_price >= 0", name="ck_bargain_offer_floor"),
                    CheckConstraint(
                        check="helpers_needed BETWEEN 1 AND 500", name="ck_bargain_offer_helpers"
                    ),
                    CheckConstraint(check="hours BETWEEN 1 AND 720", name="ck_bargain_offer_hours"),
                ],
                "pk_attr": "id",
                "table_description": "A SKU opened for bargaining: the floor, how many helpers, how long each bargain runs.",
            },
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainOffer",
                constraint=CheckConstraint(check="floor_price >= 0", name="ck_bargain_offer_floor"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainOffer",
                constraint=CheckConstraint(
                    check="helpers_needed BETWEEN 1 AND 500", name="ck_bargain_offer_helpers"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="BargainOffer",
                constraint=CheckConstraint(
                    check="hours BETWEEN 1 AND 720", name="ck_bargain_offer_hours"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="ClaimLine",
            options={
                "table": "claim_lines",
                "app": "models",
                "constraints": [
                    CheckConstraint(check="units > 0 AND amount > 0", name="ck_claim_line_amount"),
                    UniqueConstraint(fields=("claim_id", "order_id"), name="uq_claim_line_order"),
                ],
                "pk_attr": "id",
                "table_description": "One order's share of a claim.",
            },
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="ClaimLine",
                constraint=CheckConstraint(
                    check="units > 0 AND amount > 0", name="ck_claim_line_amount"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="ClaimLine",
                constraint=UniqueConstraint(
                    fields=("claim_id", "order_id"), name="uq_claim_line_order"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="Erasure",
            options={
                "table": "erasures",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An account erased at its owner's request: its personal fields are gone, its orders and",
            },
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="GroupClaim",
                constraint=CheckConstraint(
                    check="units > 0 AND amount > 0", name="ck_group_claim_units"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="IdempotencyRecord",
            options={
                "table": "idempotency_records",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The answer to a request sent with an Idempotency-Key, written in the transaction of",
            },
        ),
        ops.AlterField(
            model_name="InviteBinding",
            name="source",
            field=fields.CharEnumField(
                description="ENTRY: entry\nFOLLOW: follow\nGROUP: group\nH5: h5",
                enum_type=VisitSource,
                max_length=16,
            ),
        ),
        ops.AlterModelOptions(
            name="MemberTier",
            options={
                "table": "member_tiers",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A member's tier as last recalculated, and the month it is held for.",
            },
        ),
        ops.AlterModelOptions(
            name="Mute",
            options={"table": "mutes", "app": "models", "pk_attr": "user_id"},
        ),
        ops.AlterModelOptions(
            name="PersonalDetails",
            options={
                "table": "personal_details",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A person's phone number and real name, each AES-GCM sealed with the settings' key",
            },
        ),
        ops.AlterModelOptions(
            name="PointsBalance",
            options={
                "table": "points_balances",
                "app": "models",
                "constraints": [CheckConstraint(check="balance >= 0", name="ck_points_balance")],
                "pk_attr": "user_id",
            },
        ),
        ops.AlterModelOptions(
            name="Refund",
            options={
                "table": "refunds",
                "app": "models",
                "constraints": [
                    CheckConstraint(
                        check="amount > 0 AND amount <= total", name="ck_refund_amount"
                    ),
                    UniqueConstraint(fields=("payment_id", "cause"), name="uq_refund_cause"),
                ],
                "pk_attr": "id",
                "table_description": "Part or all of a payment sent back. A payment may have several (an after-sales",
            },
        ),
        ops.AlterModelOptions(
            name="ReturnRule",
            options={
                "table": "return_rules",
                "app": "models",
                "constraints": [
                    CheckConstraint(
                        check="(category IS NULL) <> (product_id IS NULL)",
                        name="ck_return_rule_scope",
                    )
                ],
                "pk_attr": "id",
                "table_description": "Whether goods take the 7-day no-reason return (消费者权益保护法 art. 25 exempts fresh",
            },
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="ReturnRule",
                constraint=CheckConstraint(
                    check="(category IS NULL) <> (product_id IS NULL)", name="ck_return_rule_scope"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="StockSlice",
            options={
                "table": "campaign_stock_slices",
                "app": "models",
                "constraints": [
                    UniqueConstraint(fields=("campaign_id", "slot"), name="uq_stock_slice"),
                    CheckConstraint(check="stock_left >= 0", name="ck_stock_slice_left"),
                ],
                "pk_attr": "id",
                "table_description": "Units set aside from a campaign's reserve (``Campaign.stock_left``), so that joins take",
            },
        ),
        StateOnly(
            ops.AlterField(
                model_name="StockSlice",
                name="campaign",
                field=fields.ForeignKeyField(
                    "models.Campaign",
                    source_field="campaign_id",
                    db_constraint=True,
                    to_field="id",
                    related_name="stock_slices",
                    on_delete=OnDelete.CASCADE,
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="StockSlice",
                constraint=UniqueConstraint(fields=("campaign_id", "slot"), name="uq_stock_slice"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="StockSlice",
                constraint=CheckConstraint(check="stock_left >= 0", name="ck_stock_slice_left"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="TierLevel",
                constraint=CheckConstraint(check="threshold >= 0", name="ck_tier_threshold"),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="TierLevel",
                constraint=CheckConstraint(
                    check="discount_bps BETWEEN 0 AND 5000", name="ck_tier_discount"
                ),
            )
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="TierLevel",
                constraint=CheckConstraint(
                    check="points_multiplier_pct BETWEEN 100 AND 1000", name="ck_tier_multiplier"
                ),
            )
        ),
        ops.AlterModelOptions(
            name="TierRules",
            options={
                "table": "tier_rules",
                "app": "models",
                "constraints": [
                    CheckConstraint(check="window_days BETWEEN 1 AND 730", name="ck_tier_window")
                ],
                "pk_attr": "id",
                "table_description": "The ladder's rules: one row (id 1).",
            },
        ),
        StateOnly(
            ops.AddConstraint(
                model_name="TierRules",
                constraint=CheckConstraint(
                    check="window_days BETWEEN 1 AND 730", name="ck_tier_window"
                ),
            )
        ),
    ]
