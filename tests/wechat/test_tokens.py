"""The shared token cache against the fake WeChat server, on real Redis (fakeredis locally)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import fakeredis
import pytest
from redis.asyncio import Redis

from tests.support.fake_wechat import FakeWeChat
from wechat import messaging, tokens
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

APPID = "wx1234567890test"
SECRET = "test-wechat-app-secret-value"
CORP_ID = "wx5823bf96d3bd56c7"
WECOM_SECRET = "test-wecom-app-secret"
STABLE_TOKEN = "/cgi-bin/stable_token"
KEY = f"qunshop:token:wechat:{APPID}"

Connect = Callable[[], Redis]


@pytest.fixture
async def connect(redis_url: str | None) -> AsyncIterator[Connect]:
    """New Redis clients on one server: each stands for a worker process."""
    server = fakeredis.FakeServer()
    clients: list[Redis] = []

    def make() -> Redis:
        client = Redis.from_url(redis_url) if redis_url else fakeredis.FakeAsyncRedis(server=server)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _wechat(http: aiohttp.ClientSession, redis: Redis, base: str) -> TokenCache:
    return TokenCache.wechat(http=http, redis=redis, base=base, appid=APPID, secret=SECRET)


def _forces(fake: FakeWeChat) -> list[bool]:
    return [json.loads(c.body)["force_refresh"] for c in fake.calls_to(STABLE_TOKEN)]


def test_keys_and_ttl_are_those_deployments_already_hold() -> None:
    assert tokens.wechat_key(APPID) == KEY
    assert tokens.wecom_key(CORP_ID, 1000002) == f"qunshop:token:wecom:{CORP_ID}:1000002"
    assert tokens.cache_ttl(7200) == 6900  # refetched five minutes before it lapses
    assert tokens.cache_ttl(200) == 30  # never cached for less than 30 s ...
    assert tokens.cache_ttl(20) == 20  # ... nor longer than it lives


async def test_two_workers_asking_at_once_fetch_once(
    http: aiohttp.ClientSession, connect: Connect, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    fake.token_delay = 0.05  # a slow fetch: every caller misses the cache at once
    one, two = _wechat(http, connect(), base), _wechat(http, connect(), base)

    got = await asyncio.gather(*(cache.get() for cache in (one, two) * 5))

    assert fake.token_fetches == 1
    assert set(got) == {fake.wechat_token}
    redis = connect()
    assert await redis.get(KEY) == fake.wechat_token.encode()
    assert 6800 <= await redis.ttl(KEY) <= 6900


async def test_a_rejected_token_is_refreshed_once_for_everyone(
    http: aiohttp.ClientSession, connect: Connect, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    one, two = _wechat(http, connect(), base), _wechat(http, connect(), base)
    first = await one.get()
    fake.expire_tokens()
    fake.token_delay = 0.05

    # Both workers saw the old token refused; only the first to get the lock fetches.
    got = await asyncio.gather(one.refresh(rejected=first), two.refresh(rejected=first))

    assert fake.token_fetches == 2
    assert got[0] == got[1] == fake.wechat_token != first
    assert _forces(fake) == [False, False]  # a new token came back: no force needed


async def test_call_retries_a_refused_token_once_then_gives_up(
    http: aiohttp.ClientSession, connect: Connect, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    cache = _wechat(http, connect(), base)
    await cache.get()
    fake.expire_tokens()
    body = messaging.custom_body("o-1", {"type": "text", "text": "hi"})

    await cache.call(
        lambda token: messaging.send_custom(http, base=base, token=token, payload=body)
    )

    sent = [c.query["access_token"] for c in fake.calls_to("/cgi-bin/message/custom/send")]
    assert sent == ["ACCESS_TOKEN_000001", "ACCESS_TOKEN_000002"]  # refused 42001, then sent
    assert len(fake.custom_messages) == 1

    tried: list[str] = []

    async def always_refused(token: str) -> None:
        tried.append(token)
        raise MessagingError(40001, "invalid credential")

    with pytest.raises(MessagingError) as caught:
        await cache.call(always_refused)
    assert caught.value.invalid_token
    assert len(tried) == 2  # one refresh, one retry: never a loop


async def test_a_forced_refresh_happens_at_most_every_30_seconds(
    http: aiohttp.ClientSession, connect: Connect, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    redis = connect()
    cache = _wechat(http, redis, base)
    first = await cache.get()
    fake.revoked_tokens.add(first)  # refused, yet still what stable_token hands out

    second = await cache.refresh(rejected=first)

    assert second != first and second == fake.wechat_token
    assert _forces(fake) == [False, False, True]
    assert 0 < await redis.ttl(f"{KEY}:forced") <= 30
    fake.revoked_tokens.add(second)
    other = _wechat(http, connect(), base)  # another worker: the gap is shared through Redis
    with pytest.raises(MessagingError) as caught:
        await other.refresh(rejected=second)
    assert caught.value.retryable and caught.value.errcode == -1
    assert _forces(fake) == [False, False, True, False]  # asked, but did not force
    assert await redis.get(KEY) == second.encode()

    await redis.delete(f"{KEY}:forced")  # 30 seconds later
    third = await other.refresh(rejected=second)
    assert third not in (first, second)
    assert _forces(fake) == [False, False, True, False, False, True]


async def test_a_wecom_token_is_never_forced(
    http: aiohttp.ClientSession, connect: Connect, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    redis = connect()
    cache = TokenCache.wecom(
        http=http, redis=redis, base=base, corp_id=CORP_ID, agent_id=1000002, secret=WECOM_SECRET
    )
    token = await cache.get()

    assert await cache.refresh(rejected=token) == token  # gettoken has no force_refresh
    assert fake.wecom_token_fetches == 2
    assert await redis.get(tokens.wecom_key(CORP_ID, 1000002)) == token.encode()


async def test_a_lock_held_too_long_is_a_retryable_error(
    http: aiohttp.ClientSession,
    connect: Connect,
    fake_wechat: tuple[FakeWeChat, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, base = fake_wechat
    monkeypatch.setattr(tokens, "LOCK_WAIT", 0.2)
    stuck = connect().lock(f"{KEY}:lock", timeout=5)
    assert await stuck.acquire()
    try:
        with pytest.raises(MessagingError) as caught:
            await _wechat(http, connect(), base).get()
    finally:
        await stuck.release()
    assert caught.value.retryable
    assert fake.token_fetches == 0
