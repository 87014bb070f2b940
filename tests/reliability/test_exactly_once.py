"""Exactly once, counted in the database: pay notifies replayed 2 to 15 times (some at once,
across two servers), a server SIGKILLed between the commit and its reply, webhook messages
delivered three times overlapping, and Idempotency-Key replays racing each other.

Effects are rows: payments, refunds (and the refund requests WeChat Pay received), outbox
messages, earnings-ledger entries, order and team transitions. A replay must change none.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from models.chat import ChatIdentity
from models.groupbuy import Campaign, Seat, SeatStatus, Team
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Payment
from models.user import User
from qunshop.config import Settings
from services import groupbuy
from services.auth import Principal
from tests.reliability.conftest import MakeStack
from tests.reliability.support import (
    ChatMessage,
    acknowledged,
    buyers,
    check_campaign,
    deliver_chat,
    effects,
    headers,
    notifies_for,
    post_notify,
    send,
    spread,
    utcnow,
    wait_for,
)
from tests.support.factories import make_campaign, stock_left
from tests.support.fake_wechat import FakeWeChat

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("real_redis", "client")]

REFUND_CALLS = "/secapi/pay/refund"


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def _full_teams(campaign: Campaign, teams: int) -> list[Order]:
    """``teams`` teams with every seat reserved (head first); their orders, unpaid."""
    made: list[Order] = []
    for _ in range(teams):
        head, *members = await buyers(campaign.team_size)
        started = await groupbuy.start_team(
            principal=who(head), campaign_id=str(campaign.id), now=utcnow()
        )
        made.append(started.order)
        for member in members:
            joined = await groupbuy.join_team(
                principal=who(member), team_ref=started.team.code, now=utcnow()
            )
            made.append(joined.order)
    return made


async def _cancelled(order: Order) -> None:
    """The member gave up (or the reservation lapsed) before the money arrived."""
    seat = await Seat.get(order_id=order.id)
    assert await groupbuy.release_seat(seat.id, now=utcnow(), force=True)


async def _deliver(
    http: aiohttp.ClientSession, bases: list[str], body: bytes, times: int, at_once: int
) -> list[bool]:
    """``times`` deliveries: ``at_once`` of them together, the rest one after another."""
    servers = spread(random.sample(bases, len(bases)))
    first = await asyncio.gather(*(post_notify(http, next(servers), body) for _ in range(at_once)))
    rest = [await post_notify(http, next(servers), body) for _ in range(times - at_once)]
    return [acknowledged(a) for a in [*first, *rest]]


async def test_notifies_replayed_2_to_15_times_apply_once(
    make_stack: MakeStack, http: aiohttp.ClientSession, wechat: FakeWeChat
) -> None:
    stack = await make_stack(servers=2, latency=True, scheduler=True)
    campaign = await make_campaign(team_size=3, stock_cap=30)
    orders = await _full_teams(campaign, 4)
    gave_up = orders[-2:]  # the last team's two members: their money must go back, once
    for order in gave_up:
        await _cancelled(order)
    bodies = await notifies_for(wechat, orders)
    plan = [(body, random.randint(2, 15)) for body in bodies]

    acks = await asyncio.gather(
        *(
            _deliver(http, stack.bases, body, times, random.randint(1, times))
            for body, times in plan
        )
    )
    assert all(all(a) for a in acks), "every delivery is answered SUCCESS"
    assert await wait_for(lambda: _refunds_sent(wechat, len(gave_up)), 20)

    ids = [o.id for o in orders]
    once = await effects(ids)
    assert once["payments"] == len(orders)
    assert once["refunded_payments"] == once["refunds"] == len(gave_up)
    assert once["order_states"] == {"confirmed": 9, "paid_awaiting_team": 1, "refunding": 2}
    assert once["paid_at_set"] == len(orders) - len(gave_up)
    assert once["team_states"] == {"succeeded": 3, "open": 1}
    assert once["seats_paid"] == [1, 3, 3, 3]
    # Refunds for the two who gave up, and 成团 news for each of the three teams: once each.
    assert once["outbox"] == {"refund.submit": len(gave_up), "news.publish": 3}
    tally = await check_campaign(campaign.id)
    assert tally.stock_left == 30 - 10

    # Another round of every notify, all at once: nothing moves.
    again = await asyncio.gather(
        *(post_notify(http, b, body) for body in bodies for b in stack.bases)
    )
    assert all(acknowledged(a) for a in again)
    await asyncio.sleep(0.5)  # an outbox pass in each server
    assert await effects(ids) == once
    assert len(wechat.calls_to(REFUND_CALLS)) == len(gave_up)
    assert sum(times for _, times in plan) >= 2 * len(plan)


async def _at_least(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected


async def _refunds_sent(wechat: FakeWeChat, count: int) -> bool:
    return len(wechat.refunds) >= count


async def _payment_committed(transaction_id: str) -> None:
    while not await Payment.exists(transaction_id=transaction_id):
        await asyncio.sleep(0.005)


async def test_server_killed_between_commit_and_reply(
    make_stack: MakeStack, http: aiohttp.ClientSession, wechat: FakeWeChat
) -> None:
    """The commit is in, the SUCCESS never left: WeChat Pay redelivers to a new process."""
    stack = await make_stack(servers=1, proxied=True)
    assert stack.db is not None
    campaign = await make_campaign(team_size=2, stock_cap=10)
    head, member = await _full_teams(campaign, 1)
    gave_up = (await _full_teams(campaign, 1))[1]
    await _cancelled(gave_up)
    # What commits each payment: the honoured one owes nothing more, so its statement is its
    # own transaction (its answer says "honoured"); the refused one is followed by Python in a
    # transaction (COMMIT).
    cases = [(head, "paid_awaiting_team", b"honoured"), (gave_up, "refunding", b"COMMIT\x00")]

    for order, settled_as, committed in cases:
        [body] = await notifies_for(wechat, [order])
        transaction_id = f"4200{order.id.hex[:24]}"
        server = stack.servers[-1]
        # PostgreSQL's answer to what commits the payment now reaches the server a second
        # late: the commit is visible to us long before the server hears of it, let alone
        # replies.
        stack.db.hold_replies(committed, 1.0)
        delivery = asyncio.ensure_future(post_notify(http, stack.bases[-1], body))
        await asyncio.wait_for(_payment_committed(transaction_id), 20)
        server.kill()
        answer = await delivery
        assert answer.status == 0, f"the reply left before the kill: {answer}"
        stack.db.hold_replies(b"", 0)

        await stack.add_server()
        base = stack.bases[-1]
        acks = await asyncio.gather(*(post_notify(http, base, body) for _ in range(3)))
        acks += [await post_notify(http, base, body) for _ in range(2)]
        assert all(acknowledged(a) for a in acks)
        assert (await Order.get(id=order.id)).status.value == settled_as

    assert await wait_for(lambda: _refunds_sent(wechat, 1), 20)
    await asyncio.sleep(0.5)
    result = await effects([head.id, member.id, gave_up.id])
    assert result["payments"] == 2
    assert result["refunds"] == result["refunded_payments"] == 1  # one refund at most
    assert result["outbox"] == {"refund.submit": 1}
    assert len(wechat.calls_to(REFUND_CALLS)) == 1
    assert sorted(result["seats_paid"]) == [0, 1]  # the head's seat, paid once
    await check_campaign(campaign.id)


async def test_webhook_messages_delivered_three_times_overlapping(
    make_stack: MakeStack, http: aiohttp.ClientSession
) -> None:
    """Ten members send 参团 into a team with four free seats; WeChat delivers each message
    three times, the retries landing on the other server while the first is running."""
    stack = await make_stack(servers=2, latency=True)
    campaign = await make_campaign(team_size=5, stock_cap=50)
    [head] = await buyers(1)
    team = (
        await groupbuy.start_team(principal=who(head), campaign_id=str(campaign.id), now=utcnow())
    ).team
    senders = [f"o_rel_{uuid.uuid4().hex[:12]}" for _ in range(10)]

    async def three_times(sender: str) -> list[str]:
        message = ChatMessage.of(sender, f"参团 {team.code}")
        first_server, other = random.sample(stack.bases, 2)
        first = asyncio.ensure_future(deliver_chat(http, first_server, message))
        await asyncio.sleep(random.uniform(0, 0.2))
        retries = await asyncio.gather(
            *(deliver_chat(http, b, message) for b in (other, first_server))
        )
        return [str(a.body) for a in [await first, *retries] if a.status == 200]

    answers = await asyncio.gather(*(three_times(s) for s in senders))
    assert all(len(a) == 3 for a in answers), answers
    passive = sum(1 for bodies in answers for b in bodies if b != "success")

    async def answered() -> int:
        # An answer that outran the reply budget goes out later, as a chat.send outbox row.
        return passive + await OutboxMessage.filter(kind="chat.send").count()

    assert await wait_for(lambda: _at_least(answered, len(senders)), 30)
    await asyncio.sleep(1)
    assert await answered() == len(senders)  # one answer per message, however delivered

    identities = await ChatIdentity.filter(external_id__in=senders)
    assert len(identities) == len(senders)
    users = [i.user_id for i in identities]
    seats = await Seat.filter(team_id=team.id, status=SeatStatus.RESERVED)
    assert len(seats) == 5 and Counter(s.user_id for s in seats).most_common(1)[0][1] == 1
    assert await Order.filter(user_id__in=users).count() == 4
    assert (await Team.get(id=team.id)).seats_held == 5
    await check_campaign(campaign.id)


async def test_idempotency_key_replays_race_across_servers(
    make_stack: MakeStack, http: aiohttp.ClientSession, settings: Settings
) -> None:
    stack = await make_stack(servers=2, latency=True)
    campaign = await make_campaign(team_size=3, stock_cap=20)
    head, member, other = await buyers(3)
    servers = spread(stack.bases)

    async def race(user: User, path: str, key: str) -> list:
        hdrs = headers(user, settings, **{"Idempotency-Key": key})
        together = await asyncio.gather(
            *(
                send(http, next(servers), "POST", path, headers=hdrs, json_body={})
                for _ in range(12)
            )
        )
        after = [
            await send(http, next(servers), "POST", path, headers=hdrs, json_body={})
            for _ in range(3)
        ]
        created = [a for a in together if a.status == 201]
        assert created and all(a.body == created[0].body for a in [*created, *after])
        assert all(a.code == "idempotency_in_progress" for a in together if a.status != 201)
        assert all(a.status == 201 and a.headers.get("Idempotent-Replayed") for a in after)
        return [created[0].body, *(a.body for a in after)]

    start = f"/api/v1/campaigns/{campaign.id}/teams"
    [first, *_] = await race(head, start, "start-once")
    code = first["team"]["code"]
    await race(member, f"/api/v1/teams/{code}/join", "join-once")
    await race(other, f"/api/v1/teams/{code}/join", "start-once")  # another user's same key

    assert await Team.filter(campaign_id=campaign.id).count() == 1
    assert await Order.filter(campaign_id=campaign.id).count() == 3
    team = await Team.get(code=code)
    assert team.seats_held == 3
    assert await stock_left(campaign.id) == 17
    assert await Order.filter(status=OrderStatus.PENDING_PAYMENT).count() == 3
    await check_campaign(campaign.id)
