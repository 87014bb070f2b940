"""Teams (拼团): start, join, pay a seat, release lapsed seats, close at the deadline.

Every use case that touches a team locks the team row first (the join's conditional update
does it), then the campaign row, then orders and seats: one lock order, so concurrent joins,
payments, releases and settlements serialise per team instead of deadlocking.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Subquery
from tortoise.transactions import in_transaction

from models.community import Community
from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderKind, OrderStatus
from models.payment import Payment
from qunshop.errors import Conflict, ErrorCode
from services import (
    campaigns,
    communities,
    cursors,
    due_rows,
    join_sql,
    news,
    orders,
    pricing,
    refunds,
    share_cards,
    storefront,
)
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid
    from collections.abc import Mapping

    from tortoise.models import Model

    from services.auth import Principal

    Row = Mapping[str, Any]  # column to value

logger = logging.getLogger(__name__)

_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: people type these in chat
CODE_MAX_LENGTH = 16  # Team.code's column


@dataclass(frozen=True)
class Reservation:
    """A held seat, with what its answer shows beside the rows: the team's product and
    members (this seat's holder among them).

    The team's, the order's and the seat's rows are kept as columns (a join's as its statement
    returned them); their models are built on first use. The API answers a join from the rows
    alone, which spares three models a join (BENCHMARKS.md, round 7)."""

    team_row: Row
    order_row: Row
    seat_row: Row
    product: storefront.Brief | None
    members: list[storefront.Member]
    # The merchant completes the team at its deadline with any paid member: its campaign's
    # setting, the one rule every view of a team shows (``guaranteed``).
    guaranteed: bool
    # A join asked to pay, in its one statement: the payer read, the price fixed when prepay's
    # checks passed (services/join_sql.py). None: not asked, or joined in a transaction.
    payer: join_sql.Payer | None = None

    @cached_property
    def team(self) -> Team:
        return Team._init_from_db(**self.team_row)

    @cached_property
    def order(self) -> Order:
        return Order._init_from_db(**self.order_row)

    @cached_property
    def seat(self) -> Seat:
        return Seat._init_from_db(**self.seat_row)


def columns(model: Model) -> dict[str, Any]:
    """A model's row: column to value."""
    meta = model._meta
    return {column: getattr(model, name) for name, column in meta.fields_db_projection.items()}


def new_team_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def _team_key(ref: str | uuid.UUID) -> tuple[uuid.UUID | None, str | None]:
    """The id a reference names, or else the code it names; (None, None): no team."""
    key = parse_uuid(ref)
    code = ref.strip().upper() if isinstance(ref, str) else ""
    # An id is longer than any code. Tortoise refuses a value longer than the column,
    # PostgreSQL a NUL: no such code.
    if key is not None or not 0 < len(code) <= CODE_MAX_LENGTH or "\x00" in code:
        return key, None
    return None, code


async def find_team(ref: str | uuid.UUID, *, with_campaign: bool = False) -> Team:
    """A team by its id or by the code people share in chat."""
    key, code = _team_key(ref)
    related = ("campaign",) if with_campaign else ()
    team = await Team.get_or_none(id=key).select_related(*related) if key else None
    if team is None and code is not None:
        team = await Team.get_or_none(code=code).select_related(*related)
    if team is None:
        raise join_sql.refusal(ErrorCode.TEAM_NOT_FOUND)
    return team


def _ensure_running(campaign: Campaign, now: datetime) -> None:
    if campaign.paused_at is not None:
        raise join_sql.refusal(ErrorCode.CAMPAIGN_PAUSED)
    if not campaigns.is_running(campaign, now):
        raise join_sql.refusal(ErrorCode.CAMPAIGN_NOT_ACTIVE)


async def at_limit(campaigns: list[Campaign], user_id: uuid.UUID) -> set[uuid.UUID]:
    """Of these campaigns, those where the person holds (reserved or paid) as many seats as
    one may: a join or a new team of theirs would be refused."""
    held = Counter(
        await Seat.filter(
            campaign_id__in=[c.id for c in campaigns],
            user_id=user_id,
            status__in=[SeatStatus.RESERVED, SeatStatus.PAID],
        ).values_list("campaign_id", flat=True)
    )
    return {c.id for c in campaigns if held[c.id] >= c.per_user_limit}


