"""Parked side effects: outbox messages the worker gave up on, and the refunds behind them.

An operator looks at why (``last_error``) and sends one again: the message goes back to
pending with a fresh count of attempts, by a conditional update from ``dead`` so two
operators pressing at once retry it once. The change is audited in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Refund, RefundStatus
from qunshop.errors import Conflict, ErrorCode, NotFound
from services import audit, refunds
from services.auth import Principal
from services.ids import parse_uuid
from services.refunds import SUBMIT

SHOWN = 100


@dataclass(frozen=True)
class Parked:
    message: OutboxMessage
    refund: Refund | None  # the refund a parked refund.submit was to send


async def parked(*, actor: Principal) -> list[Parked]:
    audit.ensure_admin(actor)
    messages = (
        await OutboxMessage.filter(status=OutboxStatus.DEAD).order_by("-done_at").limit(SHOWN)
    )
    refund_ids = [m.payload.get("refund_id") for m in messages if m.kind == SUBMIT]
    refunds = {
        str(r.id): r
        for r in await Refund.filter(id__in=[parse_uuid(i) for i in refund_ids if parse_uuid(i)])
    }
    return [
        Parked(m, refunds.get(str(m.payload.get("refund_id"))) if m.kind == SUBMIT else None)
        for m in messages
    ]


async def failed_refunds(*, actor: Principal) -> list[Refund]:
    """Refunds WeChat Pay closed (REFUNDCLOSE): money still owed, for a person to settle."""
    audit.ensure_admin(actor)
    return await Refund.filter(status=RefundStatus.FAILED).order_by("-created_at").limit(SHOWN)


async def stuck_refunds(*, actor: Principal, now: datetime) -> list[Refund]:
    """Refunds WeChat Pay has not settled long after they were owed (a lost notify, say):
    the clock asks after them (``refunds.schedule_queries``); the operator sees them."""
    audit.ensure_admin(actor)
    return (await refunds.stuck(now=now))[:SHOWN]


async def retry(*, actor: Principal, message_id: str, now: datetime) -> OutboxMessage:
    audit.ensure_admin(actor)
    key = parse_uuid(message_id)
    async with in_transaction():
        message = await OutboxMessage.get_or_none(id=key) if key else None
        if message is None:
            raise NotFound(ErrorCode.OUTBOX_MESSAGE_NOT_FOUND, "no such outbox message")
        moved = await OutboxMessage.filter(id=message.id, status=OutboxStatus.DEAD).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            done_at=None,
        )
        if moved != 1:
            raise Conflict(ErrorCode.OUTBOX_MESSAGE_NOT_PARKED, "this message is not parked")
        await audit.record(
            actor=actor,
            action="outbox.retry",
            target=f"outbox:{message.id}",
            before={
                "status": message.status.value,
                "attempts": message.attempts,
                "last_error": message.last_error[:200],
            },
            after={"status": OutboxStatus.PENDING.value, "attempts": 0, "kind": message.kind},
            now=now,
        )
    return await OutboxMessage.get(id=message.id)
