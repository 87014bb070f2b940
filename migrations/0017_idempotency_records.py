from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_h5_visits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('slot', fields.CharField(max_length=200, unique=True)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('status', fields.SmallIntField()),
                ('body', fields.TextField()),
                ('content_type', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(db_index=True)),
            ],
            options={'table': 'idempotency_records', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The answer to a request sent with an Idempotency-Key, written in the transaction of its effect.'},
            bases=['Model'],
        ),
    ]