async def _check_user_limit(campaign: Campaign, user_id: uuid.UUID) -> None:
    if await at_limit([campaign], user_id):
        # Only on refusal: say the more useful thing when the seat is in an open team.
        if await Seat.filter(campaign_id=campaign.id, user_id=user_id, in_open_team=True).exists():
            raise join_sql.refusal(ErrorCode.ALREADY_IN_TEAM)
        raise join_sql.refusal(ErrorCode.USER_LIMIT_REACHED, limit=campaign.per_user_limit)


async def _hold_seat(
    *,
    campaign: Campaign,
    team: Team,
    user_id: uuid.UUID,
    is_head: bool,
    now: datetime,
    chat_id: str | None,
    discount_bps: int = 0,
) -> tuple[Order, Seat]:
    price = campaign.group_price
    if is_head and campaign.head_price is not None:
        price = campaign.head_price
    off = pricing.member_off_of(price, 1, discount_bps)  # the member tier's, from the start
    reserved_until = now + timedelta(minutes=campaign.reservation_minutes)
    order = await Order.create(
        out_trade_no=orders.new_out_trade_no(now),
        kind=OrderKind.GROUP,
        user_id=user_id,
        community_id=campaign.community_id,
        sku_id=campaign.sku_id,
        campaign_id=campaign.id,
        team_id=team.id,
        quantity=1,
        unit_price=price,
        member_off=off,
        amount=price - off,
        reserved_until=reserved_until,
        chat_id=chat_id,
    )
    try:
        seat = await Seat.create(
            team_id=team.id,
            campaign_id=campaign.id,
            user_id=user_id,
            order_id=order.id,
            is_head=is_head,
            reserved_until=reserved_until,
        )
    except IntegrityError:
        # uq_seat_open_team_per_user: a concurrent request of the same user won.
        raise join_sql.refusal(ErrorCode.ALREADY_IN_TEAM) from None
    return order, seat


async def start_team(
    *, principal: Principal, campaign_id: str, now: datetime, chat_id: str | None = None
) -> Reservation:
    """Open a new team with the caller as its head, holding the head's seat."""
    campaign = await campaigns.get_campaign(campaign_id)
    _ensure_running(campaign, now)
    discount_bps = await pricing.member_discount_bps(principal.user_id, now=now)
    # No pre-check for an open seat: uq_seat_open_team_per_user refuses it in the transaction.
    async with in_transaction():
        await _check_user_limit(campaign, principal.user_id)
        await join_sql.take_stock(connections.get("default"), campaign.id)
        team = await Team.create(
            code=new_team_code(),
            campaign_id=campaign.id,
            head_id=principal.user_id,
            size=campaign.team_size,
            seats_held=1,
            deadline_at=campaigns.team_deadline(campaign, now),
            chat_id=chat_id,
        )
        order, seat = await _hold_seat(
            campaign=campaign,
            team=team,
            user_id=principal.user_id,
            is_head=True,
            now=now,
            chat_id=chat_id,
            discount_bps=discount_bps,
        )
    product = (await storefront.briefs([campaign.sku_id])).get(campaign.sku_id)
    members = (await storefront.members([team.id]))[team.id]
    return Reservation(
        columns(team), columns(order), columns(seat), product, members, campaign.guaranteed
    )


