"""Home delivery (supply-a): shoppers' addresses and the orders delivered to the door."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.delivery import HomeStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [("models", "0062_leader_identity")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Address',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='addresses', on_delete=OnDelete.CASCADE)),
                ('recipient', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('detail', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'addresses', 'app': 'models', 'pk_attr': 'id', 'table_description': "A shopper's delivery address."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HomeDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='home_delivery', on_delete=OnDelete.CASCADE)),
                ('recipient', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('address', fields.CharField(max_length=255)),
                ('fee', fields.IntField()),
                ('status', fields.CharEnumField(default=HomeStatus.PENDING, description='PENDING: pending\nDISPATCHED: dispatched\nDELIVERED: delivered', enum_type=HomeStatus, max_length=16)),
                ('tracking_no', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('dispatched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'home_deliveries', 'app': 'models', 'constraints': [CheckConstraint(check='fee >= 0', name='ck_home_delivery_fee')], 'pk_attr': 'id', 'table_description': "An order delivered to the buyer's door instead of picked up, for a fee."},
            bases=['Model'],
        ),
    ]
