from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0007_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SubscribeConsent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='subscribe_consents', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=64)),
                ('remaining', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'subscribe_consents', 'app': 'models', 'constraints': [UniqueConstraint(fields=('user_id', 'template_id'), name='uq_subscribe_consent'), CheckConstraint(check='remaining >= 0', name='ck_subscribe_remaining')], 'pk_attr': 'id', 'table_description': 'One-time subscribe messages a user accepted (wx.requestSubscribeMessage), per template.'},
            bases=['Model'],
        ),
        # CreateModel leaves Meta.constraints out (see 0003); the CHECK came with 0011.
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_subscribe_consent" ON "subscribe_consents" (user_id, template_id)',
            reverse_sql='DROP INDEX "uq_subscribe_consent"',
        ),
    ]
