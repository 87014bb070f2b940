"""People's rights over their data (PIPL): personal details kept sealed, erasures recorded."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class PersonalDetails(Model):
    """A person's phone number and real name, each AES-GCM sealed with the settings' key
    (``services.personal``): the database never holds them in the clear."""

    id = fields.UUIDField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="personal_details")
    phone_sealed = fields.TextField(default="")
    real_name_sealed = fields.TextField(default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "personal_details"


class Erasure(Model):
    """An account erased at its owner's request: its personal fields are gone, its orders and
    payments stay (without identity) until ``keep_until``, when the retention job strips
    what is left (payment payloads, pickup codes)."""

    id = fields.UUIDField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="erasure")
    erased_at = fields.DatetimeField()
    keep_until = fields.DatetimeField(db_index=True)
    swept_at = fields.DatetimeField(null=True)
    summary = fields.JSONField(default=dict)  # what was erased, by table: {"users": 1, ...}

    class Meta:
        table = "erasures"
