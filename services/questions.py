"""Q&A on products: anyone logged in asks; the community's leader or a buyer of the product
answers (marked as such); the asker or the leader picks the best answer, shown first.
Questions and answers are moderated like every text people write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models.catalog import Product, Sku
from models.community import Community
from models.moderation import Shown
from models.order import PAID_STATES, Order
from models.qa import Answer, Question
from models.user import User
from qunshop.errors import ErrorCode, Forbidden, Invalid, NotFound
from services import moderation
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

moderation.register(moderation.Kind.QUESTION, moderation.Target(Question))
moderation.register(moderation.Kind.ANSWER, moderation.Target(Answer))

TEXT_MAX = 500
SHOWN = 30


@dataclass(frozen=True)
class Asked:
    question: Question
    held: bool
    reason: str


@dataclass(frozen=True)
class Listed:
    question: Question
    author: str
    answers: list[tuple[Answer, str]]  # best first, then the leader's, then oldest first


def _text(text: str) -> str:
    if not text.strip() or len(text) > TEXT_MAX:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"1 to {TEXT_MAX} characters")
    return text.strip()


async def _product(product_id: str | uuid.UUID) -> Product:
    key = parse_uuid(product_id)
    product = await Product.get_or_none(id=key, active=True) if key else None
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product")
    return product


async def _question(question_id: str) -> Question:
    key = parse_uuid(question_id)
    question = await Question.get_or_none(id=key, shown=Shown.VISIBLE) if key else None
    if question is None:
        raise NotFound(ErrorCode.QUESTION_NOT_FOUND, "no such question")
    return question


async def _leads(user_id: uuid.UUID, community_id: uuid.UUID | None) -> bool:
    if community_id is None:
        return False
    return await Community.exists(id=community_id, leader_id=user_id)


async def bought(user_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    skus = Sku.filter(product_id=product_id).values_list("id", flat=True)
    return await Order.exists(user_id=user_id, sku_id__in=await skus, status__in=PAID_STATES)


async def ask(
    *,
    principal: Principal,
    product_id: str,
    text: str,
    now: datetime,
    wechat: moderation.Screen | None = None,
) -> Asked:
    product = await _product(product_id)
    said = _text(text)
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.QUESTION, author=author, text=said, now=now, wechat=wechat
    )
    async with in_transaction():
        question = await Question.create(
            product_id=product.id,
            community_id=product.community_id,
            author_id=author.id,
            text=said,
            shown=verdict.shown,
            created_at=now,
        )
        await moderation.hold(
            kind=moderation.Kind.QUESTION,
            ref=str(question.id),
            verdict=verdict,
            author=author,
            text=said,
            community_id=product.community_id,
            now=now,
        )
    return Asked(question=question, held=verdict.held, reason=verdict.reason)


async def answer(
    *,
    principal: Principal,
    question_id: str,
    text: str,
    now: datetime,
    wechat: moderation.Screen | None = None,
) -> tuple[Answer, bool]:
    """The community's leader, or someone who bought the product, answers."""
    question = await _question(question_id)
    said = _text(text)
    by_leader = await _leads(principal.user_id, question.community_id)
    by_buyer = await bought(principal.user_id, question.product_id)
    if not by_leader and not by_buyer and not principal.is_admin:
        raise Forbidden(ErrorCode.NOT_A_BUYER, "only its buyers and the leader answer")
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.ANSWER, author=author, text=said, now=now, wechat=wechat
    )
    async with in_transaction():
        made = await Answer.create(
            question_id=question.id,
            community_id=question.community_id,
            author_id=author.id,
            text=said,
            by_leader=by_leader,
            by_buyer=by_buyer,
            shown=verdict.shown,
            created_at=now,
        )
        await moderation.hold(
            kind=moderation.Kind.ANSWER,
            ref=str(made.id),
            verdict=verdict,
            author=author,
            text=said,
            community_id=question.community_id,
            now=now,
        )
    return made, verdict.held


async def choose_best(*, principal: Principal, answer_id: str) -> Answer:
    """The asker (or the community's leader) marks one answer best; the previous best, if
    any, steps back (uq_answer_best keeps one)."""
    key = parse_uuid(answer_id)
    found = await Answer.get_or_none(id=key, shown=Shown.VISIBLE) if key else None
    if found is None:
        raise NotFound(ErrorCode.ANSWER_NOT_FOUND, "no such answer")
    question = await Question.get(id=found.question_id)
    allowed = question.author_id == principal.user_id or principal.is_admin
    if not allowed and not await _leads(principal.user_id, question.community_id):
        raise Forbidden(ErrorCode.FORBIDDEN, "the asker or the leader picks the best answer")
    async with in_transaction():
        await Question.filter(id=question.id).select_for_update().first()  # one pick at a time
        await Answer.filter(question_id=question.id, best=True).update(best=False)
        await Answer.filter(id=found.id).update(best=True)
    return await Answer.get(id=found.id)


async def for_product(product_id: str) -> list[Listed]:
    """A product's shown questions, newest first, each with its shown answers, best first."""
    product = await _product(product_id)
    questions = (
        await Question.filter(product_id=product.id, shown=Shown.VISIBLE)
        .order_by("-created_at", "-id")
        .limit(SHOWN)
    )
    answers = await Answer.filter(
        question_id__in=[q.id for q in questions], shown=Shown.VISIBLE
    ).order_by("-best", "-by_leader", "created_at", "id")
    people = {q.author_id for q in questions} | {a.author_id for a in answers}
    names = dict(await User.filter(id__in=people).values_list("id", "nickname"))
    return [
        Listed(
            question=q,
            author=str(names.get(q.author_id, "")),
            answers=[
                (a, str(names.get(a.author_id, ""))) for a in answers if a.question_id == q.id
            ],
        )
        for q in questions
    ]
