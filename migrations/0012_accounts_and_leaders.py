"""One person, one account (account_links, chat_identities.unionid) and leader applications."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.chat import LinkVia
from models.user import ApplicationStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0011_join_campaign_window')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountLink',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('identity', fields.OneToOneField('models.ChatIdentity', source_field='identity_id', db_constraint=True, to_field='id', related_name='link', on_delete=OnDelete.CASCADE)),
                ('from_user', fields.ForeignKeyField('models.User', source_field='from_user_id', db_constraint=True, to_field='id', related_name='links_out', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.User', source_field='account_id', db_constraint=True, to_field='id', related_name='links_in', on_delete=OnDelete.CASCADE)),
                ('via', fields.CharEnumField(description='TOKEN: token\nUNIONID: unionid\nLEADER_CODE: leader_code', enum_type=LinkVia, max_length=16)),
                ('token_id', fields.CharField(null=True, unique=True, max_length=32)),
                ('moved', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_links', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A chat identity bound to a mini-program account, once and for good.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderApplication',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='leader_applications', on_delete=OnDelete.CASCADE)),
                ('community_name', fields.CharField(max_length=64)),
                ('pickup_name', fields.CharField(max_length=64)),
                ('pickup_address', fields.CharField(max_length=255)),
                ('pickup_hours', fields.CharField(default='', max_length=64)),
                ('note', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(default='pending', description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ApplicationStatus, max_length=16)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='leader_decisions', on_delete=OnDelete.CASCADE)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='leader_applications', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leader_applications', 'app': 'models', 'constraints': [UniqueConstraint(fields=('user_id',), name='uq_leader_application_pending', condition="status = 'pending'")], 'pk_attr': 'id', 'table_description': 'Someone asks to lead a community, and an admin approves (the community is made) or not.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ChatIdentity',
            name='unionid',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_leader_application_pending" ON "leader_applications" '
            "(user_id) WHERE status = 'pending'",
            reverse_sql='DROP INDEX "uq_leader_application_pending"',
        ),
    ]
