from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.user import Role
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('unionid', fields.CharField(null=True, db_index=True, max_length=64)),
                ('nickname', fields.CharField(default='', max_length=64)),
                ('role', fields.CharEnumField(default=Role.SHOPPER, description='SHOPPER: shopper\nLEADER: leader\nADMIN: admin', enum_type=Role, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Community',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('leader', fields.ForeignKeyField('models.User', source_field='leader_id', db_constraint=True, to_field='id', related_name='led_communities', on_delete=OnDelete.CASCADE)),
                ('chat_id', fields.CharField(null=True, unique=True, max_length=128)),
                ('timezone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'communities', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A group chat run by a leader, with a pickup point.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'models', 'constraints': [UniqueConstraint(fields=('user_id', 'community_id'), name='uq_membership')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PickupPoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.OneToOneField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='pickup_point', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('address', fields.CharField(max_length=255)),
                ('hours', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'pickup_points', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=128)),
                ('description', fields.TextField(default='', unique=False)),
                ('category', fields.CharField(default='', db_index=True, max_length=32)),
                ('images', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='products_created', on_delete=OnDelete.CASCADE)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'products', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sku',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('price', fields.IntField()),
                ('stock', fields.IntField(default=0)),
            ],
            options={'table': 'skus', 'app': 'models', 'constraints': [CheckConstraint(check='price >= 0', name='ck_sku_price'), CheckConstraint(check='stock >= 0', name='ck_sku_stock')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
