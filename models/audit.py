"""The operators' audit log: every change made in the operator console, append-only."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    id = fields.UUIDField(primary_key=True)
    # The actor by id and name as they were: no foreign key, so the log outlives accounts
    # merged or removed later, and a row never changes (migration 0018 refuses it).
    actor_id = fields.UUIDField()
    actor_name = fields.CharField(max_length=64)
    action = fields.CharField(max_length=64)  # "user.role", "sku.update", "outbox.retry" ...
    target = fields.CharField(max_length=128, db_index=True)  # "user:<id>", "sku:<id>" ...
    before = fields.JSONField(default=dict)
    after = fields.JSONField(default=dict)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "audit_log"
