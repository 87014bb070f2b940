"""Side effects that leave the process, written in the transaction that causes them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"  # gave up after the last attempt; kept for a person to look at


class OutboxMessage(Model):
    id = fields.UUIDField(primary_key=True)
    kind = fields.CharField(max_length=32)  # "refund.submit", "chat.send", ...
    payload = fields.JSONField(default=dict)
    # The same effect enqueued twice (a replayed notify) is one row.
    dedupe_key = fields.CharField(max_length=128, unique=True)
    status = fields.CharEnumField(
        OutboxStatus, max_length=16, default=OutboxStatus.PENDING, db_index=True
    )
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"


class IdempotencyRecord(Model):
    """The answer to a request sent with an Idempotency-Key, written in the transaction of
    its effect: a repeat after any crash finds both or neither (miniapp_api/idempotency.py)."""

    id = fields.UUIDField(primary_key=True)
    slot = fields.CharField(max_length=200, unique=True)  # the caller, and the key's digest
    fingerprint = fields.CharField(max_length=64)  # the request's method, path and body
    status = fields.SmallIntField()
    body = fields.TextField()
    content_type = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_records"
