"""H5 visits: a page opened in a browser counts as a visit, as a mini-program entry does.

The page reports itself (a beacon after it has loaded), so the link-preview fetchers that
read a card's meta tags count nothing. A browser is nobody we know: the visit has no user
and binds no invitee, but it carries the code that brought it, so the sharer, community and
campaign are credited as for an entry. One visit per browser (its cookie), page and day.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from models.growth import ShareCode, Visit, VisitSource
from qunshop.errors import QunshopError
from services import share_codes

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

ONCE_PER = timedelta(days=1)
ANONYMOUS = "h5_anonymous"  # the outcome: nobody to bind
MAX_TICKET = 200


@dataclass(frozen=True)
class Ticket:
    """What a page tells its beacon to report: which page, in which community and campaign.

    Signed, so a beacon cannot credit a community or campaign the page was not about."""

    page: str
    community_id: uuid.UUID | None
    campaign_id: uuid.UUID | None


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), f"h5visit:{body}".encode(), hashlib.sha256).hexdigest()[:20]


def ticket(
    *, secret: str, page: str, community_id: uuid.UUID | None, campaign_id: uuid.UUID | None
) -> str:
    body = f"{page}~{community_id or ''}~{campaign_id or ''}"
    return f"{body}~{_mac(secret, body)}"


def read_ticket(text: str, *, secret: str) -> Ticket | None:
    if len(text) > MAX_TICKET or text.count("~") != 3:
        return None
    body, mac = text.rsplit("~", 1)
    if not hmac.compare_digest(mac.encode(), _mac(secret, body).encode()):
        return None
    page, community, campaign = body.split("~")
    try:
        return Ticket(
            page=page,
            community_id=uuid.UUID(community) if community else None,
            campaign_id=uuid.UUID(campaign) if campaign else None,
        )
    except ValueError:
        return None


async def record(
    *,
    visitor: str,
    page: str,
    code: str | None,
    community_id: uuid.UUID | None,
    campaign_id: uuid.UUID | None,
    redis: Redis,
    secret: str,
    now: datetime,
) -> Visit | None:
    """The visit of ``visitor`` (an opaque browser id) to ``page``; None if already counted.

    A code that does not resolve is recorded as its refusal, attributing nothing (as the
    follow attribution does)."""
    first = await redis.set(
        f"qunshop:h5visit:{visitor}:{page}", 1, ex=int(ONCE_PER.total_seconds()), nx=True
    )
    if not first:
        return None
    share: ShareCode | None = None
    outcome = ANONYMOUS
    if code:
        try:
            share = await share_codes.resolve(code, secret=secret, now=now)
        except QunshopError as exc:
            outcome = exc.code.value
    return await Visit.create(
        user_id=None,
        source=VisitSource.H5,
        code_id=share.id if share else None,
        sharer_id=share.sharer_id if share else None,
        community_id=(share.community_id if share else None) or community_id,
        campaign_id=(share.campaign_id if share else None) or campaign_id,
        outcome=outcome,
        created_at=now,
    )
