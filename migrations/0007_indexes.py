"""Indexes for the hot lookups by foreign key (joins, payments, settlements)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = [
    ("idx_seats_team", "seats", "team_id"),
    ("idx_seats_user", "seats", "user_id"),
    ("idx_seats_campaign_user", "seats", "campaign_id, user_id"),
    ("idx_teams_campaign_status", "teams", "campaign_id, status"),
    ("idx_orders_team", "orders", "team_id"),
    ("idx_orders_user_created", "orders", "user_id, created_at"),
    ("idx_orders_campaign", "orders", "campaign_id"),
    ("idx_orders_community_paid", "orders", "community_id, paid_at"),
    ("idx_payments_order", "payments", "order_id"),
    ("idx_refunds_order", "refunds", "order_id"),
]


class Migration(migrations.Migration):
    dependencies = [("models", "0006_growth")]

    operations = [
        ops.RunSQL(
            [f'CREATE INDEX "{name}" ON "{table}" ({columns})' for name, table, columns in INDEXES],
            reverse_sql=[f'DROP INDEX "{name}"' for name, _, _ in INDEXES],
        ),
    ]
