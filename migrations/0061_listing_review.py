"""Listing review (supply-a): suppliers' products and price changes wait in
listing_reviews; every decision is a row of review_decisions, append-only as audit_log is
(0018); a SKU's cost is the floor the price rule reads."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.supply import ReviewKind, ReviewStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

MESSAGE = "review_decisions is append-only"


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(
        "CREATE FUNCTION review_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    await schema_editor._run_sql(
        'CREATE TRIGGER "review_decisions_append_only" BEFORE UPDATE OR DELETE '
        'ON "review_decisions" FOR EACH ROW EXECUTE FUNCTION review_decisions_append_only()'
    )


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql('DROP TRIGGER "review_decisions_append_only" ON "review_decisions"')
    await schema_editor._run_sql("DROP FUNCTION review_decisions_append_only()")


class Migration(migrations.Migration):
    dependencies = [("models", "0060_delivery_batches")]

    initial = False

    operations = [
        ops.CreateModel(
            name='ListingReview',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='LISTING: listing\nPRICE: price', enum_type=ReviewKind, max_length=16)),
                ('supplier', fields.ForeignKeyField('models.Supplier', source_field='supplier_id', db_constraint=True, to_field='id', related_name='listing_reviews', on_delete=OnDelete.CASCADE)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='listing_reviews', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', null=True, db_constraint=True, to_field='id', related_name='listing_reviews', on_delete=OnDelete.CASCADE)),
                ('price', fields.IntField(null=True)),
                ('previous_price', fields.IntField(null=True)),
                ('cost', fields.IntField(null=True)),
                ('status', fields.CharEnumField(default=ReviewStatus.PENDING, db_index=True, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ReviewStatus, max_length=16)),
                ('flags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='reviews_decided', on_delete=OnDelete.CASCADE)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'listing_reviews', 'app': 'models', 'pk_attr': 'id', 'table_description': "A supplier's product or price change waiting to go live: rules first, then a person."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewDecision',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('subject', fields.CharField(db_index=True, max_length=64)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='review_decisions', on_delete=OnDelete.CASCADE)),
                ('outcome', fields.CharEnumField(description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ReviewStatus, max_length=16)),
                ('reason', fields.CharField(max_length=255)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'review_decisions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Every decision on a supplier or a listing, with its reason: who (None: the rules).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Sku',
            name='cost',
            field=fields.IntField(null=True),
        ),
        ops.RunPython(forward, backward),
    ]
