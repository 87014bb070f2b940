from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0003_constraints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChatIdentity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('external_id', fields.CharField(max_length=128)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='chat_identities', on_delete=OnDelete.CASCADE)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_identities', 'app': 'models', 'constraints': [UniqueConstraint(fields=('platform', 'external_id'), name='uq_chat_identity')], 'pk_attr': 'id', 'table_description': 'A platform user id (OA openid, WeCom userid) tied to our user.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('platform', fields.CharField(max_length=16)),
                ('external_id', fields.CharField(db_index=True, max_length=128)),
                ('scene', fields.CharField(null=True, max_length=64)),
                ('event', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'follows', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A follow (or scan) of the Official Account, with the QR scene that brought it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Community',
            name='robot_key',
            field=fields.CharField(null=True, max_length=128),
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_chat_identity" ON "chat_identities" (platform, external_id)',
            reverse_sql='DROP INDEX "uq_chat_identity"',
        ),
    ]
