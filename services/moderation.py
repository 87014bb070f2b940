"""Moderation, in front of everything people say to each other through the shop.

``screen`` is asked before anything a person wrote is shown or sent:

1. a muted person is refused (``user_muted``, with the time the mute ends);
2. the keyword filter (services/word_filter.py): a banned word refuses the text with the
   reason (``content_refused``) and counts as an offence;
3. WeChat's ``msgSecCheck`` v2 on the text, when the door has WeChat (``Screen``) and the
   author has a mini-program openid: ``risky`` refuses like a banned word, ``review`` holds;
4. WeChat's ``mediaCheckAsync`` on each image: the item waits, out of sight, for the pushes.

A held item gets a ``ModerationItem`` (``hold``, in the caller's transaction); its content
stays out of sight until every image verdict passed (it is then shown) or an operator
approves it (``decide``). Reports (``report``) put an item in the operators' queue; after
``HIDE_AFTER_REPORTS`` people reported it, it is hidden until an operator decides.
``MUTE_AFTER`` offences within ``MUTE_WINDOW`` mute the person for ``MUTE_FOR``.

If WeChat cannot be reached, the keyword filter's verdict stands (logged): content keeps
flowing through an outage, and reports and operators still catch what slipped through.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from models.community import Community
from models.moderation import (
    ContentReport,
    ItemStatus,
    MediaCheck,
    ModerationItem,
    Mute,
    Offence,
    Shown,
)
from models.user import User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import audit, communities, notify, word_filter
from wechat import security
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis
    from tortoise.models import Model

    from qunshop.config import Settings
    from services.auth import Principal

logger = logging.getLogger(__name__)

MUTE_AFTER = 3  # offences ...
MUTE_WINDOW = timedelta(hours=24)  # ... within a day ...
MUTE_FOR = timedelta(hours=24)  # ... mute a person for a day
HIDE_AFTER_REPORTS = 3  # distinct reporters hide an item until an operator decides
QUEUE_SHOWN = 100
CHECK_TIMEOUT = 3.0  # a person waits this long at most for WeChat's text verdict


class Kind(StrEnum):
    ANNOUNCEMENT = "announcement"  # a leader's 公告 into the group
    ACTIVITY = "activity"  # a scheduled activity's text
    NICKNAME = "nickname"  # shown on cards and teams
    REVIEW = "review"
    REPLY = "reply"  # a leader's reply to a review
    POST = "post"
    COMMENT = "comment"
    QUESTION = "question"
    ANSWER = "answer"


# WeChat's scene for each kind (security.SCENE_*).
SCENES = {
    Kind.ANNOUNCEMENT: security.SCENE_FORUM,
    Kind.ACTIVITY: security.SCENE_FORUM,
    Kind.NICKNAME: security.SCENE_PROFILE,
    Kind.REVIEW: security.SCENE_COMMENT,
    Kind.REPLY: security.SCENE_COMMENT,
    Kind.POST: security.SCENE_SOCIAL,
    Kind.COMMENT: security.SCENE_COMMENT,
    Kind.QUESTION: security.SCENE_FORUM,
    Kind.ANSWER: security.SCENE_FORUM,
}


@dataclass(frozen=True)
class Target:
    """A content table (with author_id, community_id and images) whose rows a verdict
    shows or hides through its ``shown`` column, and whose ``text`` the queue shows."""

    model: type[Model]
    shown: str = "shown"
    text: str = "text"
    # What else a verdict does, in its transaction: (ref, approved, now).
    decided: Callable[[str, bool, datetime], Awaitable[None]] | None = None


# The kinds people can report and verdicts show or hide. Filled by the services that own
# them (``register``), so this module names no content model.
CONTENT: dict[Kind, Target] = {}


def register(kind: Kind, target: Target) -> None:
    CONTENT[kind] = target


@dataclass(frozen=True)
class Screen:
    """WeChat's content security as the doors reach it: their HTTP session, Redis (the
    access token) and settings. A door without one gets the keyword filter only."""

    http: aiohttp.ClientSession
    redis: Redis
    settings: Settings

    def _tokens(self) -> TokenCache:
        return TokenCache.wechat(
            http=self.http,
            redis=self.redis,
            base=self.settings.wechat_api_base,
            appid=self.settings.wechat_appid,
            secret=self.settings.wechat_secret.get_secret_value(),
        )

    async def text(self, *, openid: str, content: str, scene: int) -> security.Check | None:
        base = self.settings.wechat_api_base
        try:
            return await self._tokens().call(
                lambda token: security.msg_sec_check(
                    self.http,
                    base=base,
                    token=token,
                    openid=openid,
                    content=content,
                    scene=scene,
                    timeout=CHECK_TIMEOUT,
                )
            )
        except MessagingError as exc:
            logger.warning("msg_sec_check unavailable (%s): the keyword filter decides", exc)
            return None

    async def image(self, *, openid: str, url: str, scene: int) -> str | None:
        base = self.settings.wechat_api_base
        try:
            return await self._tokens().call(
                lambda token: security.media_check_async(
                    self.http, base=base, token=token, openid=openid, media_url=url, scene=scene
                )
            )
        except MessagingError as exc:
            logger.warning("media_check_async unavailable for %s: %s", url, exc)
            return None


@dataclass(frozen=True)
class Verdict:
    """What ``screen`` found: shown now, or held (``reason``) with images awaiting checks."""

    held: bool
    reason: str = ""
    review: bool = False  # an operator must decide (not only image verdicts)
    traces: list[tuple[str, str]] = field(default_factory=list)  # (url, trace_id)

    @property
    def shown(self) -> Shown:
        return Shown.HELD if self.held else Shown.VISIBLE


def has_wechat_openid(user: User) -> bool:
    """Chat-only users have a made-up openid with a colon (services/chat_users.py)."""
    return ":" not in user.openid


async def ensure_not_muted(user_id: uuid.UUID, now: datetime) -> None:
    mute = await Mute.get_or_none(user_id=user_id)
    if mute is not None and mute.until > now:
        raise Forbidden(
            ErrorCode.USER_MUTED,
            f"muted until {mute.until.isoformat()}: {mute.reason}",
            until=mute.until.isoformat(),
        )


async def offend(user_id: uuid.UUID, reason: str, now: datetime) -> Mute | None:
    """Count an offence; the ``MUTE_AFTER``-th within ``MUTE_WINDOW`` mutes for ``MUTE_FOR``."""
    await Offence.create(user_id=user_id, reason=reason[:255], at=now)
    recent = await Offence.filter(user_id=user_id, at__gt=now - MUTE_WINDOW).count()
    if recent < MUTE_AFTER:
        return None
    until = now + MUTE_FOR
    why = f"{recent} 次违规（最近：{reason}）"[:255]
    mute, created = await Mute.get_or_create(
        user_id=user_id, defaults={"until": until, "reason": why}
    )
    if not created:
        await Mute.filter(user_id=user_id).update(until=until, reason=why)
    logger.info("user %s muted until %s after %s offences", user_id, until, recent)
    return mute


async def _refuse(user_id: uuid.UUID, detail: str, now: datetime, **extra: Any) -> Invalid:
    # The offence outlives the refusal: it is its own statement, outside any transaction
    # the caller may roll back when the error propagates.
    await offend(user_id, detail, now)
    return Invalid(ErrorCode.CONTENT_REFUSED, detail, **extra)


async def screen(
    *,
    kind: Kind,
    author: User,
    text: str,
    now: datetime,
    wechat: Screen | None = None,
    images: list[str] | tuple[str, ...] = (),
) -> Verdict:
    """Refuse, hold or pass what ``author`` wrote (see the module's docstring)."""
    await ensure_not_muted(author.id, now)
    hit = await word_filter.find(text)
    if hit is not None:
        # The word itself is in ``extra`` (the author's API answer), never in the detail a
        # chat reply into the group repeats.
        why = "含有违禁词" + (f"（{hit.category}）" if hit.category else "")
        raise await _refuse(author.id, why, now, word=hit.word, category=hit.category)
    if wechat is None or not has_wechat_openid(author):
        return Verdict(held=False)
    scene = SCENES[kind]
    reason, review = "", False
    if text.strip():
        check = await wechat.text(openid=author.openid, content=text, scene=scene)
        if check is not None and check.suggest == security.RISKY:
            why = f"微信内容安全判定不宜发布（{check.label_name}）"
            raise await _refuse(author.id, why, now, label=check.label)
        if check is not None and check.suggest == security.REVIEW:
            reason, review = f"微信内容安全建议人工复核（{check.label_name}）", True
    traces = []
    for url in images:
        trace = await wechat.image(openid=author.openid, url=url, scene=scene)
        if trace is not None:
            traces.append((url, trace))
    if traces and not review:
        reason = "图片等待微信内容安全结果"
    return Verdict(held=review or bool(traces), reason=reason, review=review, traces=traces)


async def hold(
    *,
    kind: Kind,
    ref: str,
    verdict: Verdict,
    author: User,
    text: str,
    now: datetime,
    community_id: uuid.UUID | None = None,
    images: list[str] | tuple[str, ...] = (),
    payload: dict[str, Any] | None = None,
) -> ModerationItem | None:
    """In the caller's transaction: the queue's row for a held item (None if not held)."""
    if not verdict.held:
        return None
    item = await ModerationItem.create(
        kind=kind.value,
        ref=ref,
        author_id=author.id,
        community_id=community_id,
        text=text,
        images=list(images),
        status=ItemStatus.REVIEW if verdict.review else ItemStatus.WAITING,
        reason=verdict.reason[:255],
        payload=payload or {},
        created_at=now,
    )
    for url, trace in verdict.traces:
        await MediaCheck.create(item=item, trace_id=trace, url=url[:512])
    logger.info("%s %s held for moderation: %s", kind, ref, verdict.reason)
    return item


# Operators ---------------------------------------------------------------------------------


async def queue(
    *, actor: Principal, status: ItemStatus = ItemStatus.REVIEW
) -> list[ModerationItem]:
    audit.ensure_admin(actor)
    found = ModerationItem.filter(status=status).order_by("-reports", "created_at")
    return await found.limit(QUEUE_SHOWN)


async def _item(item_id: str) -> ModerationItem:
    try:
        found = await ModerationItem.get_or_none(id=uuid.UUID(item_id))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(ErrorCode.MODERATION_ITEM_NOT_FOUND, "no such item in the queue")
    return found


async def decide(
    *, actor: Principal, item_id: str, approve: bool, reason: str = "", now: datetime
) -> ModerationItem:
    """An operator's verdict: approved content is shown (a held 公告 is sent), rejected
    content is removed and counts as its author's offence."""
    audit.ensure_admin(actor)
    async with in_transaction():
        item = await _item(item_id)
        wanted = ItemStatus.APPROVED if approve else ItemStatus.REJECTED
        open_states = (ItemStatus.REVIEW, ItemStatus.WAITING)
        changed = await ModerationItem.filter(id=item.id, status__in=open_states).update(
            status=wanted,
            decided_at=now,
            decided_by_id=actor.user_id,
            reason=reason[:255] or item.reason,
        )
        if not changed:
            raise Conflict(ErrorCode.MODERATION_ITEM_DECIDED, f"already {item.status}")
        await _apply(item, approved=approve, now=now)
        await audit.record(
            actor=actor,
            action=f"moderation.{wanted.value}",
            target=f"{item.kind}:{item.ref}",
            before={"status": item.status.value, "reason": item.reason},
            after={"status": wanted.value, "reason": reason},
            now=now,
        )
        if not approve and item.author_id is not None:
            await offend(item.author_id, f"内容被运营驳回：{reason or item.reason}", now)
    return await _item(item_id)


async def _apply(item: ModerationItem, *, approved: bool, now: datetime) -> None:
    """Make the decision visible: show or remove the content, send or drop a held 公告."""
    kind = Kind(item.kind)
    target = CONTENT.get(kind)
    if target is not None:
        shown = Shown.VISIBLE if approved else Shown.REMOVED
        await target.model.filter(id=item.ref).update(**{target.shown: shown})
        if target.decided is not None:
            await target.decided(item.ref, approved, now)
    elif kind is Kind.ANNOUNCEMENT and approved:
        community = await Community.get_or_none(id=item.payload.get("community_id"))
        if community is not None:
            await notify.to_group(
                community=community,
                message=item.payload["message"],
                dedupe_key=f"announcement:{item.ref}",
                now=now,
            )
    elif kind is Kind.NICKNAME and approved and item.author_id is not None:
        await User.filter(id=item.author_id).update(nickname=item.text[:64])


# WeChat's image verdicts --------------------------------------------------------------------


async def media_verdict(check: security.Check, *, now: datetime) -> ModerationItem | None:
    """WeChat's push for one image: risky removes the item, review queues it, and the last
    pass of a waiting item shows it. Replays change nothing."""
    async with in_transaction():
        media = await MediaCheck.get_or_none(trace_id=check.trace_id).select_for_update()
        if media is None:
            logger.info("wxa_media_check for unknown trace %s ignored", check.trace_id)
            return None
        if media.suggest is None:
            media.suggest, media.label, media.checked_at = check.suggest, check.label, now
            await media.save(update_fields=["suggest", "label", "checked_at"])
        item = await ModerationItem.get(id=media.item_id).select_for_update()
        if item.status not in (ItemStatus.WAITING, ItemStatus.REVIEW):
            return item
        if check.suggest == security.RISKY:
            item.status, item.reason = ItemStatus.REJECTED, f"图片不宜发布（{check.label_name}）"
            item.decided_at = now
            await item.save(update_fields=["status", "reason", "decided_at"])
            await _apply(item, approved=False, now=now)
            if item.author_id is not None:
                await offend(item.author_id, item.reason, now)
        elif check.suggest == security.REVIEW and item.status is ItemStatus.WAITING:
            item.status, item.reason = ItemStatus.REVIEW, f"图片需人工复核（{check.label_name}）"
            await item.save(update_fields=["status", "reason"])
        elif (
            item.status is ItemStatus.WAITING
            and not await MediaCheck.filter(item_id=item.id, suggest__isnull=True).exists()
        ):
            item.status, item.decided_at = ItemStatus.APPROVED, now
            await item.save(update_fields=["status", "decided_at"])
            await _apply(item, approved=True, now=now)
        return item


# Reports ------------------------------------------------------------------------------------


async def report(
    *, reporter: Principal, kind: str, ref: str, reason: str, now: datetime
) -> ModerationItem:
    """Someone reports an item: it joins the queue; enough reporters hide it meanwhile."""
    try:
        content_kind = Kind(kind)
        target = CONTENT[content_kind]
        row = await target.model.get_or_none(id=uuid.UUID(ref))
    except (ValueError, KeyError):
        row = None
    if row is None or getattr(row, target.shown) is Shown.REMOVED or not getattr(row, target.text):
        raise NotFound(ErrorCode.REPORT_TARGET_NOT_FOUND, f"nothing to report as {kind} {ref}")
    async with in_transaction():
        item, _ = await ModerationItem.get_or_create(
            kind=content_kind.value,
            ref=str(row.id),
            defaults={
                "author_id": row.author_id,
                "community_id": row.community_id,
                "text": getattr(row, target.text),
                "images": list(getattr(row, "images", [])),
                "status": ItemStatus.REVIEW,
                "reason": "被举报",
                "created_at": now,
            },
        )
        item = await ModerationItem.get(id=item.id).select_for_update()
        _, created = await ContentReport.get_or_create(
            item=item,
            reporter_id=reporter.user_id,
            defaults={"reason": reason[:255], "created_at": now},
        )
        if created:
            item.reports += 1
            fields = ["reports"]
            if item.status is ItemStatus.APPROVED:  # shown once, reported now: back in the queue
                item.status, item.reason, item.decided_at = ItemStatus.REVIEW, "被举报", None
                fields += ["status", "reason", "decided_at"]
            await item.save(update_fields=fields)
            if item.reports >= HIDE_AFTER_REPORTS and item.status is ItemStatus.REVIEW:
                visible = {target.shown: Shown.VISIBLE}
                await target.model.filter(id=row.id, **visible).update(**{target.shown: Shown.HELD})
    return item


# What the doors screen ------------------------------------------------------------------------


async def screen_words(principal: Principal, text: str, *, now: datetime) -> None:
    """The mute and the keyword filter alone: for texts the clock speaks later (activities),
    which no one can hold back at the moment they are sent."""
    author = await User.get(id=principal.user_id)
    await screen(kind=Kind.ACTIVITY, author=author, text=text, now=now)


async def announcement(
    *,
    principal: Principal,
    community: Community,
    text: str,
    message: dict[str, Any],
    now: datetime,
    wechat: Screen | None,
) -> Verdict:
    """A leader's 公告: refused with the reason, held for an operator (``message`` goes to
    the group on approval), or passed (the door says it now). Only the community's leader
    (or an admin) speaks for it."""
    await communities.ensure_can_manage(principal, community)
    author = await User.get(id=principal.user_id)
    verdict = await screen(kind=Kind.ANNOUNCEMENT, author=author, text=text, now=now, wechat=wechat)
    await hold(
        kind=Kind.ANNOUNCEMENT,
        ref=str(uuid.uuid4()),
        verdict=verdict,
        author=author,
        text=text,
        now=now,
        community_id=community.id,
        payload={"community_id": str(community.id), "message": notify.check_message(message)},
    )
    return verdict


async def nickname(
    *, principal: Principal, nickname: str, now: datetime, wechat: Screen | None
) -> Verdict:
    """A new nickname (shown on cards and teams): refused, held (the old one stays shown
    until an operator approves), or passed (the caller saves it)."""
    author = await User.get(id=principal.user_id)
    verdict = await screen(kind=Kind.NICKNAME, author=author, text=nickname, now=now, wechat=wechat)
    await hold(
        kind=Kind.NICKNAME,
        ref=str(uuid.uuid4()),
        verdict=verdict,
        author=author,
        text=nickname,
        now=now,
    )
    return verdict
