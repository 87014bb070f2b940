from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.activity import ActivityKind
from models.groupbuy import default_reminders
from models.order import OrderKind
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

async def _flash_stock_check(apps, schema_editor) -> None:
    # As in 0003: CreateModel leaves the CHECK out.
    await schema_editor._run_sql(
        'ALTER TABLE "flash_sales" ADD CONSTRAINT "ck_flash_stock_left" CHECK (stock_left >= 0)'
    )


class Migration(migrations.Migration):
    dependencies = [('models', '0004_chat')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Activity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ANNOUNCEMENT: announcement\nCHECKIN: checkin\nFLASH_SALE: flash_sale\nEARNINGS_STATEMENT: earnings_statement', enum_type=ActivityKind, max_length=24)),
                ('title', fields.CharField(default='', max_length=128)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('cron', fields.CharField(null=True, max_length=64)),
                ('run_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_run_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('last_run_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='activities_created', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activities', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Something a leader scheduled for their group: once (run_at) or recurring (cron).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityRun',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.CASCADE)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ran_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'activity_runs', 'app': 'models', 'constraints': [UniqueConstraint(fields=('activity_id', 'due_at'), name='uq_activity_run')], 'pk_attr': 'id', 'table_description': 'One firing of an activity: the unique key makes every firing happen once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('streak', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'checkins', 'app': 'models', 'constraints': [UniqueConstraint(fields=('user_id', 'community_id', 'day'), name='uq_checkin_day')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FlashSale',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('activity', fields.OneToOneField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='flash_sale', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='flash_sales', on_delete=OnDelete.CASCADE)),
                ('price', fields.IntField()),
                ('stock', fields.IntField()),
                ('stock_left', fields.IntField()),
                ('per_user_limit', fields.IntField(default=1)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'flash_sales', 'app': 'models', 'constraints': [CheckConstraint(check='stock_left >= 0', name='ck_flash_stock_left')], 'pk_attr': 'id', 'table_description': 'The stock of a flash sale. A Redis gate admits buyers, this row decides.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobRun',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('job', fields.CharField(db_index=True, max_length=64)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ran_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lag_ms', fields.IntField()),
                ('ok', fields.BooleanField(default=True)),
                ('error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'job_runs', 'app': 'models', 'pk_attr': 'id', 'table_description': 'When a timed job was due and when it ran: the lag the admin page shows.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsEntry',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='points', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='points', on_delete=OnDelete.CASCADE)),
                ('delta', fields.IntField()),
                ('reason', fields.CharField(max_length=32)),
                ('ref', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'points_ledger', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Append-only points ledger: a balance is the sum, nothing is ever edited.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TeamReminder',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('minutes_before', fields.IntField()),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'team_reminders', 'app': 'models', 'constraints': [UniqueConstraint(fields=('team_id', 'minutes_before'), name='uq_team_reminder')], 'pk_attr': 'id', 'table_description': 'A "N more needed" reminder posted for a team, at most once per offset.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='reminder_minutes',
            field=fields.JSONField(default=default_reminders, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AlterField(
            model_name='Order',
            name='kind',
            field=fields.CharEnumField(description='GROUP: group\nDIRECT: direct\nFLASH: flash', enum_type=OrderKind, max_length=16),
        ),
        ops.AddField(
            model_name='Order',
            name='picked_up_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Order',
            name='pickup_reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            [
                'CREATE UNIQUE INDEX "uq_activity_run" ON "activity_runs" (activity_id, due_at)',
                'CREATE UNIQUE INDEX "uq_team_reminder" ON "team_reminders" (team_id, minutes_before)',
                'CREATE UNIQUE INDEX "uq_checkin_day" ON "checkins" (user_id, community_id, day)',
            ],
            reverse_sql=[
                'DROP INDEX "uq_activity_run"',
                'DROP INDEX "uq_team_reminder"',
                'DROP INDEX "uq_checkin_day"',
            ],
        ),
        ops.RunPython(_flash_stock_check),
    ]