async def open_team(
    *, principal: Principal, campaign_id: str, now: datetime, chat_id: str | None = None
) -> Team:
    """A leader opens a team for the group without buying: no seat, no order, no stock taken.

    The leader is the team's head in name only; members join with 参团 and pay their seats.
    A team of theirs for this campaign and chat still waiting for its first payment is given
    back instead: 开团 typed again would only split the group's buyers over empty teams.
    """
    campaign = await campaigns.get_campaign(campaign_id)
    await communities.ensure_can_manage(principal, await Community.get(id=campaign.community_id))
    _ensure_running(campaign, now)
    if (await campaigns.stock_left([campaign.id]))[campaign.id] < 1:
        raise join_sql.refusal(ErrorCode.CAMPAIGN_SOLD_OUT)
    waiting = await _unpaid_team(campaign, principal=principal, chat_id=chat_id, now=now)
    if waiting is not None:
        return waiting
    return await Team.create(
        code=new_team_code(),
        campaign_id=campaign.id,
        head_id=principal.user_id,
        size=campaign.team_size,
        seats_held=0,
        deadline_at=campaigns.team_deadline(campaign, now),
        chat_id=chat_id,
    )


async def _unpaid_team(
    campaign: Campaign, *, principal: Principal, chat_id: str | None, now: datetime
) -> Team | None:
    """The newest open team ``principal`` heads for ``campaign`` in ``chat_id`` that nobody
    has paid a seat of yet, if any."""
    theirs = (
        await Team.filter(
            campaign_id=campaign.id,
            head_id=principal.user_id,
            chat_id=chat_id,
            status=TeamStatus.OPEN,
            deadline_at__gt=now,
        )
        .order_by("-created_at")
        .limit(20)
    )
    if not theirs:
        return None
    paid = set(
        await Seat.filter(team_id__in=[t.id for t in theirs], status=SeatStatus.PAID).values_list(
            "team_id", flat=True
        )
    )
    return next((t for t in theirs if t.id not in paid and t.seats_held < t.size), None)


async def join_team(
    *,
    principal: Principal,
    team_ref: str,
    now: datetime,
    chat_id: str | None = None,
    pay: bool = False,
    leader_identity_required: bool = True,
) -> Reservation:
    """Hold a seat in an open team of a running campaign while the member pays.

    One statement, ``qunshop_join_team`` (migrations 0010 to 0210; services/join_sql.py),
    with every check and conditional update of the join, and what its answer shows. Where
    some tier gives a discount, the statement sends the join back unwritten; then, for a
    member whose tier gives one, the order's price takes it in the same transaction.

    ``pay``: the member pays at once (services/join_pay.py). A join that is one statement
    also fixes the price for WeChat Pay there and reads the payer (``Reservation.payer``);
    one priced in a transaction does not (its payer is None: prepay as usual after it).
    """
    try:
        key, code = _team_key(team_ref)
        if key is None and code is None:
            raise join_sql.refusal(ErrorCode.TEAM_NOT_FOUND)
        args = {
            "team_id": key,
            "code": code,
            "user_id": principal.user_id,
            "chat_id": chat_id,
            "leader_identity_required": leader_identity_required,
        }
        default = connections.get("default")
        joined = await join_sql.join(default, now=now, member_prices=False, pay=pay, **args)
        if joined is not None:  # no tier gives a discount: the one statement alone
            return Reservation(*joined)
        discount_bps = await pricing.member_discount_bps(principal.user_id, now=now)
        if discount_bps == 0:
            joined = await join_sql.join(default, now=now, member_prices=True, pay=pay, **args)
            return Reservation(*joined)
        async with in_transaction() as db:  # priced after the statement: not fixed in it
            joined = await join_sql.join(db, now=now, member_prices=True, **args)
            team, order, seat, product, members, guaranteed, _ = joined
            priced = await pricing.with_member_off(Order._init_from_db(**order), discount_bps)
        return Reservation(team, columns(priced), seat, product, members, guaranteed)
    except Conflict as refused:  # the statement says only "closed": which way, read now
        if refused.code is not ErrorCode.TEAM_CLOSED:
            raise
        raise await _closed(team_ref) from None


# A closed team's state as a join's refusal tells it: its status, succeeded (it filled: 成团)
# or failed (it ended short), or ENDED: its deadline passed, the clock has yet to settle it.
ENDED = "ended"


