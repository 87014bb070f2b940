"""The outbox: effects that leave the process are rows written in the causing transaction,
sent after the commit by a worker, retried with backoff, never lost and never doubled."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q

from models.outbox import OutboxMessage, OutboxStatus
from services.backoff import delay

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
Handler = Callable[[dict[str, Any]], Awaitable[None]]
_PAYLOAD = OutboxMessage._meta.fields_map["payload"]


class RetryLater(Exception):
    """A handler's effect failed for now (network, provider busy): try again later."""


class GiveUp(Exception):
    """A handler's effect can never succeed as asked: park the message for a person."""


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... seconds, capped at ten minutes."""
    return delay(attempts, first=timedelta(seconds=2), cap=timedelta(minutes=10))


# One statement, no savepoint: a duplicate key is skipped by the database, not raised, so
# it cannot poison the caller's transaction (and costs one round trip, not three).
_ENQUEUE_SQL = """
INSERT INTO outbox (id, kind, payload, dedupe_key, status, attempts, next_attempt_at,
                    last_error, created_at)
VALUES ($1, $2, $3, $4, $5, 0, $6, '', $7)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING 1
"""


async def enqueue(kind: str, payload: dict[str, Any], *, dedupe_key: str, now: datetime) -> bool:
    """Record an effect in the current transaction. False if it was already recorded."""
    rows = await connections.get("default").execute_query_dict(
        _ENQUEUE_SQL,
        [
            uuid.uuid4(),
            kind,
            _PAYLOAD.encoder(payload),
            dedupe_key,
            OutboxStatus.PENDING.value,
            now,
            datetime.now(tz=UTC),  # created_at: the wall clock, as Tortoise's auto_now_add
        ],
    )
    return bool(rows)


async def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    due = (
        await OutboxMessage.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            status=OutboxStatus.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .limit(limit)
    )
    claimed = []
    for message in due:
        # The lease is a conditional update: of several workers, one wins each message. It
        # holds only if the row is still as listed (same attempts, still due), so a worker
        # whose list went stale cannot take a message another worker retried meanwhile.
        won = await OutboxMessage.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            id=message.id,
            status=OutboxStatus.PENDING,
            attempts=message.attempts,
            next_attempt_at__lte=now,
        ).update(locked_until=now + LEASE, attempts=message.attempts + 1)
        if won == 1:
            message.attempts += 1
            claimed.append(message)
    return claimed


async def run_once(handlers: Mapping[str, Handler], *, now: datetime, limit: int = 50) -> int:
    """Send what is due. Returns how many messages were handled (done, retried or parked)."""
    messages = await _claim(now, limit)
    for message in messages:
        handler = handlers.get(message.kind)
        try:
            if handler is None:
                raise GiveUp(f"no handler for {message.kind}")
            await handler(message.payload)
        except RetryLater as exc:
            await _retry(message, str(exc), now)
        except GiveUp as exc:
            logger.error("outbox %s %s parked: %s", message.kind, message.id, exc)
            await _finish(message, OutboxStatus.DEAD, now, str(exc))
        except Exception as exc:
            logger.exception("outbox %s %s failed", message.kind, message.id)
            await _retry(message, f"{type(exc).__name__}: {exc}", now)
        else:
            await _finish(message, OutboxStatus.DONE, now, "")
    return len(messages)


async def _retry(message: OutboxMessage, error: str, now: datetime) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        logger.error(
            "outbox %s %s parked after %s attempts", message.kind, message.id, message.attempts
        )
        await _finish(message, OutboxStatus.DEAD, now, error)
        return
    await OutboxMessage.filter(id=message.id).update(
        locked_until=None, next_attempt_at=now + backoff(message.attempts), last_error=error[:2000]
    )


async def _finish(message: OutboxMessage, status: OutboxStatus, now: datetime, error: str) -> None:
    await OutboxMessage.filter(id=message.id).update(
        status=status, locked_until=None, done_at=now, last_error=error[:2000]
    )
