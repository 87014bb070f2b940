"""Community posts (晒单 and posts), likes (a row each), comments with one level of replies,
and followings of a leader or a community."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.moderation import Shown
from models.post import PostKind
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [("models", "0051_reviews")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Following',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('follower', fields.ForeignKeyField('models.User', source_field='follower_id', db_constraint=True, to_field='id', related_name='followings', on_delete=OnDelete.CASCADE)),
                ('leader', fields.ForeignKeyField('models.User', source_field='leader_id', null=True, db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'followings', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Someone follows a leader or a community (exactly one of the two).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Post',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SHOW: show\nPOST: post', enum_type=PostKind, max_length=8)),
                ('text', fields.TextField(default='', unique=False)),
                ('images', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', null=True, db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('shown', fields.CharEnumField(description='VISIBLE: visible\nHELD: held\nREMOVED: removed', enum_type=Shown, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'posts', 'app': 'models', 'indexes': [Index(fields=['community_id', 'shown', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Comment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('parent', fields.ForeignKeyField('models.Comment', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('text', fields.TextField(unique=False)),
                ('images', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('shown', fields.CharEnumField(description='VISIBLE: visible\nHELD: held\nREMOVED: removed', enum_type=Shown, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'comments', 'app': 'models', 'indexes': [Index(fields=['post_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostLike',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='likes', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='post_likes', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'post_likes', 'app': 'models', 'constraints': [UniqueConstraint(fields=('post_id', 'user_id'), name='uq_post_like')], 'pk_attr': 'id', 'table_description': 'One row per person per post: a like is an insert, never an update of a counter, so'},
            bases=['Model'],
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_post_like" ON "post_likes" (post_id, user_id)',
            reverse_sql='DROP INDEX "uq_post_like"',
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_following_leader" ON "followings" (follower_id, leader_id) '
            "WHERE leader_id IS NOT NULL",
            reverse_sql='DROP INDEX "uq_following_leader"',
        ),
        ops.RunSQL(
            'CREATE UNIQUE INDEX "uq_following_community" ON "followings" (follower_id, community_id) '
            "WHERE community_id IS NOT NULL",
            reverse_sql='DROP INDEX "uq_following_community"',
        ),
        ops.RunSQL(
            'ALTER TABLE "followings" ADD CONSTRAINT "ck_following_one" '
            "CHECK ((leader_id IS NULL) <> (community_id IS NULL))",
            reverse_sql='ALTER TABLE "followings" DROP CONSTRAINT "ck_following_one"',
        ),
    ]
