"""The mini-program reports the subscribe templates a user accepted."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.spec import endpoint
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


@endpoint(
    summary="Record subscribe templates the user accepted (each allows one message)",
    tags=("session",),
    body=AcceptedIn,
    response=ConsentOut,
    auth=True,
)
async def accept(*, principal: Principal, body: AcceptedIn) -> ConsentOut:
    remaining = await subscriptions.accepted(
        user_id=principal.user_id, template_ids=body.template_ids
    )
    return ConsentOut(remaining=remaining)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/me/subscriptions", accept)
