"""Login through jscode2session, and the bearer token that follows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.user import Role, User
from qunshop.assembly.app import create_app
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import REDIS
from services.auth import TOKEN_TTL, session_key_name
from tests.support.factories import auth, make_user
from tests.support.fake_wechat import FakeWeChat

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

# No ladder set: below every level, no perks (services/tiers.py).
NO_TIER = {
    "name": None,
    "growth": 0,
    "window_days": 365,
    "next_name": None,
    "to_next": None,
    "discount_bps": 0,
    "points_multiplier_pct": 100,
    "monthly_coupon_template_ids": [],
}


@pytest.fixture
async def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def frozen(
    settings: Settings, clock: FrozenClock, start_client: Callable[..., Any]
) -> TestClient:
    """The app on a clock that moves only when the test says so."""
    return await start_client(create_app(settings, clock=clock))


def _session(openid: str, session_key: str, unionid: str | None = None) -> dict[str, Any]:
    answer = {"openid": openid, "session_key": session_key}
    if unionid is not None:
        answer["unionid"] = unionid
    return answer


async def test_first_login_creates_a_shopper(
    frozen: TestClient, wechat: FakeWeChat, settings: Settings
) -> None:
    wechat.sessions["code-1"] = _session("o-alice", "SECRET-SK-1", "u-alice")

    resp = await frozen.post("/api/v1/session", json={"code": "code-1"})

    assert resp.status == 200
    text = await resp.text()
    assert "SECRET-SK-1" not in text and "session_key" not in text
    body = await resp.json()
    user = await User.get(openid="o-alice")
    assert user.role is Role.SHOPPER and user.unionid == "u-alice"
    assert body["user"] == {"id": str(user.id), "role": "shopper", "nickname": ""}
    assert datetime.fromisoformat(body["expires_at"]) == START + TOKEN_TTL
    assert body["token"]
    redis = frozen.server.app[REDIS]
    assert await redis.get(session_key_name(user.id)) == b"SECRET-SK-1"
    assert 0 < await redis.ttl(session_key_name(user.id)) <= 3 * 24 * 3600
    (call,) = wechat.calls_to("/sns/jscode2session")
    assert call.query["js_code"] == "code-1"
    assert call.query["appid"] == settings.wechat_appid
    assert call.query["grant_type"] == "authorization_code"


async def test_second_login_finds_the_same_user(frozen: TestClient, wechat: FakeWeChat) -> None:
    wechat.sessions["code-1"] = _session("o-bob", "sk-old", "u-bob")
    wechat.sessions["code-2"] = _session("o-bob", "sk-new")  # no unionid this time

    first = await (await frozen.post("/api/v1/session", json={"code": "code-1"})).json()
    resp = await frozen.post("/api/v1/session", json={"code": "code-2"})

    assert resp.status == 200
    second = await resp.json()
    assert second["user"]["id"] == first["user"]["id"]
    assert await User.filter(openid="o-bob").count() == 1
    user = await User.get(openid="o-bob")
    assert user.unionid == "u-bob"
    assert await frozen.server.app[REDIS].get(session_key_name(user.id)) == b"sk-new"


async def test_token_is_accepted_by_me(frozen: TestClient, wechat: FakeWeChat) -> None:
    wechat.sessions["code-1"] = _session("o-carol", "sk")
    login = await (await frozen.post("/api/v1/session", json={"code": "code-1"})).json()

    resp = await frozen.get("/api/v1/me", headers={"Authorization": f"Bearer {login['token']}"})

    assert resp.status == 200
    assert await resp.json() == {**login["user"], "chat_identities": [], "tier": NO_TIER}


async def test_me_reads_the_current_row(client: TestClient, settings: Settings) -> None:
    user = await make_user(Role.LEADER, nickname="王团长")
    resp = await client.get("/api/v1/me", headers=auth(user, settings))
    assert resp.status == 200
    assert await resp.json() == {
        "id": str(user.id),
        "role": "leader",
        "nickname": "王团长",
        "chat_identities": [],
        "tier": NO_TIER,
    }


async def test_token_expires(frozen: TestClient, wechat: FakeWeChat, clock: FrozenClock) -> None:
    wechat.sessions["code-1"] = _session("o-dan", "sk")
    login = await (await frozen.post("/api/v1/session", json={"code": "code-1"})).json()
    headers = {"Authorization": f"Bearer {login['token']}"}

    clock.advance(TOKEN_TTL - timedelta(seconds=1))
    assert (await frozen.get("/api/v1/me", headers=headers)).status == 200
    clock.advance(timedelta(seconds=1))
    resp = await frozen.get("/api/v1/me", headers=headers)

    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["code"] == "token_expired"


async def test_expired_token_from_the_past(client: TestClient, settings: Settings) -> None:
    user = await make_user()
    headers = auth(user, settings, now=datetime.now(tz=UTC) - TOKEN_TTL - timedelta(minutes=1))
    resp = await client.get("/api/v1/me", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["code"] == "token_expired"


def _tamper(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda token: {},
        lambda token: {"Authorization": ""},
        lambda token: {"Authorization": token},  # no scheme
        lambda token: {"Authorization": f"Basic {token}"},
        lambda token: {"Authorization": f"Bearer {_tamper(token)}"},
        lambda token: {"Authorization": "Bearer not-a-token"},
    ],
    ids=["missing", "empty", "no-scheme", "basic", "tampered", "garbage"],
)
async def test_bad_tokens_are_unauthenticated(
    client: TestClient, settings: Settings, make_header: Callable[[str], dict[str, str]]
) -> None:
    user = await make_user()
    token = auth(user, settings)["Authorization"].removeprefix("Bearer ")
    resp = await client.get("/api/v1/me", headers=make_header(token))
    assert resp.status == 401
    assert (await resp.json())["code"] == "unauthenticated"


async def test_token_of_a_deleted_user(client: TestClient, settings: Settings) -> None:
    user = await make_user()
    headers = auth(user, settings)
    await user.delete()
    resp = await client.get("/api/v1/me", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["code"] == "unauthenticated"


async def test_unknown_code_is_401(client: TestClient, wechat: FakeWeChat) -> None:
    resp = await client.post("/api/v1/session", json={"code": "never-issued"})
    assert resp.status == 401
    assert (await resp.json())["code"] == "wechat_code_invalid"
    assert await User.all().count() == 0


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [(45011, 429, "wechat_rate_limited"), (40226, 403, "wechat_user_blocked")],
)
async def test_wechat_refusals(
    client: TestClient, wechat: FakeWeChat, errcode: int, status: int, code: str
) -> None:
    wechat.sessions["code-x"] = {"errcode": errcode, "errmsg": "refused"}
    resp = await client.post("/api/v1/session", json={"code": "code-x"})
    assert resp.status == status
    assert (await resp.json())["code"] == code
    assert await User.all().count() == 0


@pytest.mark.parametrize(
    ("body", "failing"),
    [({}, "code"), ({"code": ""}, "code"), ({"code": 7}, "code"), ({"code": "c", "x": 1}, "x")],
)
async def test_login_validation(client: TestClient, body: dict[str, Any], failing: str) -> None:
    resp = await client.post("/api/v1/session", json=body)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "validation_failed"
    assert [e["loc"] for e in problem["errors"]] == [[failing]]
