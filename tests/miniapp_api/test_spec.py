"""``@endpoint`` runs what it declares: the caller, the Idempotency-Key, the query and the body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel

from miniapp_api.auth import staff
from miniapp_api.error_codes import reachable_codes
from miniapp_api.spec import endpoint
from models.user import Role
from qunshop.assembly.app import create_app
from qunshop.config import Settings
from services.auth import Principal
from tests.support.factories import auth, make_user


class NoteIn(BaseModel):
    text: str


class NoteQuery(BaseModel):
    loud: bool = False


class NoteOut(BaseModel):
    who: str
    text: str
    thing: str
    at: datetime
    calls: int


def _app(settings: Settings) -> tuple[web.Application, list[str]]:
    calls: list[str] = []

    @endpoint(
        summary="test",
        body=NoteIn,
        query=NoteQuery,
        response=NoteOut,
        status=201,
        auth=staff,
        idempotent_key=True,
    )
    async def note(
        *, principal: Principal, body: NoteIn, query: NoteQuery, thing: str, now: datetime
    ) -> NoteOut:
        calls.append(body.text)
        text = body.text.upper() if query.loud else body.text
        return NoteOut(who=str(principal.user_id), text=text, thing=thing, at=now, calls=len(calls))

    app = create_app(settings, background=False)
    app.router.add_post("/test/notes/{thing}", note)
    return app, calls


async def test_the_view_is_handed_what_it_names(settings: Settings, start_client: Any) -> None:
    app, calls = _app(settings)
    client = await start_client(app)
    leader = await make_user(Role.LEADER)
    headers = {**auth(leader, settings), "Idempotency-Key": "k1"}
    resp = await client.post("/test/notes/x1?loud=true", json={"text": "hi"}, headers=headers)
    assert resp.status == 201
    got = await resp.json()
    assert (got["who"], got["text"], got["thing"], got["calls"]) == (str(leader.id), "HI", "x1", 1)
    # The declared Idempotency-Key is honoured without the view asking for it.
    again = await client.post("/test/notes/x1?loud=true", json={"text": "hi"}, headers=headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == got and calls == ["hi"]


async def test_the_declared_caller_is_checked_before_the_body(
    settings: Settings, start_client: Any
) -> None:
    app, calls = _app(settings)
    client = await start_client(app)
    anonymous = await client.post("/test/notes/x", data=b"not json")
    assert anonymous.status == 401
    shopper = await make_user()
    refused = await client.post("/test/notes/x", data=b"not json", headers=auth(shopper, settings))
    assert refused.status == 403 and (await refused.json())["code"] == "forbidden"
    leader = await make_user(Role.LEADER)
    bad = await client.post(
        "/test/notes/x?loud=maybe", json={"text": "hi"}, headers=auth(leader, settings)
    )
    assert bad.status == 422 and (await bad.json())["code"] == "validation_failed"
    assert calls == []


def test_a_view_takes_its_arguments_by_name_only() -> None:
    with pytest.raises(TypeError, match="keyword-only"):

        @endpoint(summary="old style")
        async def old(request: web.Request) -> web.Response:
            return web.Response()


def test_the_codes_of_a_view_are_its_own_not_its_declarations() -> None:
    @endpoint(summary="t", auth=staff, idempotent_key=True)
    async def quiet(*, principal: Principal) -> None:
        return None

    # What the declaration runs is added from the spec by /openapi.json (test_openapi.py).
    assert reachable_codes(quiet) == {}
