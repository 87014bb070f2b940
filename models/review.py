"""Reviews after pickup: one per order (an order is one line: one SKU, a quantity)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.moderation import Shown


class Review(Model):
    id = fields.UUIDField(primary_key=True)
    order = fields.OneToOneField("models.Order", related_name="review")  # one per order line
    author = fields.ForeignKeyField(
        "models.User", related_name="reviews", on_delete=fields.RESTRICT
    )
    product = fields.ForeignKeyField("models.Product", related_name="reviews")
    campaign = fields.ForeignKeyField("models.Campaign", related_name="reviews", null=True)
    community = fields.ForeignKeyField("models.Community", related_name="reviews", null=True)
    rating = fields.SmallIntField()  # 1..5 (CHECK ck_review_rating)
    text = fields.TextField(default="")
    images = fields.JSONField(default=list)  # up to 9 https URLs
    shown = fields.CharEnumField(Shown, max_length=16, db_index=True)
    reply_text = fields.TextField(default="")  # the leader's answer
    # Who wrote it: the community's leader or an operator (None: a reply older than 0330
    # that no moderation row names).
    replied_by = fields.ForeignKeyField(
        "models.User", related_name="review_replies", null=True, on_delete=fields.RESTRICT
    )
    reply_shown = fields.CharEnumField(Shown, max_length=16, default=Shown.VISIBLE)
    replied_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "reviews"
