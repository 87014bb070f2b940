"""Who is who in the chat platforms, and who followed whom."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class ChatIdentity(Model):
    """A platform user id (OA openid, WeCom userid) tied to our user."""

    id = fields.UUIDField(primary_key=True)
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    user = fields.ForeignKeyField("models.User", related_name="chat_identities")
    # Customer-service messages may be sent for 48 hours after the user last spoke to us.
    last_seen_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_identities"
        constraints = (
            UniqueConstraint(fields=("platform", "external_id"), name="uq_chat_identity"),
        )


class Follow(Model):
    """A follow (or scan) of the Official Account, with the QR scene that brought it."""

    id = fields.UUIDField(primary_key=True)
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128, db_index=True)
    scene = fields.CharField(max_length=64, null=True)  # the qrscene_ payload, as sent
    event = fields.CharField(max_length=16)  # subscribe, SCAN, unsubscribe
    created_at = fields.DatetimeField()

    class Meta:
        table = "follows"
