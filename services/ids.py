"""Opaque ids from the outside world: a malformed one is simply not found."""

from __future__ import annotations

import uuid


def parse_uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
