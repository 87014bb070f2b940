"""What the server's front page shows a person who just started it: in development, the
people one may enter the consoles as and the teams one may open, so the web door can be
walked without a chat first. Production shows none of it (the door checks the mode)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.groupbuy import Team, TeamStatus
from models.user import User
from qunshop.errors import ErrorCode, Forbidden
from services import console_login, cursors

if TYPE_CHECKING:
    from datetime import datetime

SHOWN = 10  # staff listed at most (a tour, not a directory), and open teams a page


@dataclass(frozen=True)
class OpenTeam:
    code: str
    campaign: str
    seats_held: int
    size: int


@dataclass(frozen=True)
class Tour:
    staff: list[User]  # operators first, then leaders
    teams: list[OpenTeam]  # open, deadline ahead, soonest first; a page of them
    more: str | None = None  # the cursor of the next page of teams (None: this was the last)


async def tour(*, now: datetime, cursor: str | None = None) -> Tour:
    """The staff, and a page of the open teams (``SHOWN``, after ``cursor``, the previous
    page's ``more``: a page taken by hand is refused as ``invalid_cursor``)."""
    staff = (  # "admin" sorts before "leader"
        await User.filter(role__in=console_login.STAFF).order_by("role", "created_at").limit(SHOWN)
    )
    teams, more = await cursors.page(
        Team.filter(status=TeamStatus.OPEN, deadline_at__gt=now).select_related("campaign"),
        limit=SHOWN,
        cursor=cursor,
        stamp="deadline_at",
        ascending=True,
    )
    return Tour(
        staff=staff,
        teams=[OpenTeam(t.code, t.campaign.title, t.seats_held, t.size) for t in teams],
        more=more,
    )


async def staff_member(user_ref: str) -> User:
    """The operator or leader a development login enters the console as; anyone else, or
    no one, is refused as the console refuses a shopper."""
    try:
        user = await User.get_or_none(id=uuid.UUID(user_ref))
    except ValueError:
        user = None
    if user is None or user.role not in console_login.STAFF:
        raise Forbidden(ErrorCode.FORBIDDEN, "the console is for leaders")
    return user
