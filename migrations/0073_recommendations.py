"""Recommendations per community ("bought together", "popular"), recomputed by the clock."""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0072_segments")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Recommendation",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("community_id", fields.UUIDField()),
                ("kind", fields.CharField(max_length=16)),
                ("product_id", fields.UUIDField()),
                ("other_product_id", fields.UUIDField(null=True)),
                ("score", fields.IntField()),
                ("rank", fields.IntField()),
                ("computed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "recommendations", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(
            'CREATE INDEX "idx_recommendations_lookup" ON "recommendations" '
            "(community_id, kind, product_id, rank)",
            reverse_sql='DROP INDEX "idx_recommendations_lookup"',
        ),
    ]
