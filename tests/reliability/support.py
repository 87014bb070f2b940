"""What the reliability tests share: buyers, requests fired together, signed notifies, and the
database invariants that are the verdict (status codes are only read alongside them)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from models.groupbuy import Campaign, Seat, SeatStatus, StockSlice, Team, TeamStatus
from models.growth import EarningEntry
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Payment, Refund
from models.user import User
from qunshop.config import Settings
from services import reconciliation
from tests.bot.helpers import OA, nonce, now_ts, oa_text
from tests.support.factories import auth
from tests.support.fake_wechat import FakeWeChat

logger = logging.getLogger(__name__)

LIVE = (SeatStatus.RESERVED, SeatStatus.PAID)
PAID_STATES = (OrderStatus.PAID_AWAITING_TEAM, OrderStatus.CONFIRMED)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the text when the body is not JSON
    server: str  # the base URL that answered (or was asked, when there was no answer)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | int:
        """201 for a success, else the problem's stable code (or the bare status)."""
        if self.status < 300:
            return self.status
        if isinstance(self.body, dict) and "code" in self.body:
            return str(self.body["code"])
        return self.status


async def buyers(count: int) -> list[User]:
    users = [User(openid=f"o-rel-{uuid.uuid4().hex[:24]}") for _ in range(count)]
    await User.bulk_create(users, batch_size=500)
    return users


def headers(user: User, settings: Settings, **extra: str) -> dict[str, str]:
    return {**auth(user, settings), **extra}


async def send(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    data: bytes | None = None,
    params: dict[str, str] | None = None,
) -> Answer:
    """One request; a transport failure is answered as status 0 (nobody replied)."""
    try:
        async with http.request(
            method, base + path, headers=headers, json=json_body, data=data, params=params
        ) as resp:
            text = await resp.text()
            status, answer_headers = resp.status, dict(resp.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Answer(0, f"{type(exc).__name__}: {exc}", base)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return Answer(status, body, base, answer_headers)


@dataclass(frozen=True)
class ChatMessage:
    """A text to the Official Account in safe mode, sealed once: WeChat re-delivers exactly
    these bytes."""

    sender: str
    query: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, sender: str, content: str) -> ChatMessage:
        oa = OA(None)  # type: ignore[arg-type]  # seal() only signs and encrypts
        query, body = oa.seal(oa_text(content, sender=sender), now_ts(), nonce())
        return cls(sender, query, body.encode())


async def deliver_chat(http: aiohttp.ClientSession, base: str, message: ChatMessage) -> Answer:
    return await send(http, base, "POST", "/bot/wechat", params=message.query, data=message.body)


def spread(bases: Sequence[str]) -> itertools.cycle[str]:
    """Requests alternate between the servers, so both race on the same rows."""
    return itertools.cycle(bases)


def codes(answers: Sequence[Answer]) -> Counter[str | int]:
    return Counter(a.code for a in answers)


async def post_notify(http: aiohttp.ClientSession, base: str, body: bytes) -> Answer:
    return await send(
        http,
        base,
        "POST",
        "/pay/wechat/notify",
        data=body,
        headers={"Content-Type": "application/xml"},
    )


def acknowledged(answer: Answer) -> bool:
    return answer.status == 200 and "<return_code><![CDATA[SUCCESS]]>" in str(answer.body)


async def notifies_for(fake: FakeWeChat, orders: Sequence[Order]) -> list[bytes]:
    """One signed notify per order, each with its own transaction id, as WeChat Pay sends."""
    users = dict(await User.filter(id__in=[o.user_id for o in orders]).values_list("id", "openid"))
    return [
        fake.payment_notify(
            out_trade_no=o.out_trade_no,
            total_fee=o.amount,
            openid=users[o.user_id],
            transaction_id=f"4200{o.id.hex[:24]}",
        )
        for o in orders
    ]


async def pay_everything(
    http: aiohttp.ClientSession,
    bases: Sequence[str],
    fake: FakeWeChat,
    campaign: Campaign,
    *,
    replays: int = 1,
) -> Counter[str]:
    """Pay every order still pending with signed notifies, all at once, ``replays`` times each
    (the copies concurrent, on alternating servers). Every delivery must be acknowledged."""
    pending = await Order.filter(campaign_id=campaign.id, status=OrderStatus.PENDING_PAYMENT)
    bodies = await notifies_for(fake, pending)
    servers = spread(bases)
    answers = await asyncio.gather(
        *(post_notify(http, next(servers), body) for body in bodies for _ in range(replays))
    )
    assert all(acknowledged(a) for a in answers), Counter(
        (a.status, str(a.body)[:80]) for a in answers
    )
    return Counter(a.status for a in answers)


@dataclass(frozen=True)
class Tally:
    """What a campaign's rows say."""

    stock_cap: int
    stock_left: int
    orders: int
    live_seats: int
    paid_seats: int
    teams: int
    full_teams: int
    payments: int
    refunded_payments: int
    refunds: int


async def check_campaign(campaign_id: uuid.UUID) -> Tally:
    """Every invariant a campaign's rows must keep, whatever happened to the requests.

    Read in one snapshot (REPEATABLE READ), so servers still finishing abandoned
    requests cannot commit between two of the reads and fake a half-applied state.
    """
    for _ in range(3):
        try:
            async with in_transaction() as conn:
                await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return await _check_campaign(campaign_id)
        except TransactionManagementError as exc:
            # Seen about once in fifteen runs of the in-process hang-up test, never with
            # `qunshop serve` (which does not cancel handlers): the pool connection this read
            # got had just come back from a cancelled query, and PostgreSQL answered the SET as
            # if a query had already run after our BEGIN. The observer reads again on another
            # connection; the invariants are still checked in full.
            logger.warning("snapshot read refused (%s); reading again", exc)
            await asyncio.sleep(0.2)
    raise AssertionError("could not open a REPEATABLE READ snapshot three times")


