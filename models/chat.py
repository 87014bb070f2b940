"""Who is who in the chat platforms, and who followed whom."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class ChatIdentity(Model):
    """A platform user id (OA openid, WeCom userid) tied to our user."""

    id = fields.UUIDField(primary_key=True)
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    user = fields.ForeignKeyField("models.User", related_name="chat_identities")
    # Official Account openids have one (cgi-bin/user/info) when the account and the
    # mini-program share an Open Platform account: the key to linking them without a token.
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
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


class LinkVia(StrEnum):
    TOKEN = "token"  # a signed link token from a chat reply, redeemed after mini-program login
    UNIONID = "unionid"  # WeChat said both are one person
    LEADER_CODE = "leader_code"  # a leader typed the code their account was given


class AccountLink(Model):
    """A chat identity bound to a mini-program account, once and for good.

    The unique chat identity is the database's promise that no identity is ever bound to two
    accounts; the unique token id makes every link token single-use.
    """

    id = fields.UUIDField(primary_key=True)
    identity = fields.OneToOneField("models.ChatIdentity", related_name="link")
    # The chat-only user the identity had before (its rows moved to ``account``).
    from_user = fields.ForeignKeyField("models.User", related_name="links_out")
    account = fields.ForeignKeyField("models.User", related_name="links_in")
    via = fields.CharEnumField(LinkVia, max_length=16)
    token_id = fields.CharField(max_length=32, null=True, unique=True)
    moved = fields.JSONField(default=dict)  # what moved over, by kind: {"orders": 2, ...}
    created_at = fields.DatetimeField()

    class Meta:
        table = "account_links"
