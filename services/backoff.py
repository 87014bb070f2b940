"""The one backoff schedule: ``first``, then twice as long each time, at most ``cap``.

Used by the outbox (seconds to minutes), failing activities (minutes to an hour) and chat
dispatches that met an outage (seconds).
"""

from __future__ import annotations

from datetime import timedelta

_MAX_DOUBLINGS = 32  # far past any cap; keeps the multiplication in range


def delay(attempt: int, *, first: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after failure number ``attempt`` (1, 2, ...) before the next try."""
    return min(first * 2 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS), cap)
