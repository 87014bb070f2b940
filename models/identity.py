"""Leaders' identity: real name and phone, as a verification provider confirmed them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class IdentityStatus(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"  # the provider said the name and the phone do not belong together


class LeaderIdentity(Model):
    """A leader's latest verification: verified before they may take payments."""

    id = fields.UUIDField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="identity")
    # The name and phone checked are the person's details, sealed (services/personal.py).
    status = fields.CharEnumField(IdentityStatus, max_length=16)
    provider = fields.CharField(max_length=32)
    reference = fields.CharField(max_length=64, default="")  # the provider's id of the check
    reason = fields.CharField(max_length=255, default="")
    verified_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "leader_identities"
