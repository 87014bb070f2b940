"""The operators' audit log: who changed what, with the values before and after.

``record`` is called inside the transaction of the change it describes, so a change and its
entry commit together or not at all. The table refuses updates and deletes (0018).

The log says who did what, not how to reach anyone: a mobile number in what it copies (a
note, a reason, a name) is masked on the way in (``services.phones``), so an entry outlives
the person it mentions without their number. Entries written before that keep what they
copied: the log is the evidence of what was done, and rewriting it would need the one
exception the append-only trigger makes for an erasure (0101) widened to every row. They are
read by operators only; how long the log is kept is not decided yet (no retention job reads
it).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.audit import AuditEntry
from models.user import User
from qunshop.errors import ErrorCode, Forbidden
from services import cursors
from services.phones import mask_mobiles, mask_within

if TYPE_CHECKING:
    from services.auth import Principal

SHOWN = 100
PAGE = 50  # entries on one page of the log
MAX_PAGE = 200


def ensure_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "only operators may do this")


async def record(
    *,
    actor: Principal,
    action: str,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
) -> AuditEntry:
    who = await User.get_or_none(id=actor.user_id)
    return await AuditEntry.create(
        actor_id=actor.user_id,
        actor_name=mask_mobiles(who.nickname or who.openid)[:64] if who else "?",
        action=action,
        target=target,
        before=mask_within(before),
        after=mask_within(after),
        at=now,
    )


async def recent(*, actor: Principal, target: str | None = None) -> list[AuditEntry]:
    entries, _ = await page(actor=actor, target=target, limit=SHOWN)
    return entries


async def page(
    *,
    actor: Principal,
    target: str | None = None,
    limit: int = PAGE,
    cursor: str | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, ``limit`` entries (at most ``MAX_PAGE``) after ``cursor``; and the
    cursor of the next page (None: no more)."""
    ensure_admin(actor)
    query = AuditEntry.all() if target is None else AuditEntry.filter(target=target)
    return await cursors.page(query, limit=min(max(limit, 1), MAX_PAGE), cursor=cursor, stamp="at")
