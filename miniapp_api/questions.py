"""Q&A on products: ask, answer (the leader or buyers), pick the best answer."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.fields import NOT_BLANK
from miniapp_api.spec import endpoint
from models.qa import Answer, Question
from services import moderation, questions
from services.auth import Principal

TAGS = ("questions",)


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)


class AnswerOut(BaseModel):
    id: str
    question_id: str
    author: str
    text: str
    by_leader: bool
    by_buyer: bool = Field(description="the author bought this product")
    best: bool
    created_at: datetime
    held: bool = False

    @classmethod
    def of(cls, a: Answer, author: str, held: bool = False) -> AnswerOut:
        return cls(
            id=str(a.id),
            question_id=str(a.question_id),
            author=author,
            text=a.text,
            by_leader=a.by_leader,
            by_buyer=a.by_buyer,
            best=a.best,
            created_at=a.created_at,
            held=held,
        )


class QuestionOut(BaseModel):
    id: str
    product_id: str
    author: str
    text: str
    created_at: datetime
    answers: list[AnswerOut] = Field(description="best first, then the leader's, then oldest")

    @classmethod
    def of(cls, q: Question, author: str, answers: list[AnswerOut]) -> QuestionOut:
        return cls(
            id=str(q.id),
            product_id=str(q.product_id),
            author=author,
            text=q.text,
            created_at=q.created_at,
            answers=answers,
        )


class AskedOut(BaseModel):
    question: QuestionOut
    held: bool = Field(description="out of sight until moderation decides")
    reason: str


class QuestionList(BaseModel):
    items: list[QuestionOut]


@endpoint(
    summary="Ask about a product (moderated before it shows)",
    tags=TAGS,
    body=TextIn,
    response=AskedOut,
    status=201,
    auth=True,
    errors=(401, 403, 404, 422),
)
async def ask(
    *,
    principal: Principal,
    body: TextIn,
    product_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> AskedOut:
    done = await questions.ask(
        principal=principal,
        product_id=product_id,
        text=body.text,
        now=now,
        wechat=screen,
    )
    shown = QuestionOut.of(done.question, "", [])
    return AskedOut(question=shown, held=done.held, reason=done.reason)


@endpoint(
    summary="A product's questions, newest first, each with its answers (best first)",
    tags=TAGS,
    response=QuestionList,
    errors=(404,),
)
async def product_questions(*, product_id: str) -> QuestionList:
    found = await questions.for_product(product_id)
    return QuestionList(
        items=[
            QuestionOut.of(q.question, q.author, [AnswerOut.of(a, n) for a, n in q.answers])
            for q in found
        ]
    )


@endpoint(
    summary="Answer a question: the community's leader or a buyer of the product",
    tags=TAGS,
    body=TextIn,
    response=AnswerOut,
    status=201,
    auth=True,
    errors=(401, 403, 404, 422),
)
async def answer(
    *,
    principal: Principal,
    body: TextIn,
    question_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> AnswerOut:
    made, held = await questions.answer(
        principal=principal,
        question_id=question_id,
        text=body.text,
        now=now,
        wechat=screen,
    )
    return AnswerOut.of(made, "", held=held)


@endpoint(
    summary="The asker (or the leader) marks the best answer, shown first",
    tags=TAGS,
    response=AnswerOut,
    auth=True,
    errors=(401, 403, 404),
)
async def best(*, principal: Principal, answer_id: str) -> AnswerOut:
    return AnswerOut.of(await questions.choose_best(principal=principal, answer_id=answer_id), "")


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/products/{product_id}/questions", ask)
    app.router.add_get("/api/v1/products/{product_id}/questions", product_questions)
    app.router.add_post("/api/v1/questions/{question_id}/answers", answer)
    app.router.add_post("/api/v1/answers/{answer_id}/best", best)
