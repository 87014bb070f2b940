from tortoise import migrations
from tortoise.migrations import operations as ops
from models.growth import BindingScope, EarningEvent, EarningKind, ShareKind, VisitSource
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

# CreateModel leaves Meta.constraints out (see 0003): the CHECKs are added here, and the
# ledger is made append-only.
CHECKS = [
    ("invite_bindings", "ck_binding_not_self", "invitee_id <> inviter_id"),
    ("earnings_ledger", "ck_earning_amount", "amount >= 0"),
]
APPEND_ONLY = "earnings_ledger is append-only"


async def _checks_and_append_only(apps, schema_editor) -> None:
    for table, name, check in CHECKS:
        await schema_editor._run_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})')
    await schema_editor._run_sql(
        "CREATE FUNCTION earnings_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    )
    # Row triggers: TRUNCATE (the tests' cleanup) is not a row change.
    await schema_editor._run_sql(
        'CREATE TRIGGER "earnings_ledger_append_only" BEFORE UPDATE OR DELETE '
        'ON "earnings_ledger" FOR EACH ROW EXECUTE FUNCTION earnings_ledger_append_only()'
    )


async def _drop_checks_and_append_only(apps, schema_editor) -> None:
    await schema_editor._run_sql('DROP TRIGGER "earnings_ledger_append_only" ON "earnings_ledger"')
    await schema_editor._run_sql("DROP FUNCTION earnings_ledger_append_only()")
    for table, name, _check in CHECKS:
        await schema_editor._run_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0005_clock')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EarningEntry',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('earner', fields.ForeignKeyField('models.User', source_field='earner_id', db_constraint=True, to_field='id', related_name='earnings', on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='earnings', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='earnings', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='LEADER_SHARE: leader_share\nINVITE_L1: invite_l1\nINVITE_L2: invite_l2', enum_type=EarningKind, max_length=16)),
                ('event', fields.CharEnumField(description='ACCRUE: accrue\nRELEASE: release\nREVERSE: reverse', enum_type=EarningEvent, max_length=16)),
                ('amount', fields.IntField()),
                ('frozen_delta', fields.IntField()),
                ('available_delta', fields.IntField()),
                ('base', fields.IntField(default=0)),
                ('rate_bps', fields.IntField(default=0)),
                ('ref', fields.CharField(unique=True, max_length=128)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'earnings_ledger', 'app': 'models', 'constraints': [CheckConstraint(check='amount >= 0', name='ck_earning_amount')], 'pk_attr': 'id', 'table_description': 'Append-only earnings ledger: balances are sums, rows are never updated or deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarningStatement',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('earner', fields.ForeignKeyField('models.User', source_field='earner_id', db_constraint=True, to_field='id', related_name='earning_statements', on_delete=OnDelete.CASCADE)),
                ('week_start', fields.DateField()),
                ('accrued', fields.IntField()),
                ('released', fields.IntField()),
                ('reversed', fields.IntField()),
                ('frozen_balance', fields.IntField()),
                ('available_balance', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'earning_statements', 'app': 'models', 'constraints': [UniqueConstraint(fields=('earner_id', 'week_start'), name='uq_statement_week')], 'pk_attr': 'id', 'table_description': 'A weekly statement of one earner: made once per week (the unique key decides).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GrowthRules',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('scope', fields.CharField(unique=True, max_length=32)),
                ('leader_share_bps', fields.IntField()),
                ('invite_level1_bps', fields.IntField()),
                ('invite_level2_bps', fields.IntField()),
                ('binding_scope', fields.CharEnumField(description='ANY: any\nNEW_USERS: new_users', enum_type=BindingScope, max_length=16)),
                ('binding_days', fields.IntField(null=True)),
                ('updated_by', fields.ForeignKeyField('models.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name='growth_rules', on_delete=OnDelete.CASCADE)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'growth_rules', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Rules operators set, one row per scope ("global"). No row: the defaults in services.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PickupVerification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('code', fields.CharField(db_index=True, max_length=32)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='verifications', on_delete=OnDelete.CASCADE)),
                ('verifier', fields.ForeignKeyField('models.User', source_field='verifier_id', db_constraint=True, to_field='id', related_name='verifications', on_delete=OnDelete.CASCADE)),
                ('outcome', fields.CharField(max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pickup_verifications', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Every 核销 attempt, accepted or refused: the audit trail of pickup codes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShareCode',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=16)),
                ('target', fields.CharField(unique=True, max_length=160)),
                ('kind', fields.CharEnumField(description='INVITE: invite\nCAMPAIGN: campaign\nTEAM: team', enum_type=ShareKind, max_length=16)),
                ('sharer', fields.ForeignKeyField('models.User', source_field='sharer_id', db_constraint=True, to_field='id', related_name='share_codes', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='share_codes', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='share_codes', on_delete=OnDelete.CASCADE)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='share_codes', on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'share_codes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What was shared, by whom, in which community: the row behind a scene or invite code.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InviteBinding',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('invitee', fields.ForeignKeyField('models.User', source_field='invitee_id', db_constraint=True, to_field='id', related_name='invited_by', on_delete=OnDelete.CASCADE)),
                ('inviter', fields.ForeignKeyField('models.User', source_field='inviter_id', db_constraint=True, to_field='id', related_name='invitees', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.CASCADE)),
                ('code', fields.ForeignKeyField('models.ShareCode', source_field='code_id', null=True, db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.CASCADE)),
                ('source', fields.CharEnumField(description='ENTRY: entry\nFOLLOW: follow\nGROUP: group', enum_type=VisitSource, max_length=16)),
                ('generation', fields.IntField()),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invite_bindings', 'app': 'models', 'constraints': [UniqueConstraint(fields=('invitee_id', 'generation'), name='uq_binding_generation'), CheckConstraint(check='invitee_id <> inviter_id', name='ck_binding_not_self')], 'pk_attr': 'id', 'table_description': 'Invitee bound to inviter. First touch wins: generation is unique per invitee.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Visit',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.CASCADE)),
                ('source', fields.CharEnumField(description='ENTRY: entry\nFOLLOW: follow\nGROUP: group', enum_type=VisitSource, max_length=16)),
                ('code', fields.ForeignKeyField('models.ShareCode', source_field='code_id', null=True, db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.CASCADE)),
                ('sharer', fields.ForeignKeyField('models.User', source_field='sharer_id', null=True, db_constraint=True, to_field='id', related_name='visits_brought', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.CASCADE)),
                ('opengid', fields.CharField(null=True, db_index=True, max_length=128)),
                ('outcome', fields.CharField(max_length=32)),
                ('follow', fields.OneToOneField('models.Follow', source_field='follow_id', null=True, db_constraint=True, to_field='id', related_name='visit', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'visits', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One touch: who arrived, through whose code, from which group chat, and what it bound.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Order',
            name='pickup_code',
            field=fields.CharField(null=True, max_length=16),
        ),
        # CreateModel leaves Meta.constraints out (see 0003); the pickup code's unique key is
        # an index too.
        ops.RunSQL(
            [
                'CREATE UNIQUE INDEX "uq_binding_generation" ON "invite_bindings" (invitee_id, generation)',
                'CREATE UNIQUE INDEX "uq_statement_week" ON "earning_statements" (earner_id, week_start)',
                'CREATE UNIQUE INDEX "uq_order_pickup_code" ON "orders" (pickup_code)',
                'CREATE INDEX "ix_binding_inviter" ON "invite_bindings" (inviter_id, community_id)',
                'CREATE INDEX "ix_earning_earner" ON "earnings_ledger" (earner_id, created_at)',
                'CREATE INDEX "ix_earning_order" ON "earnings_ledger" (order_id)',
                'CREATE INDEX "ix_visit_sharer" ON "visits" (sharer_id, community_id)',
            ],
            reverse_sql=[
                'DROP INDEX "uq_binding_generation"',
                'DROP INDEX "uq_statement_week"',
                'DROP INDEX "uq_order_pickup_code"',
                'DROP INDEX "ix_binding_inviter"',
                'DROP INDEX "ix_earning_earner"',
                'DROP INDEX "ix_earning_order"',
                'DROP INDEX "ix_visit_sharer"',
            ],
        ),
        ops.RunPython(_checks_and_append_only, _drop_checks_and_append_only),
    ]
