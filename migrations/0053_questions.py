"""Questions on products and their answers (by the leader or by buyers; one best each)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.moderation import Shown
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [("models", "0052_posts")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('text', fields.TextField(unique=False)),
                ('shown', fields.CharEnumField(description='VISIBLE: visible\nHELD: held\nREMOVED: removed', enum_type=Shown, max_length=16)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'questions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Answer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('question', fields.ForeignKeyField('models.Question', source_field='question_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('text', fields.TextField(unique=False)),
                ('by_leader', fields.BooleanField(default=False)),
                ('by_buyer', fields.BooleanField(default=False)),
                ('best', fields.BooleanField(default=False)),
                ('shown', fields.CharEnumField(description='VISIBLE: visible\nHELD: held\nREMOVED: removed', enum_type=Shown, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'answers', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_answer_best" ON "answers" (question_id) WHERE best',
            reverse_sql='DROP INDEX "uq_answer_best"',
        ),
        ops.RunSQL(
            'CREATE INDEX "idx_questions_product" ON "questions" (product_id, created_at)',
            reverse_sql='DROP INDEX "idx_questions_product"',
        ),
    ]
