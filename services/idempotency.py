"""Idempotency-Key records: the answer to a request, kept in the transaction of its effect.

The effect and the record commit together, so a repeat after a crash anywhere finds both
(and replays the answer) or neither (and runs it again). Of two requests with one key that
run at once, the first to commit keeps its record; the other's insert fails on the unique
slot, which rolls back its effect too, and it answers with the first one's record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.outbox import IdempotencyRecord
from qunshop.errors import Conflict, ErrorCode

TTL = timedelta(hours=24)  # a key may be repeated this long; then it is a new request


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str
    replayed: bool = False


class _Taken(Exception):
    """Another request with this key committed first."""


def slot_of(caller: str, key: str) -> str:
    return f"{caller}:{hashlib.sha256(key.encode()).hexdigest()}"


async def recorded(slot: str, *, fingerprint: str, now: datetime) -> Answer | None:
    """The answer recorded for ``slot`` within the TTL; 409 if it was another request."""
    seen = await IdempotencyRecord.get_or_none(slot=slot, created_at__gt=now - TTL)
    if seen is None:
        return None
    if seen.fingerprint != fingerprint:
        raise Conflict(
            ErrorCode.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was used with another request"
        )
    return Answer(seen.status, seen.body, seen.content_type, replayed=True)


async def run_once(
    slot: str, *, fingerprint: str, now: datetime, produce: Callable[[], Awaitable[Answer]]
) -> Answer:
    """``produce()`` and its record in one transaction, unless the key has an answer."""
    if (answer := await recorded(slot, fingerprint=fingerprint, now=now)) is not None:
        return answer
    await IdempotencyRecord.filter(slot=slot, created_at__lte=now - TTL).delete()  # expired
    try:
        async with in_transaction():  # the services' own transactions become savepoints
            answer = await produce()
            try:
                async with in_transaction():
                    await IdempotencyRecord.create(
                        slot=slot,
                        fingerprint=fingerprint,
                        status=answer.status,
                        body=answer.body,
                        content_type=answer.content_type,
                        created_at=now,
                    )
            except IntegrityError as exc:
                raise _Taken from exc  # rolls back this request's effect with it
    except _Taken:
        first = await recorded(slot, fingerprint=fingerprint, now=now)
        if first is None:  # expired meanwhile: cannot happen within one request's time
            raise
        return first
    return answer


async def purge(*, now: datetime) -> int:
    """Forget answers past the TTL."""
    return await IdempotencyRecord.filter(created_at__lte=now - TTL).delete()
