"""Segments of members, the news sent to them, and who got it (conversions attributed)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [("models", "0071_rollups")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Segment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='segments', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('rule', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='segments_created', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'segments', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Broadcast',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('segment', fields.ForeignKeyField('models.Segment', source_field='segment_id', db_constraint=True, to_field='id', related_name='broadcasts', on_delete=OnDelete.CASCADE)),
                ('text', fields.CharField(max_length=300)),
                ('template_id', fields.CharField(default='', max_length=64)),
                ('audience', fields.IntField(default=0)),
                ('sent', fields.IntField(default=0)),
                ('skipped_consent', fields.IntField(default=0)),
                ('skipped_quota', fields.IntField(default=0)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='broadcasts_sent', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'broadcasts', 'app': 'models', 'pk_attr': 'id', 'table_description': "One message sent to a segment's members."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('broadcast', fields.ForeignKeyField('models.Broadcast', source_field='broadcast_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('via', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'broadcast_deliveries', 'app': 'models', 'constraints': [UniqueConstraint(fields=('broadcast_id', 'user_id'), name='uq_delivery')], 'pk_attr': 'id', 'table_description': 'A member a broadcast reached, and how: the base of conversion attribution.'},
            bases=['Model'],
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_delivery" ON "broadcast_deliveries" (broadcast_id, user_id)',
            reverse_sql='DROP INDEX "uq_delivery"',
        ),
    ]
