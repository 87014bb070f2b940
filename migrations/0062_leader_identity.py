"""Leaders' identity (supply-a): real name and phone as the verification provider found them."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.identity import IdentityStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [("models", "0061_listing_review")]

    initial = False

    operations = [
        ops.CreateModel(
            name='LeaderIdentity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='identity', on_delete=OnDelete.CASCADE)),
                ('real_name', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('status', fields.CharEnumField(description='VERIFIED: verified\nFAILED: failed', enum_type=IdentityStatus, max_length=16)),
                ('provider', fields.CharField(max_length=32)),
                ('reference', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'leader_identities', 'app': 'models', 'pk_attr': 'id', 'table_description': "A leader's latest verification: verified before they may take payments."},
            bases=['Model'],
        ),
    ]