async def _check_campaign(campaign_id: uuid.UUID) -> Tally:
    campaign = await Campaign.get(id=campaign_id)
    assert 0 <= campaign.stock_left <= campaign.stock_cap
    # Stock set aside in slices (0020) is still stock: the reserve plus the slices.
    slices = await StockSlice.filter(campaign_id=campaign.id).values_list("stock_left", flat=True)
    assert all(n >= 0 for n in slices)
    stock_left = campaign.stock_left + sum(slices)

    orders = {o.id: o for o in await Order.filter(campaign_id=campaign.id)}
    seats = await Seat.filter(campaign_id=campaign.id)
    teams = {t.id: t for t in await Team.filter(campaign_id=campaign.id)}
    by_order = {s.order_id: s for s in seats}
    # Every order has its seat and every seat its order: nothing half-created.
    assert set(by_order) == set(orders), "orders and seats do not pair up"
    live = [s for s in seats if s.status in LIVE]
    # No team failed in these tests, so live seats and stock add up to the cap exactly.
    assert stock_left + len(live) == campaign.stock_cap, (
        stock_left,
        len(live),
        campaign.stock_cap,
    )
    for seat in seats:
        order = orders[seat.order_id]
        expected = {
            SeatStatus.RESERVED: (OrderStatus.PENDING_PAYMENT,),
            SeatStatus.PAID: PAID_STATES,
            SeatStatus.RELEASED: (OrderStatus.CANCELLED, OrderStatus.REFUNDING),
        }[seat.status]
        assert order.status in expected, (seat.status, order.status)
        assert order.team_id == seat.team_id
    for team in teams.values():
        mine = [s for s in live if s.team_id == team.id]
        paid = [s for s in mine if s.status is SeatStatus.PAID]
        assert len(mine) <= team.size, f"team {team.code}: {len(mine)} seats of {team.size}"
        assert team.seats_held == len(mine), (team.code, team.seats_held, len(mine))
        assert team.seats_paid == len(paid), (team.code, team.seats_paid, len(paid))
        assert (team.status is TeamStatus.SUCCEEDED) == (len(paid) == team.size)
        assert sum(1 for s in mine if s.is_head) <= 1
    per_user = Counter(s.user_id for s in live)
    assert max(per_user.values(), default=0) <= campaign.per_user_limit
    open_seats = Counter(s.user_id for s in seats if s.in_open_team)
    assert max(open_seats.values(), default=0) <= 1

    payments = await Payment.filter(order_id__in=list(orders))
    per_order = Counter(p.order_id for p in payments)
    honoured = [p for p in payments if p.outcome == "honoured"]
    assert max(Counter(p.order_id for p in honoured).values(), default=0) <= 1
    for payment in honoured:
        order = orders[payment.order_id]
        assert order.status in PAID_STATES and order.transaction_id == payment.transaction_id
        assert by_order[order.id].status is SeatStatus.PAID
    for order in orders.values():
        if order.status in PAID_STATES:
            assert per_order[order.id] >= 1, f"order {order.id} paid without a payment"
    refunds = await Refund.filter(order_id__in=list(orders)).count()
    return Tally(
        stock_cap=campaign.stock_cap,
        stock_left=stock_left,
        orders=len(orders),
        live_seats=len(live),
        paid_seats=sum(1 for s in live if s.status is SeatStatus.PAID),
        teams=len(teams),
        full_teams=sum(1 for t in teams.values() if t.seats_held == t.size),
        payments=len(payments),
        refunded_payments=sum(1 for p in payments if p.outcome == "refunded"),
        refunds=refunds,
    )


async def effects(order_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """Every side effect of paying these orders, counted in the database."""
    orders = await Order.filter(id__in=list(order_ids))
    team_ids = {o.team_id for o in orders if o.team_id}
    teams = await Team.filter(id__in=list(team_ids))
    return {
        "payments": await Payment.filter(order_id__in=list(order_ids)).count(),
        "refunded_payments": await Payment.filter(
            order_id__in=list(order_ids), outcome="refunded"
        ).count(),
        "refunds": await Refund.filter(order_id__in=list(order_ids)).count(),
        "ledger": await EarningEntry.filter(order_id__in=list(order_ids)).count(),
        "outbox": dict(await outbox_kinds()),
        "order_states": dict(Counter(o.status.value for o in orders)),
        "paid_at_set": sum(1 for o in orders if o.paid_at is not None),
        "seats_paid": sorted(t.seats_paid for t in teams),
        "team_states": dict(Counter(t.status.value for t in teams)),
    }


async def outbox_kinds() -> Counter[str]:
    """The outbox's rows by kind, less the clock's own daily work: after 10:00 Shanghai time
    the scheduler queues yesterday's bill reconciliation, whatever the test did."""
    kinds = await OutboxMessage.exclude(kind=reconciliation.KIND).values_list("kind", flat=True)
    return Counter(kinds)


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.1
) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await predicate():
            return True
        await asyncio.sleep(interval)
    return False


def utcnow() -> datetime:
    return datetime.now(tz=UTC)
