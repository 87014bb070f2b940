"""Keyset page cursors, newest first: the last item's (created_at, id), opaque to callers.

One mechanism for every list a page at a time (products, a shopper's orders)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from tortoise.expressions import Q

from qunshop.errors import ErrorCode, Invalid


def encode(created_at: datetime, key: uuid.UUID) -> str:
    raw = f"{created_at.astimezone(UTC).isoformat()}|{key}"
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _refused() -> Invalid:
    msg = "not a cursor this API gave"
    return Invalid(
        ErrorCode.INVALID_CURSOR,
        f"cursor: {msg}",
        errors=[{"loc": ["cursor"], "msg": msg, "type": ErrorCode.INVALID_CURSOR.value}],
    )


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        when, key = datetime.fromisoformat(stamp), uuid.UUID(ident)
    except ValueError:
        raise _refused() from None
    if when.tzinfo is None:
        raise _refused()
    return when.astimezone(UTC), key


def after(cursor: str) -> Q:
    """The rows past the cursor, in ``order_by("-created_at", "-id")``."""
    when, key = decode(cursor)
    return Q(created_at__lt=when) | Q(created_at=when, id__lt=key)
