"""Idempotency-Key: a repeat replays the first response; the same key with another body is 409.

Kept in Redis for 24 hours, per caller, so two shoppers' keys never collide.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from qunshop.errors import Conflict, ErrorCode, Invalid
from qunshop.keys import REDIS

TTL_SECONDS = 24 * 3600
# How long a first request may hold its key while running; a crashed one frees it after this.
RUNNING_SECONDS = 60
HEADER = "Idempotency-Key"


async def idempotent(
    request: web.Request, caller: str, produce: Callable[[], Awaitable[web.Response]]
) -> web.Response:
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    if not 1 <= len(key) <= 128:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"{HEADER} must be 1..128 characters")
    body = await request.read()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + body
    ).hexdigest()
    redis = request.config_dict[REDIS]
    slot = f"idem:{caller}:{hashlib.sha256(key.encode()).hexdigest()}"
    claimed = await redis.set(
        slot, json.dumps({"fp": fingerprint, "state": "running"}), nx=True, ex=RUNNING_SECONDS
    )
    if not claimed:
        raw = await redis.get(slot)
        if raw is None:  # expired between the two calls: treat as new
            return await idempotent(request, caller, produce)
        seen = json.loads(raw)
        if seen["fp"] != fingerprint:
            raise Conflict(
                ErrorCode.IDEMPOTENCY_KEY_REUSED, f"this {HEADER} was used with another request"
            )
        if seen["state"] == "running":
            raise Conflict(
                ErrorCode.IDEMPOTENCY_IN_PROGRESS, "the first request with this key is running"
            )
        return web.Response(
            status=seen["status"],
            body=seen["body"].encode(),
            content_type=seen["content_type"],
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await produce()
    except BaseException:
        # Failed before an answer: let the client retry with the same key.
        await redis.delete(slot)
        raise
    record = {
        "fp": fingerprint,
        "state": "done",
        "status": response.status,
        "body": response.text or "",
        "content_type": response.content_type,
    }
    await redis.set(slot, json.dumps(record), ex=TTL_SECONDS)
    return response
