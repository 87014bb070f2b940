"""Moderation: the word lists and the queue (operators), reports (anyone logged in)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.auth import admin
from miniapp_api.fields import NO_NUL, NOT_BLANK
from miniapp_api.spec import endpoint
from models.moderation import BannedWord, ItemStatus, ModerationItem
from services import moderation, word_filter
from services.auth import Principal

TAGS = ("moderation",)
Word = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK)]


class WordOut(BaseModel):
    id: str
    word: str = Field(description="as matched: NFKC, case-folded, no spaces or punctuation")
    category: str
    created_at: datetime

    @classmethod
    def of(cls, w: BannedWord) -> WordOut:
        return cls(id=str(w.id), word=w.word, category=w.category, created_at=w.created_at)


class WordList(BaseModel):
    items: list[WordOut]


class WordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[Word] = Field(min_length=1, max_length=500, examples=[["加我微信", "代购"]])
    category: str = Field(default="", max_length=32, pattern=NO_NUL, examples=["广告"])


class ItemOut(BaseModel):
    id: str
    kind: str
    ref: str
    author_id: str | None
    community_id: str | None
    text: str
    images: list[str]
    status: ItemStatus
    reason: str
    reports: int
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, i: ModerationItem) -> ItemOut:
        return cls(
            id=str(i.id),
            kind=i.kind,
            ref=i.ref,
            author_id=str(i.author_id) if i.author_id else None,
            community_id=str(i.community_id) if i.community_id else None,
            text=i.text,
            images=list(i.images),
            status=i.status,
            reason=i.reason,
            reports=i.reports,
            created_at=i.created_at,
            decided_at=i.decided_at,
        )


class ItemList(BaseModel):
    items: list[ItemOut]


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["waiting", "review", "approved", "rejected"] = "review"


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=255, pattern=NO_NUL)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["review", "reply", "post", "comment", "question", "answer"]
    ref: str = Field(min_length=1, max_length=64, pattern=NO_NUL, description="the item's id")
    reason: str = Field(default="", max_length=255, pattern=NO_NUL)


class ReportOut(BaseModel):
    item_id: str
    reports: int
    status: ItemStatus


@endpoint(
    summary="Admins: the banned-word list",
    tags=TAGS,
    response=WordList,
    auth=admin,
    errors=(401, 403),
)
async def list_words(*, principal: Principal) -> WordList:
    return WordList(items=[WordOut.of(w) for w in await word_filter.words()])


@endpoint(
    summary="Admins: add words to the list (in force at the next check, in every worker)",
    tags=TAGS,
    body=WordsIn,
    response=WordList,
    status=201,
    auth=admin,
    errors=(401, 403, 422),
)
async def add_words(*, principal: Principal, body: WordsIn, now: datetime) -> WordList:
    added = await word_filter.add_words(
        actor=principal, words=body.words, category=body.category, now=now
    )
    return WordList(items=[WordOut.of(w) for w in added])


@endpoint(
    summary="Admins: remove a word from the list",
    tags=TAGS,
    auth=admin,
    errors=(401, 403, 404),
)
async def remove_word(*, principal: Principal, word_id: str, now: datetime) -> None:
    await word_filter.remove_word(actor=principal, word_id=word_id, now=now)


@endpoint(
    summary="Admins: the moderation queue (held and reported items), most reported first",
    tags=TAGS,
    query=QueueQuery,
    response=ItemList,
    auth=admin,
    errors=(401, 403, 422),
)
async def moderation_queue(*, principal: Principal, query: QueueQuery) -> ItemList:
    found = await moderation.queue(actor=principal, status=ItemStatus(query.status))
    return ItemList(items=[ItemOut.of(i) for i in found])


@endpoint(
    summary="Admins: approve a held item (it is shown; a held 公告 goes to the group)",
    tags=TAGS,
    body=DecisionIn,
    optional_body=True,
    response=ItemOut,
    auth=admin,
    errors=(401, 403, 404, 409, 422),
)
async def approve_item(
    *, principal: Principal, body: DecisionIn, item_id: str, now: datetime
) -> ItemOut:
    return await _decide(principal, item_id, body, now, approve=True)


@endpoint(
    summary="Admins: reject an item (it is removed; an offence of its author)",
    tags=TAGS,
    body=DecisionIn,
    optional_body=True,
    response=ItemOut,
    auth=admin,
    errors=(401, 403, 404, 409, 422),
)
async def reject_item(
    *, principal: Principal, body: DecisionIn, item_id: str, now: datetime
) -> ItemOut:
    return await _decide(principal, item_id, body, now, approve=False)


async def _decide(
    principal: Principal, item_id: str, body: DecisionIn, now: datetime, *, approve: bool
) -> ItemOut:
    """Approve or reject (services.moderation.decide), the one body of both endpoints."""
    done = await moderation.decide(
        actor=principal, item_id=item_id, approve=approve, reason=body.reason, now=now
    )
    return ItemOut.of(done)


@endpoint(
    summary="Report a review, post, comment, question or answer to the operators",
    tags=TAGS,
    body=ReportIn,
    response=ReportOut,
    status=201,
    auth=True,
    errors=(401, 404, 422),
)
async def report(*, principal: Principal, body: ReportIn, now: datetime) -> ReportOut:
    item = await moderation.report(
        reporter=principal, kind=body.kind, ref=body.ref, reason=body.reason, now=now
    )
    return ReportOut(item_id=str(item.id), reports=item.reports, status=item.status)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/moderation/words", list_words)
    app.router.add_post("/api/v1/admin/moderation/words", add_words)
    app.router.add_delete("/api/v1/admin/moderation/words/{word_id}", remove_word)
    app.router.add_get("/api/v1/admin/moderation/queue", moderation_queue)
    app.router.add_post("/api/v1/admin/moderation/items/{item_id}/approve", approve_item)
    app.router.add_post("/api/v1/admin/moderation/items/{item_id}/reject", reject_item)
    app.router.add_post("/api/v1/reports", report)
