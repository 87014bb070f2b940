from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.groupbuy import SeatStatus, TeamStatus
from models.order import OrderKind, OrderStatus
from models.outbox import OutboxStatus
from models.payment import RefundStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=128)),
                ('group_price', fields.IntField()),
                ('head_price', fields.IntField(null=True)),
                ('price_tiers', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('team_size', fields.IntField()),
                ('team_hours', fields.IntField(default=24)),
                ('reservation_minutes', fields.IntField(default=15)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('stock_cap', fields.IntField()),
                ('stock_left', fields.IntField()),
                ('per_user_limit', fields.IntField(default=1)),
                ('guaranteed', fields.BooleanField(default=False)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='campaigns_created', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns', 'app': 'models', 'constraints': [CheckConstraint(check='stock_left >= 0', name='ck_campaign_stock_left'), CheckConstraint(check='stock_left <= stock_cap', name='ck_campaign_stock_cap'), CheckConstraint(check='team_size BETWEEN 2 AND 50', name='ck_campaign_team_size'), CheckConstraint(check='group_price >= 0', name='ck_campaign_price')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(unique=True, max_length=128)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, db_index=True, description='PENDING: pending\nDONE: done\nDEAD: dead', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Team',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='teams', on_delete=OnDelete.CASCADE)),
                ('head', fields.ForeignKeyField('models.User', source_field='head_id', db_constraint=True, to_field='id', related_name='teams_started', on_delete=OnDelete.CASCADE)),
                ('size', fields.IntField()),
                ('seats_held', fields.IntField(default=0)),
                ('seats_paid', fields.IntField(default=0)),
                ('status', fields.CharEnumField(default=TeamStatus.OPEN, description='OPEN: open\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=TeamStatus, max_length=16)),
                ('deadline_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('final_price', fields.IntField(null=True)),
                ('chat_id', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'teams', 'app': 'models', 'constraints': [CheckConstraint(check='seats_held >= 0 AND seats_held <= size', name='ck_team_seats'), CheckConstraint(check='seats_paid >= 0 AND seats_paid <= seats_held', name='ck_team_paid')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('out_trade_no', fields.CharField(unique=True, max_length=32)),
                ('kind', fields.CharEnumField(description='GROUP: group\nDIRECT: direct', enum_type=OrderKind, max_length=16)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField(default=1)),
                ('unit_price', fields.IntField()),
                ('amount', fields.IntField()),
                ('status', fields.CharEnumField(default=OrderStatus.PENDING_PAYMENT, db_index=True, description='PENDING_PAYMENT: pending_payment\nPAID_AWAITING_TEAM: paid_awaiting_team\nCONFIRMED: confirmed\nREADY_FOR_PICKUP: ready_for_pickup\nPICKED_UP: picked_up\nCOMPLETED: completed\nCANCELLED: cancelled\nREFUNDING: refunding\nREFUNDED: refunded', enum_type=OrderStatus, max_length=24)),
                ('reserved_until', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('transaction_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('chat_id', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'orders', 'app': 'models', 'constraints': [CheckConstraint(check='amount >= 0', name='ck_order_amount'), CheckConstraint(check='quantity >= 1', name='ck_order_quantity')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('transaction_id', fields.CharField(unique=True, max_length=64)),
                ('amount', fields.IntField()),
                ('outcome', fields.CharField(max_length=16)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payments', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One row per WeChat transaction: the unique id makes notifies idempotent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('payment', fields.OneToOneField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='refund', on_delete=OnDelete.CASCADE)),
                ('out_refund_no', fields.CharField(unique=True, max_length=64)),
                ('amount', fields.IntField()),
                ('total', fields.IntField()),
                ('reason', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(default=RefundStatus.PENDING, description='PENDING: pending\nSUBMITTED: submitted\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=RefundStatus, max_length=16)),
                ('refund_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refunds', 'app': 'models', 'constraints': [CheckConstraint(check='amount > 0 AND amount <= total', name='ck_refund_amount')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Seat',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.CASCADE)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='seat', on_delete=OnDelete.CASCADE)),
                ('is_head', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=SeatStatus.RESERVED, description='RESERVED: reserved\nPAID: paid\nRELEASED: released', enum_type=SeatStatus, max_length=16)),
                ('in_open_team', fields.BooleanField(default=True)),
                ('reserved_until', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'seats', 'app': 'models', 'constraints': [UniqueConstraint(fields=('campaign_id', 'user_id'), name='uq_seat_open_team_per_user', condition='in_open_team')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
