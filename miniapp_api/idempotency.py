"""Idempotency-Key: a repeat replays the first response; the same key with another body is 409.

The answer is recorded in the database, in the transaction of the request's effect
(services/idempotency.py), per caller, so two shoppers' keys never collide and a crash
between the effect and its record cannot happen. A short Redis claim tells a repeat that
arrives while the first request runs to wait (409 idempotency_in_progress).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from qunshop.errors import Conflict, ErrorCode, Invalid
from qunshop.keys import CLOCK, REDIS
from services import idempotency
from services.idempotency import Answer

if TYPE_CHECKING:
    import uuid

# How long a first request may hold its key while running; a crashed one frees it after this.
RUNNING_SECONDS = 60
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # on an answer replayed from its record


def keyed(request: web.Request) -> bool:
    """Whether the request sends an Idempotency-Key."""
    return HEADER in request.headers


def _response(answer: Answer) -> web.Response:
    return web.Response(
        status=answer.status,
        body=answer.body.encode(),
        content_type=answer.content_type,
        headers={REPLAYED: "true"},
    )


async def idempotent(
    request: web.Request, caller: uuid.UUID, produce: Callable[[], Awaitable[web.Response]]
) -> web.Response:
    """Called when the request sends the header (``miniapp_api.spec``)."""
    key = request.headers[HEADER]
    if not 1 <= len(key) <= 128:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"{HEADER} must be 1..128 characters")
    body = await request.read()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + body
    ).hexdigest()
    slot = idempotency.slot_of(str(caller), key)
    now = request.config_dict[CLOCK].now()
    if (seen := await idempotency.recorded(slot, fingerprint=fingerprint, now=now)) is not None:
        return _response(seen)
    redis = request.config_dict[REDIS]
    running = f"idem:{slot}"
    if not await redis.set(running, fingerprint, nx=True, ex=RUNNING_SECONDS):
        seen = await idempotency.recorded(slot, fingerprint=fingerprint, now=now)
        if seen is not None:  # finished meanwhile
            return _response(seen)
        raise Conflict(
            ErrorCode.IDEMPOTENCY_IN_PROGRESS, "the first request with this key is running"
        )
    fresh: list[web.Response] = []

    async def answer() -> Answer:
        response = await produce()
        fresh.append(response)
        return Answer(response.status, response.text or "", response.content_type)

    try:
        done = await idempotency.run_once(slot, fingerprint=fingerprint, now=now, produce=answer)
    finally:  # answered, or failed before an answer: either way the key is free again
        await redis.delete(running)
    return _response(done) if done.replayed else fresh[-1]
