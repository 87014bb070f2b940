"""Delivery batches (supply-a): a community's order cut-off, the batches cut at it with
their lines and shortages; suppliers, and the supplier of a product."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.delivery import BatchStatus
from models.supply import ReviewStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [("models", "0053_questions")]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeliveryBatch',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='batches', on_delete=OnDelete.CASCADE)),
                ('pickup_point', fields.ForeignKeyField('models.PickupPoint', source_field='pickup_point_id', null=True, db_constraint=True, to_field='id', related_name='batches', on_delete=OnDelete.CASCADE)),
                ('cutoff_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivery_date', fields.DateField(db_index=True)),
                ('status', fields.CharEnumField(default=BatchStatus.DISPATCHED, description='DISPATCHED: dispatched\nARRIVED: arrived\nCLOSED: closed', enum_type=BatchStatus, max_length=16)),
                ('orders', fields.IntField()),
                ('units', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('arrived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('arrival', fields.ForeignKeyField('models.Arrival', source_field='arrival_id', null=True, db_constraint=True, to_field='id', related_name='batches', on_delete=OnDelete.CASCADE)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_batches', 'app': 'models', 'constraints': [UniqueConstraint(fields=('community_id', 'cutoff_at'), name='uq_batch_cutoff')], 'pk_attr': 'id', 'table_description': 'The orders one pickup point receives in one delivery: cut once per cut-off.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BatchShortage',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('models.DeliveryBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name='shortages', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='shortages', on_delete=OnDelete.CASCADE)),
                ('ordered', fields.IntField()),
                ('short', fields.IntField()),
                ('refunded_orders', fields.IntField()),
            ],
            options={'table': 'batch_shortages', 'app': 'models', 'constraints': [UniqueConstraint(fields=('batch_id', 'sku_id'), name='uq_batch_shortage'), CheckConstraint(check='short >= 1 AND short <= ordered', name='ck_batch_short')], 'pk_attr': 'id', 'table_description': 'A SKU that arrived short, as the leader counted it at 到货.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryPlan',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.OneToOneField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='delivery_plan', on_delete=OnDelete.CASCADE)),
                ('cutoff', fields.CharField(max_length=5)),
                ('next_cutoff_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('home_delivery', fields.BooleanField(default=False)),
                ('delivery_fee', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'delivery_plans', 'app': 'models', 'constraints': [CheckConstraint(check='delivery_fee >= 0', name='ck_delivery_plan_fee')], 'pk_attr': 'id', 'table_description': "When a community's orders close for the next delivery, and whether it delivers home."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Supplier',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('contact_name', fields.CharField(max_length=32)),
                ('contact_phone', fields.CharField(max_length=20)),
                ('business_licence', fields.CharField(max_length=32)),
                ('food_licence', fields.CharField(null=True, max_length=32)),
                ('account', fields.ForeignKeyField('models.User', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='suppliers', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ReviewStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ReviewStatus, max_length=16)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('reviewed_by', fields.ForeignKeyField('models.User', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='suppliers_reviewed', on_delete=OnDelete.CASCADE)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'suppliers', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A merchant with its qualifications, reviewed by an operator before it may sell.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BatchOrder',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('models.DeliveryBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='batch_line', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='batch_lines', on_delete=OnDelete.CASCADE)),
                ('supplier', fields.ForeignKeyField('models.Supplier', source_field='supplier_id', null=True, db_constraint=True, to_field='id', related_name='batch_lines', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField()),
                ('short', fields.BooleanField(default=False)),
            ],
            options={'table': 'batch_orders', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One order of a batch, a line of the pick list. An order is in one batch at most.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Product',
            name='supplier',
            field=fields.ForeignKeyField('models.Supplier', source_field='supplier_id', null=True, db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.CASCADE),
        ),
    ]