async def _closed(team_ref: str) -> Conflict:
    """team_closed with the team's ``state`` and code (a join's refusal path only)."""
    team = await find_team(team_ref)
    state = ENDED if team.status is TeamStatus.OPEN else team.status.value
    return Conflict(
        ErrorCode.TEAM_CLOSED, f"this team has closed ({state})", state=state, team_code=team.code
    )


async def lock_team(team_id: uuid.UUID) -> Team:
    """Inside a transaction: the team row, locked."""
    return await Team.filter(id=team_id).select_for_update().get()


_SUCCEED_SQL = "SELECT team, owed_orders, owed_amounts FROM qunshop_succeed_team($1, $2)"


async def completed(
    team: Team,
    *,
    owed_orders: list[uuid.UUID] | None,
    owed_amounts: list[int] | None,
    now: datetime,
    card: bool = True,
    released: int = 0,
) -> None:
    """In the transaction that made the team succeed (``qunshop_succeed_team``, migrations
    0130 and 0200, which publishes its news; a payment that filled it calls that inside
    ``qunshop_pay_order``): the refunds its tier price owes, and its share card (``card``: it
    has one, or may)."""
    for order_id, amount in zip(owed_orders or (), owed_amounts or (), strict=True):
        await refunds.owe(
            order=await Order.get(id=order_id),
            payment=await Payment.get(order_id=order_id, outcome="honoured"),
            amount=amount,
            reason="tier_price",
            now=now,
        )
    if card:
        await share_cards.changed(team, now=now)
    logger.info(
        "team %s succeeded with %s members (%s released)", team.code, team.seats_paid, released
    )


async def _release_reserved(team: Team, campaign_id: uuid.UUID, now: datetime) -> list[Order]:
    """Release every still-reserved seat of a closing team; returns the orders it cancelled."""
    seats = await Seat.filter(team_id=team.id, status=SeatStatus.RESERVED)
    cancelled = []
    for seat in seats:
        await Seat.filter(id=seat.id).update(status=SeatStatus.RELEASED, in_open_team=False)
        order = await Order.get(id=seat.order_id)
        if order.status is OrderStatus.PENDING_PAYMENT:
            await orders.transition(order, OrderStatus.CANCELLED)
            cancelled.append(order)
    if seats:
        await Campaign.filter(id=campaign_id).update(stock_left=F("stock_left") + len(seats))
    return cancelled


async def _succeed(team: Team, now: datetime) -> None:
    """At the deadline, the team locked: its reserved seats released, it succeeds with whoever
    paid (``qunshop_succeed_team``). Those who held a seat unpaid hear that their seat went
    (the lapse news; the team's news is the payers')."""
    released = await _release_reserved(team, team.campaign_id, now)
    for order in released:
        await news.publish(news.ORDER_LAPSED, ref=str(order.id), now=now, cause=news.TEAM_SUCCEEDED)
    _, rows = await connections.get("default").execute_query(_SUCCEED_SQL, [team.id, now])
    row, owed_orders, owed_amounts = rows[0].values()
    if row is None:  # not open: the caller holds the team's lock, so this does not happen
        return
    succeeded = Team._init_from_db(**dict(row.items()))
    team.status = succeeded.status
    await completed(
        succeeded,
        owed_orders=owed_orders,
        owed_amounts=owed_amounts,
        now=now,
        released=len(released),
    )


async def _fail(team: Team, now: datetime) -> None:
    campaign = await Campaign.get(id=team.campaign_id)
    await _release_reserved(team, campaign.id, now)
    await Team.filter(id=team.id, status=TeamStatus.OPEN).update(
        status=TeamStatus.FAILED, closed_at=now
    )
    team.status = TeamStatus.FAILED
    await Seat.filter(team_id=team.id).update(in_open_team=False)
    # Their money goes back: the seats no longer count against the per-person limit.
    await Seat.filter(team_id=team.id, status=SeatStatus.PAID).update(status=SeatStatus.REFUNDED)
    paid = await Order.filter(team_id=team.id, status=OrderStatus.PAID_AWAITING_TEAM)
    for order in paid:
        await orders.transition(order, OrderStatus.REFUNDING)
        payment = await Payment.get(order_id=order.id, outcome="honoured")
        await refunds.owe(
            order=order, payment=payment, amount=payment.amount, reason="team_failed", now=now
        )
    if paid:
        await Campaign.filter(id=campaign.id).update(stock_left=F("stock_left") + len(paid))
    if paid or await Order.exists(team_id=team.id):  # who paid, and who held a seat unpaid
        await news.publish(news.TEAM_FAILED, ref=str(team.id), now=now)
    await share_cards.changed(team, now=now)
    logger.info("team %s failed; %s paid members refunded", team.code, len(paid))


