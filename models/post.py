"""Community posts (晒单 and posts), their likes and comments, and follows."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model

from models.moderation import Shown


class PostKind(StrEnum):
    SHOW = "show"  # 晒单: what one bought
    POST = "post"


class Post(Model):
    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField("models.Community", related_name="posts")
    author = fields.ForeignKeyField("models.User", related_name="posts", on_delete=fields.RESTRICT)
    kind = fields.CharEnumField(PostKind, max_length=8)
    text = fields.TextField(default="")
    images = fields.JSONField(default=list)
    product = fields.ForeignKeyField(
        "models.Product", related_name="posts", null=True, on_delete=fields.RESTRICT
    )
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="posts", null=True, on_delete=fields.RESTRICT
    )
    shown = fields.CharEnumField(Shown, max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "posts"
        indexes = (("community_id", "shown", "created_at"),)


class PostLike(Model):
    """One row per person per post: a like is an insert, never an update of a counter, so
    a thousand people liking one post at once do not queue on one row."""

    id = fields.UUIDField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="likes")
    user = fields.ForeignKeyField("models.User", related_name="post_likes")
    created_at = fields.DatetimeField()

    class Meta:
        table = "post_likes"
        constraints = (UniqueConstraint(fields=("post_id", "user_id"), name="uq_post_like"),)


class Comment(Model):
    id = fields.UUIDField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="comments")
    community = fields.ForeignKeyField("models.Community", related_name="comments")
    author = fields.ForeignKeyField(
        "models.User", related_name="comments", on_delete=fields.RESTRICT
    )
    parent = fields.ForeignKeyField("models.Comment", related_name="replies", null=True)
    text = fields.TextField()
    images = fields.JSONField(default=list)  # none today; moderation reads every item's
    shown = fields.CharEnumField(Shown, max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "comments"
        indexes = (("post_id", "created_at"),)


class Following(Model):
    """Someone follows a leader or a community (exactly one of the two)."""

    id = fields.UUIDField(primary_key=True)
    follower = fields.ForeignKeyField("models.User", related_name="followings")
    leader = fields.ForeignKeyField("models.User", related_name="followers", null=True)
    community = fields.ForeignKeyField("models.Community", related_name="followers", null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "followings"
