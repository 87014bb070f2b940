from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_accounts_and_leaders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Arrival',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='arrivals', on_delete=OnDelete.CASCADE)),
                ('confirmed_by', fields.ForeignKeyField('models.User', source_field='confirmed_by_id', db_constraint=True, to_field='id', related_name='arrivals_confirmed', on_delete=OnDelete.CASCADE)),
                ('orders', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pickup_arrivals', 'app': 'models', 'pk_attr': 'id', 'table_description': "A leader confirmed that a delivery reached the community's pickup point."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TeamCard',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('team', fields.OneToOneField('models.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='card', on_delete=OnDelete.CASCADE)),
                ('activity_id', fields.CharField(max_length=128)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_state', fields.IntField(null=True)),
                ('sent_members', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'team_cards', 'app': 'models', 'pk_attr': 'id', 'table_description': "A team's updatable share card (动态消息): its activity_id and what it last showed."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Order',
            name='arrived_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Order',
            name='lapse_warned_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
