"""The mini-program's subscribe messages: which templates to ask consent for, and the ones a
user accepted."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.spec import endpoint
from qunshop.config import Settings
from services import subscriptions
from services.auth import Principal

# WeChat's template ids are 43 characters; the consents' column holds 64.
TemplateId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class AcceptedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_ids: list[TemplateId] = Field(
        min_length=1,
        max_length=10,
        description="what wx.requestSubscribeMessage reported as accept",
    )


class ConsentOut(BaseModel):
    remaining: dict[str, int] = Field(description="messages each template may still carry")
    ignored: list[str] = Field(
        description="ids sent that are none of the shop's templates: not kept"
    )


class TemplatesOut(BaseModel):
    templates: dict[str, str] = Field(
        description="the shop's subscribe template ids by purpose (team_succeeded, arrived, "
        "...): the tmplIds to pass to wx.requestSubscribeMessage"
    )
    remaining: dict[str, int] = Field(
        description="by template id, messages it may still carry to the caller"
    )


@endpoint(
    summary="The shop's subscribe templates, and what each may still carry to the caller",
    tags=("session",),
    response=TemplatesOut,
    auth=True,
)
async def templates(*, principal: Principal, settings: Settings) -> TemplatesOut:
    known = settings.subscribe_templates
    remaining = await subscriptions.remaining(
        user_id=principal.user_id, templates=set(known.values())
    )
    return TemplatesOut(templates=known, remaining=remaining)


@endpoint(
    summary="Record subscribe templates the user accepted (each allows one message)",
    tags=("session",),
    body=AcceptedIn,
    response=ConsentOut,
    auth=True,
    errors=(422,),
)
async def accept(*, principal: Principal, body: AcceptedIn, settings: Settings) -> ConsentOut:
    done = await subscriptions.accepted(
        user_id=principal.user_id,
        template_ids=body.template_ids,
        known=set(settings.subscribe_templates.values()),
    )
    return ConsentOut(remaining=done.remaining, ignored=done.ignored)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/me/subscriptions", templates)
    app.router.add_post("/api/v1/me/subscriptions", accept)
