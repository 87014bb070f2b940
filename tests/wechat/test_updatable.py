"""The updatable-message client (动态消息) against the fake WeChat server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.support.fake_wechat import FakeWeChat
from wechat import messaging, updatable
from wechat.messaging import MessagingError

APPID = "wx1234567890test"
SECRET = "test-wechat-app-secret-value"
UPDATE = "/cgi-bin/message/wxopen/updatablemsg/send"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _token(http: aiohttp.ClientSession, base: str) -> str:
    token, _ = await messaging.stable_token(http, base=base, appid=APPID, secret=SECRET)
    return token


async def test_create_and_update_as_documented(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    fake.activity_clock = lambda: now
    token = await _token(http, base)
    made = await updatable.create_activity_id(http, base=base, token=token)
    assert made.expires_at == now + timedelta(hours=24)
    joining = updatable.template_info(state=updatable.JOINING, member_count=1, room_limit=3)
    await updatable.set_updatable_msg(
        http, base=base, token=token, activity_id=made.activity_id, target_state=0, info=joining
    )
    assert joining == {
        "parameter_list": [
            {"name": "member_count", "value": "1"},
            {"name": "room_limit", "value": "3"},
        ]
    }
    final = updatable.template_info(state=updatable.FINAL, path="pages/team/index", version="trial")
    await updatable.set_updatable_msg(
        http, base=base, token=token, activity_id=made.activity_id, target_state=1, info=final
    )
    assert [m["target_state"] for m in fake.updatable_messages] == [0, 1]
    # State 1 is final; WeChat refuses any further update, and so does an expired id.
    with pytest.raises(MessagingError) as exc:
        await updatable.set_updatable_msg(
            http, base=base, token=token, activity_id=made.activity_id, target_state=0, info=joining
        )
    assert exc.value.errcode == updatable.MALFORMED_BODY and not exc.value.retryable
    other = await updatable.create_activity_id(http, base=base, token=token)
    fake.activity_clock = lambda: now + timedelta(hours=25)
    with pytest.raises(MessagingError):
        await updatable.set_updatable_msg(
            http,
            base=base,
            token=token,
            activity_id=other.activity_id,
            target_state=0,
            info=joining,
        )


async def test_errors_carry_their_codes(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    token = await _token(http, base)
    made = await updatable.create_activity_id(http, base=base, token=token)
    fake.messaging_failures[UPDATE] = [-1]
    info = updatable.template_info(state=0, member_count=1, room_limit=2)
    with pytest.raises(MessagingError) as exc:
        await updatable.set_updatable_msg(
            http, base=base, token=token, activity_id=made.activity_id, target_state=0, info=info
        )
    assert exc.value.retryable
    # A state 0 without its counts is malformed (47001), never worth retrying.
    with pytest.raises(MessagingError) as exc:
        await updatable.set_updatable_msg(
            http,
            base=base,
            token=token,
            activity_id=made.activity_id,
            target_state=0,
            info={"parameter_list": []},
        )
    assert exc.value.errcode == 47001 and not exc.value.retryable
    fake.expire_tokens()
    with pytest.raises(MessagingError) as exc:
        await updatable.create_activity_id(http, base=base, token=token)
    assert exc.value.invalid_token  # 42001: the token cache refreshes it
    with pytest.raises(ValueError):
        updatable.template_info(state=1, path="", version="release")
