"""Coupons: templates, the coupons people hold, and the claim as one statement.

``qunshop_claim_coupon`` takes one coupon off a template's stock by a checked conditional
update (which locks the template row, so claims of one template queue there), checks the
person's limit under that lock, and inserts the coupon; any refusal (QS404/QS409 with the
error code as its message) rolls the whole statement back. ``uq_coupon_nth`` and
``ck_coupon_stock`` back it; ``uq_coupon_order`` keeps one coupon per order, and
``uq_order_new_user_offer`` one live order per person on a new-user offer.
"""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

from models.coupon import CouponKind, CouponScope, CouponStatus, GrantRule

CLAIM = """
CREATE FUNCTION qunshop_claim_coupon(
    p_template uuid,
    p_user uuid,
    p_now timestamptz,
    p_id uuid,
    p_source varchar,
    p_source_ref varchar,
    p_by_user boolean
) RETURNS coupons LANGUAGE plpgsql AS $$
DECLARE
    t coupon_templates;
    v_nth integer;
    v_from timestamptz;
    v_until timestamptz;
    c coupons;
BEGIN
    UPDATE coupon_templates SET stock_left = stock_left - 1
     WHERE id = p_template AND stock_left >= 1 AND active
       AND (claimable OR NOT p_by_user)
       AND (valid_until IS NULL OR valid_until > p_now)
    RETURNING * INTO t;
    IF NOT FOUND THEN
        SELECT * INTO t FROM coupon_templates WHERE id = p_template;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'QS404', MESSAGE = 'coupon_template_not_found';
        END IF;
        IF NOT t.active OR (p_by_user AND NOT t.claimable)
           OR (t.valid_until IS NOT NULL AND t.valid_until <= p_now) THEN
            RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupon_not_claimable';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupons_gone';
    END IF;

    -- Under the template row's lock: this person's earlier claims have committed.
    SELECT count(*) + 1 INTO v_nth FROM coupons WHERE template_id = t.id AND user_id = p_user;
    IF v_nth > t.per_user_limit THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupon_limit_reached',
            DETAIL = t.per_user_limit::text;
    END IF;

    IF t.valid_days IS NOT NULL THEN
        v_from := p_now;
        v_until := p_now + make_interval(days => t.valid_days);
    ELSE
        v_from := coalesce(t.valid_from, p_now);
        v_until := t.valid_until;
    END IF;
    INSERT INTO coupons (
        id, template_id, user_id, nth, status, source, source_ref, valid_from, valid_until,
        claimed_at
    ) VALUES (
        p_id, t.id, p_user, v_nth, 'available', p_source, p_source_ref, v_from, v_until, p_now
    )
    ON CONFLICT DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        IF p_source_ref IS NOT NULL AND EXISTS (
            SELECT 1 FROM coupons WHERE source_ref = p_source_ref
        ) THEN
            RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupon_already_granted';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupon_limit_reached',
            DETAIL = t.per_user_limit::text;
    END IF;
    RETURN c;
END
$$
"""
SIGNATURE = "qunshop_claim_coupon(uuid, uuid, timestamptz, uuid, varchar, varchar, boolean)"

FORWARD = [
    CLAIM,
    'ALTER TABLE "coupon_templates" ADD CONSTRAINT "ck_coupon_stock" '
    "CHECK (stock_left >= 0 AND stock_left <= stock_total)",
    'ALTER TABLE "coupon_templates" ADD CONSTRAINT "ck_coupon_per_user" '
    "CHECK (per_user_limit >= 1)",
    'ALTER TABLE "coupon_templates" ADD CONSTRAINT "ck_coupon_valid" '
    "CHECK ((valid_days IS NULL) <> (valid_until IS NULL))",
    'ALTER TABLE "coupons" ADD CONSTRAINT "ck_coupon_order" '
    "CHECK ((status IN ('locked', 'used')) = (order_id IS NOT NULL))",
    'CREATE UNIQUE INDEX "uq_coupon_nth" ON "coupons" (template_id, user_id, nth)',
    'CREATE UNIQUE INDEX "uq_coupon_order" ON "coupons" (order_id) WHERE order_id IS NOT NULL',
    'CREATE INDEX "ix_coupons_user" ON "coupons" (user_id, status)',
    'CREATE UNIQUE INDEX "uq_order_new_user_offer" ON "orders" (user_id) WHERE new_user_offer '
    "AND status NOT IN ('cancelled', 'refunding', 'refunded')",
]
BACKWARD = [
    'DROP INDEX "uq_order_new_user_offer"',
    f"DROP FUNCTION {SIGNATURE}",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0030_order_breakdown")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CouponTemplate",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=64)),
                ("kind", fields.CharEnumField(enum_type=CouponKind, max_length=16)),
                ("threshold", fields.IntField(default=0)),
                ("amount_off", fields.IntField(default=0)),
                ("percent_off", fields.IntField(default=0)),
                ("max_off", fields.IntField(default=0)),
                ("new_user_only", fields.BooleanField(default=False)),
                (
                    "scope",
                    fields.CharEnumField(
                        default=CouponScope.ALL, enum_type=CouponScope, max_length=16
                    ),
                ),
                ("scope_ref", fields.CharField(default="", max_length=64)),
                ("stock_total", fields.IntField()),
                ("stock_left", fields.IntField()),
                ("per_user_limit", fields.IntField(default=1)),
                ("valid_from", fields.DatetimeField(null=True)),
                ("valid_until", fields.DatetimeField(null=True)),
                ("valid_days", fields.IntField(null=True)),
                ("claimable", fields.BooleanField(default=True)),
                ("points_price", fields.IntField(null=True)),
                (
                    "grant_rule",
                    fields.CharEnumField(
                        default=GrantRule.NONE, enum_type=GrantRule, max_length=16
                    ),
                ),
                ("rule_days", fields.IntField(null=True)),
                (
                    "community",
                    fields.ForeignKeyField(
                        "models.Community",
                        source_field="community_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="coupon_templates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("active", fields.BooleanField(default=True)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="coupon_templates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField()),
            ],
            options={
                "table": "coupon_templates",
                "app": "models",
                "constraints": [
                    CheckConstraint(
                        check="stock_left >= 0 AND stock_left <= stock_total",
                        name="ck_coupon_stock",
                    ),
                    CheckConstraint(check="per_user_limit >= 1", name="ck_coupon_per_user"),
                    CheckConstraint(
                        check="(valid_days IS NULL) <> (valid_until IS NULL)",
                        name="ck_coupon_valid",
                    ),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Coupon",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "template",
                    fields.ForeignKeyField(
                        "models.CouponTemplate",
                        source_field="template_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="coupons",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="coupons",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("nth", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=CouponStatus.AVAILABLE,
                        db_index=True,
                        enum_type=CouponStatus,
                        max_length=16,
                    ),
                ),
                (
                    "order",
                    fields.ForeignKeyField(
                        "models.Order",
                        source_field="order_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="coupons",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("source", fields.CharField(max_length=16)),
                ("source_ref", fields.CharField(null=True, unique=True, max_length=96)),
                ("valid_from", fields.DatetimeField()),
                ("valid_until", fields.DatetimeField(db_index=True)),
                ("claimed_at", fields.DatetimeField()),
                ("used_at", fields.DatetimeField(null=True)),
            ],
            options={
                "table": "coupons",
                "app": "models",
                "constraints": [
                    UniqueConstraint(
                        fields=("template_id", "user_id", "nth"), name="uq_coupon_nth"
                    ),
                    CheckConstraint(
                        check="(status IN ('locked', 'used')) = (order_id IS NOT NULL)",
                        name="ck_coupon_order",
                    ),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
