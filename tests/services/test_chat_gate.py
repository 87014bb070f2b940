"""The chat gate: the updates of one turn are claimed and counted in one script call."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from qunshop.chat import ChatType, Platform, Update
from qunshop.keys import CHAT_GATE, TASKS
from services import chat_gate, ratelimit

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def message(msg_id: str, sender: str = "o-1") -> Update:
    return Update(Platform.WECHAT, sender, ChatType.SINGLE, sender, msg_id, T0, text="help")


def event(sender: str) -> Update:
    return Update(Platform.WECHAT, sender, ChatType.SINGLE, sender, "", T0, event="subscribe")


async def test_one_turn_one_call_duplicates_refused_events_not_counted(
    api: TestClient, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = api.server.app[CHAT_GATE]
    calls: list[int] = []
    real = gate._script

    async def counting(*, keys: list[str], args: list[object]) -> object:
        calls.append(len(keys))
        return await real(keys=keys, args=args)

    monkeypatch.setattr(gate, "_script", counting)

    found = await asyncio.gather(
        gate.admit(message("m1")),
        gate.admit(message("m1")),  # WeChat's overlapping retry, in the same turn
        gate.admit(event("o-1")),
        gate.admit(message("m2")),
        gate.admit(message("m3", sender="o-2")),
    )

    assert found == [1, None, 0, 2, 1]
    assert calls == [9]  # five claims, four counters, one call
    again = await gate.admit(message("m1"))
    assert again is None
    ttl = await redis.ttl(ratelimit.key("chat:wechat:o-1"))
    assert 0 < ttl <= chat_gate.RATE_WINDOW_SECONDS


async def test_a_claim_whose_request_went_away_is_given_back(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform hung up while the claim was in flight: its retry must find it free."""
    gate = api.server.app[CHAT_GATE]
    in_flight = asyncio.Event()
    go_on = asyncio.Event()
    real = gate._script

    async def slow(*, keys: list[str], args: list[object]) -> object:
        in_flight.set()
        await go_on.wait()
        return await real(keys=keys, args=args)

    monkeypatch.setattr(gate, "_script", slow)
    first = asyncio.ensure_future(gate.admit(message("m9")))
    await in_flight.wait()
    first.cancel()
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    tasks = api.server.app[TASKS]
    async with asyncio.timeout(2):
        while tasks.pending:  # the batch's task gives the claim back
            await asyncio.sleep(0.01)

    monkeypatch.setattr(gate, "_script", real)
    assert await gate.admit(message("m9")) == 2  # claimed anew; the sender counted twice


def test_a_counted_update_is_an_equal_frozen_copy() -> None:
    update = message("m1")
    counted = update.counted(7)

    assert (counted.sender_count, update.sender_count) == (7, None)
    assert counted == update and counted.dedupe_key == update.dedupe_key
    with pytest.raises(dataclasses.FrozenInstanceError):
        counted.text = "changed"  # type: ignore[misc]


async def test_a_batch_whose_answer_was_lost_gives_its_own_claims_back(
    api: TestClient, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script ran but its answer never came (a timeout): each webhook is answered 503,
    and WeChat's re-delivery must not be taken for a duplicate. A claim another delivery
    made stays."""
    gate = api.server.app[CHAT_GATE]
    other = message("m21")
    await redis.set("chat:dedupe:" + other.dedupe_key, "another worker's")
    real = gate._script

    async def answer_lost(*, keys: list[str], args: list[object]) -> object:
        await real(keys=keys, args=args)
        raise TimeoutError("Timeout reading from 127.0.0.1:6379")

    monkeypatch.setattr(gate, "_script", answer_lost)
    results = await asyncio.gather(
        gate.admit(message("m20")), gate.admit(other), return_exceptions=True
    )
    assert [type(r) for r in results] == [TimeoutError, TimeoutError]

    monkeypatch.setattr(gate, "_script", real)
    assert await gate.admit(message("m20")) is not None  # the re-delivery is done
    assert await gate.admit(other) is None  # still the other worker's
    assert await redis.get("chat:dedupe:" + other.dedupe_key) == b"another worker's"


async def test_every_delivery_claims_with_its_own_value(api: TestClient) -> None:
    gate = api.server.app[CHAT_GATE]
    first, second = message("m30"), message("m31")
    await asyncio.gather(gate.admit(first), gate.admit(second))

    values = {await chat_gate.claimed_value(gate.redis, u) for u in (first, second)}
    assert len(values) == 2 and None not in values
