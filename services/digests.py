"""Leaders' daily digest: the questions asked and the reports made in their community in the
last day, sent to the leader alone (the chat identity they used last) through the outbox,
once per leader per day (the outbox's key)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.chat import ChatIdentity
from models.community import Community
from models.moderation import ContentReport, ModerationItem, Shown
from models.qa import Question
from services import accounts

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=1)
LISTED = 10


@dataclass(frozen=True)
class Digest:
    community: Community
    questions: list[Question] = field(default_factory=list)
    reports: list[tuple[ModerationItem, int]] = field(default_factory=list)  # item, new reports

    @property
    def empty(self) -> bool:
        return not self.questions and not self.reports


async def gather(*, until: datetime) -> list[Digest]:
    """Per community with something new in the day before ``until``."""
    since = until - WINDOW
    questions = await Question.filter(
        created_at__gte=since,
        created_at__lt=until,
        shown=Shown.VISIBLE,
        community_id__not_isnull=True,
    ).order_by("created_at")
    reports = await ContentReport.filter(created_at__gte=since, created_at__lt=until).values(
        "item_id"
    )
    counts: dict[object, int] = {}
    for row in reports:
        counts[row["item_id"]] = counts.get(row["item_id"], 0) + 1
    items = await ModerationItem.filter(id__in=list(counts), community_id__not_isnull=True)
    ids = {q.community_id for q in questions} | {i.community_id for i in items}
    communities = {c.id: c for c in await Community.filter(id__in=list(ids))}
    return [
        Digest(
            community=communities[cid],
            questions=[q for q in questions if q.community_id == cid][:LISTED],
            reports=[(i, counts[i.id]) for i in items if i.community_id == cid][:LISTED],
        )
        for cid in sorted(communities, key=str)
    ]


async def send(*, now: datetime, day: str, render: Callable[[Digest], str]) -> int:
    """Queue each leader's digest of the day before ``now``; the number queued."""
    sent = 0
    for digest in await gather(until=now):
        identity = (
            await ChatIdentity.filter(user_id=digest.community.leader_id)
            .order_by("-last_seen_at")
            .first()
        )
        if identity is None:
            logger.info("leader of %s has no chat identity: no digest", digest.community.id)
            continue
        if await accounts.send_privately(
            platform=identity.platform,
            external_id=identity.external_id,
            text=render(digest),
            dedupe_key=f"digest:{digest.community.id}:{day}",
            now=now,
        ):
            sent += 1
    return sent
