"""Leaders' identity through an HTTP verification provider (a fake provider server here):
a match verifies, a mismatch is kept with the provider's reason, a provider that does not
answer is unavailable and changes nothing."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from models.identity import IdentityStatus, LeaderIdentity
from models.privacy import PersonalDetails
from models.user import Role
from qunshop.config import Settings
from qunshop.errors import ErrorCode, Invalid, Unavailable
from services import identity, personal
from tests.support.factories import make_user
from tests.support.growth import now, principal_of

KEY = "provider-key-1"


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def provider() -> web.Application:
    """A provider as its API documents it: bearer key, name and phone in, a verdict out."""
    seen: list[dict[str, Any]] = []

    async def verify(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.json_response({"error": "bad key"}, status=401)
        body = await request.json()
        seen.append(body)
        if body["name"] == "宕机":
            return web.json_response({"error": "down"}, status=500)
        if body["phone"].endswith("0000"):
            return web.json_response({"match": False, "reason": "手机号未实名"})
        return web.json_response({"match": True, "reference": f"ref-{len(seen)}"})

    app = web.Application()
    app.router.add_post("/v1/verify", verify)
    return app


async def test_an_http_provider_verifies_refuses_and_fails_apart(
    aiohttp_server: Any, settings: Settings
) -> None:
    server = await aiohttp_server(provider())
    leader = principal_of(await make_user(Role.LEADER))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        verifier = identity.HttpVerifier(http=http, base=str(server.make_url("/v1")), key=KEY)

        with pytest.raises(Unavailable) as down:
            await identity.verify(
                principal=leader,
                real_name="宕机",
                phone="13800138001",
                verifier=verifier,
                settings=settings,
                now=now(),
            )
        assert down.value.code is ErrorCode.IDENTITY_PROVIDER_UNAVAILABLE
        assert not await LeaderIdentity.exists(user_id=leader.user_id)

        with pytest.raises(Invalid) as mismatch:
            await identity.verify(
                principal=leader,
                real_name="张三",
                phone="13800130000",
                verifier=verifier,
                settings=settings,
                now=now(),
            )
        assert mismatch.value.code is ErrorCode.IDENTITY_NOT_MATCHED
        kept = await LeaderIdentity.get(user_id=leader.user_id)
        assert (kept.status, kept.reason) == (IdentityStatus.FAILED, "手机号未实名")

        found = await identity.verify(
            principal=leader,
            real_name="张三",
            phone="13800138001",
            verifier=verifier,
            settings=settings,
            now=now(),
        )
        assert (found.status, found.provider, found.reference) == (
            IdentityStatus.VERIFIED,
            "http",
            "ref-3",
        )
        wrong_key = identity.HttpVerifier(http=http, base=str(server.make_url("/v1")), key="x")
        with pytest.raises(Unavailable):
            await identity.verify(
                principal=leader,
                real_name="张三",
                phone="13800138001",
                verifier=wrong_key,
                settings=settings,
                now=now(),
            )
    assert (await LeaderIdentity.get(user_id=leader.user_id)).status is IdentityStatus.VERIFIED
    # What was checked is the leader's sealed details: readable to them, never in the clear.
    assert await personal.mine(principal=leader, settings=settings) == personal.Details(
        phone="13800138001", real_name="张三"
    )
    sealed = await PersonalDetails.get(user_id=leader.user_id)
    assert "13800138001" not in sealed.phone_sealed and "张三" not in sealed.real_name_sealed
