"""Rollups for the dashboards (funnels, cohorts, top products), and the indexes on the event
times that let the clock recompute a day without reading the other days' rows."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

_EVENT_TIMES = {
    "idx_orders_paid_at": ("orders", "paid_at"),
    "idx_orders_picked_up_at": ("orders", "picked_up_at"),
    "idx_refunds_settled_at": ("refunds", "settled_at"),
    "idx_memberships_joined_at": ("memberships", "joined_at"),
    "idx_share_codes_created_at": ("share_codes", "created_at"),
    # A member's own orders in a community, for their member_stats row.
    "idx_orders_user_community": ("orders", "user_id, community_id"),
}
# CreateModel leaves out Meta.constraints (see 0003): the rollups' unique keys, made here.
_UNIQUES = {
    "uq_funnel_day": ("funnel_days", "community_id, day, campaign_id"),
    "uq_product_day": ("product_days", "community_id, day, sku_id"),
    "uq_member_stats": ("member_stats", "community_id, user_id"),
    "uq_member_cohort": ("member_cohorts", "community_id, week"),
}
INDEXES = ";".join(
    [
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})'
        for name, (table, columns) in _EVENT_TIMES.items()
    ]
    + [
        f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({columns})'
        for name, (table, columns) in _UNIQUES.items()
    ]
)
DROP = ";".join(f'DROP INDEX IF EXISTS "{name}"' for name in [*_EVENT_TIMES, *_UNIQUES])


class Migration(migrations.Migration):
    dependencies = [("models", "0070_privacy")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Cohort',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community_id', fields.UUIDField()),
                ('week', fields.DateField()),
                ('members', fields.IntField(default=0)),
                ('buyers', fields.IntField(default=0)),
                ('repeaters', fields.IntField(default=0)),
            ],
            options={'table': 'member_cohorts', 'app': 'models', 'constraints': [UniqueConstraint(fields=('community_id', 'week'), name='uq_member_cohort')], 'pk_attr': 'id', 'table_description': 'The members who joined a community in one week, and how many bought, and again.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FunnelDay',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community_id', fields.UUIDField()),
                ('campaign_id', fields.UUIDField()),
                ('day', fields.DateField()),
                ('shared', fields.IntField(default=0)),
                ('opened', fields.IntField(default=0)),
                ('joined', fields.IntField(default=0)),
                ('paid', fields.IntField(default=0)),
                ('picked_up', fields.IntField(default=0)),
                ('gmv', fields.BigIntField(default=0)),
                ('refunds', fields.IntField(default=0)),
                ('refunded', fields.BigIntField(default=0)),
            ],
            options={'table': 'funnel_days', 'app': 'models', 'constraints': [UniqueConstraint(fields=('community_id', 'day', 'campaign_id'), name='uq_funnel_day')], 'pk_attr': 'id', 'table_description': "One community's (and campaign's) day: card shared -> opened -> joined -> paid ->"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberStats',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community_id', fields.UUIDField()),
                ('user_id', fields.UUIDField()),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('orders', fields.IntField(default=0)),
                ('spent', fields.BigIntField(default=0)),
                ('first_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_stats', 'app': 'models', 'constraints': [UniqueConstraint(fields=('community_id', 'user_id'), name='uq_member_stats')], 'pk_attr': 'id', 'table_description': "A member of a community and what they bought there: the cohorts' (and RFM's) row."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProductDay',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community_id', fields.UUIDField()),
                ('sku_id', fields.UUIDField()),
                ('day', fields.DateField()),
                ('orders', fields.IntField(default=0)),
                ('quantity', fields.IntField(default=0)),
                ('gmv', fields.BigIntField(default=0)),
            ],
            options={'table': 'product_days', 'app': 'models', 'constraints': [UniqueConstraint(fields=('community_id', 'day', 'sku_id'), name='uq_product_day')], 'pk_attr': 'id', 'table_description': 'Paid orders and GMV of one SKU in one community on one day (top products).'},
            bases=['Model'],
        ),
        ops.RunSQL(INDEXES, reverse_sql=DROP),
    ]