async def close_team(team_id: uuid.UUID, *, now: datetime) -> TeamStatus:
    """At the deadline: a team not yet complete succeeds (guaranteed) or fails. Idempotent."""
    async with in_transaction():
        team = await lock_team(team_id)
        if team.status is not TeamStatus.OPEN or team.deadline_at > now:
            return team.status
        campaign = await Campaign.get(id=team.campaign_id)
        if campaign.guaranteed and team.seats_paid >= 1:
            await _succeed(team, now)
        else:
            await _fail(team, now)
        return team.status


async def release_seat(seat_id: uuid.UUID, *, now: datetime, force: bool = False) -> bool:
    """Give back a lapsed reservation (or, with ``force``, a cancelled one). Idempotent."""
    seat = await Seat.get_or_none(id=seat_id)
    if seat is None:
        return False
    async with in_transaction():
        team = await lock_team(seat.team_id)
        seat = await Seat.get(id=seat_id)
        if seat.status is not SeatStatus.RESERVED or (not force and seat.reserved_until > now):
            return False
        await Seat.filter(id=seat.id).update(status=SeatStatus.RELEASED, in_open_team=False)
        if team.status is TeamStatus.OPEN:
            await Team.filter(id=team.id).update(seats_held=F("seats_held") - 1)
        await Campaign.filter(id=seat.campaign_id).update(stock_left=F("stock_left") + 1)
        order = await Order.get(id=seat.order_id)
        if order.status is OrderStatus.PENDING_PAYMENT:
            await orders.transition(order, OrderStatus.CANCELLED)
            if not force:  # the clock lapsed it: its holder hears so (a cancel is their own)
                await news.publish(news.ORDER_LAPSED, ref=str(order.id), now=now)
    return True


async def release_expired(*, now: datetime, limit: int = 500) -> int:
    """Release every reservation whose payment window has passed. Returns how many."""
    released = 0
    for seat_id in await due_rows.lapsed_seats(now=now, limit=limit):
        released += await release_seat(seat_id, now=now)
    return released


async def settle_due_teams(*, now: datetime, limit: int = 500) -> int:
    due = await due_rows.due_teams(now=now, limit=limit)
    for team_id in due:
        await close_team(team_id, now=now)
    return len(due)


async def open_teams(campaign_id: str | uuid.UUID, *, now: datetime, limit: int = 20) -> list[Team]:
    """A running campaign's teams one can join now, fullest first, then soonest to close."""
    campaign = await campaigns.get_campaign(campaign_id)
    teams = (
        await Team.filter(campaign_id=campaign.id, status=TeamStatus.OPEN, deadline_at__gt=now)
        .order_by("-seats_held", "deadline_at")
        .limit(limit * 3)  # full ones (seats held, not yet paid) are skipped below
    )
    return [t for t in teams if t.seats_held < t.size][:limit]


MAX_PAGE = 100


async def teams_of(
    principal: Principal, *, limit: int = 100, cursor: str | None = None
) -> tuple[list[Team], str | None]:
    """The teams the person holds (or held) a seat in, each once, newest team first, ``limit``
    after ``cursor`` (services/cursors); and the cursor of the next page (None: the last)."""
    seats = Seat.filter(user_id=principal.user_id).values("team_id")
    return await cursors.page(
        Team.filter(id__in=Subquery(seats)), limit=min(max(limit, 1), MAX_PAGE), cursor=cursor
    )
