"""Questions on products, answered by the community's leader or by buyers of the product."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.moderation import Shown


class Question(Model):
    id = fields.UUIDField(primary_key=True)
    product = fields.ForeignKeyField("models.Product", related_name="questions")
    community = fields.ForeignKeyField("models.Community", related_name="questions", null=True)
    author = fields.ForeignKeyField(
        "models.User", related_name="questions", on_delete=fields.RESTRICT
    )
    text = fields.TextField()
    shown = fields.CharEnumField(Shown, max_length=16)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "questions"


class Answer(Model):
    id = fields.UUIDField(primary_key=True)
    question = fields.ForeignKeyField("models.Question", related_name="answers")
    community = fields.ForeignKeyField("models.Community", related_name="answers", null=True)
    author = fields.ForeignKeyField(
        "models.User", related_name="answers", on_delete=fields.RESTRICT
    )
    text = fields.TextField()
    by_leader = fields.BooleanField(default=False)
    by_buyer = fields.BooleanField(default=False)  # bought the product: shown as a buyer
    best = fields.BooleanField(default=False)  # one per question (uq_answer_best)
    shown = fields.CharEnumField(Shown, max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "answers"
