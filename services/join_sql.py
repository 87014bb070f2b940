"""Joining a team: one call of ``qunshop_join_team`` (migrations 0010, 0011, 0019, 0020, 0095,
0120, 0180, 0210, 0230).

The function holds every check of a join and refuses with SQLSTATE QS404/QS409 and the error
code as its message, or, for a concurrent join of the same user, with
``uq_seat_open_team_per_user``'s unique violation (0180); a refusal rolls the whole statement
back. One round trip instead of
about ten, and no query building; the same round trip brings what the answer shows beside
the rows, the team's product and members (0095). Starting a team (services/groupbuy.py)
words its refusals here too, so both read the same. Where a member tier gives a discount,
the caller prices it (0120): ``join`` says so by answering None when it was not asked. A
join asked to pay (0210) also fixes the price for WeChat Pay when prepay's checks pass and
reads the ``Payer``: no prepay statement follows it. The answer says whether the team is
guaranteed, from the campaign row the statement holds (0230).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from qunshop.errors import Conflict, ErrorCode, NotFound, QunshopError
from services import orders, storefront

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tortoise.backends.base.client import BaseDBAsyncClient

    Row = Mapping[str, Any]  # column to value
    # The team's, the order's and the seat's rows, product, members, guaranteed, payer.
    Joined = tuple[Row, Row, Row, storefront.Brief, list[storefront.Member], bool, "Payer | None"]

_JOIN_SQL = (
    "SELECT team, ord, seat, product, members, payer_openid, leader_verified, guaranteed "
    "FROM qunshop_join_team($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_TAKE_STOCK_SQL = "SELECT qunshop_take_stock($1)"

# One wording per refusal, for joins and starts (services/groupbuy.py): every code the
# function RAISEs, the error it becomes, and its words.
_REFUSALS = (
    (Conflict, ErrorCode.CAMPAIGN_NOT_ACTIVE, "the campaign is not running now"),
    (Conflict, ErrorCode.CAMPAIGN_PAUSED, "the campaign is paused by its leader"),
    (NotFound, ErrorCode.TEAM_NOT_FOUND, "no such team"),
    (Conflict, ErrorCode.TEAM_CLOSED, "this team has closed"),
    (Conflict, ErrorCode.TEAM_FULL, "this team is full"),
    (
        Conflict,
        ErrorCode.ALREADY_IN_TEAM,
        "you already hold a seat in an open team of this campaign",
    ),
    (Conflict, ErrorCode.CAMPAIGN_SOLD_OUT, "the campaign is sold out"),
    (Conflict, ErrorCode.USER_LIMIT_REACHED, "at most {limit} per person in this campaign"),
)


def refusal(code: ErrorCode, *, limit: object = None) -> QunshopError:
    """A join's (or a start's) refusal; ``limit`` words user_limit_reached."""
    kind, words = next((k, w) for k, c, w in _REFUSALS if c is code)
    return kind(code, words.format(limit=limit))


class _MemberPrices(Exception):
    """The join was refused before it wrote anything: some tier gives a discount (0120)."""


@dataclass(frozen=True)
class Payer:
    """What a join asked to pay read for WeChat Pay beside the order (0210)."""

    openid: str  # the payer's: WeChat Pay charges that account
    leader_verified: bool  # the community's leader (none: nothing to wait for)


# The seat's insert in the join (0180) is refused by this index when a concurrent join of
# the same user holds an open seat in the campaign.
_OPEN_SEAT_KEY = "uq_seat_open_team_per_user"


def _refusal(exc: BaseException) -> QunshopError | None:
    """Our function's RAISE (or its seat's open-seat violation) as the project's error; None
    for anything else."""
    if isinstance(exc, IntegrityError):
        if getattr(exc.__cause__, "constraint_name", None) == _OPEN_SEAT_KEY:
            return refusal(ErrorCode.ALREADY_IN_TEAM)
        return None
    if getattr(exc, "sqlstate", None) not in ("QS404", "QS409"):
        return None
    return refusal(ErrorCode(exc.message), limit=exc.detail)  # type: ignore[attr-defined]


async def _call(db: BaseDBAsyncClient, sql: str, args: list[Any]) -> Any:
    try:
        _, rows = await db.execute_query(sql, args)
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "QS001":
            raise _MemberPrices from None
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from None
    return rows[0]


async def take_stock(db: BaseDBAsyncClient, campaign_id: uuid.UUID) -> None:
    """Inside the caller's transaction: one unit of the campaign's stock (``qunshop_take_stock``,
    migration 0020, which the join calls too), or campaign_sold_out."""
    await _call(db, _TAKE_STOCK_SQL, [campaign_id])


async def join(
    db: BaseDBAsyncClient,
    *,
    team_id: uuid.UUID | None,
    code: str | None,
    user_id: uuid.UUID,
    now: datetime,
    chat_id: str | None,
    member_prices: bool,
    pay: bool = False,
    leader_identity_required: bool = True,
) -> Joined | None:
    """Hold a seat in the team with this id (or, without one, this code) for ``user_id``;
    with the team's, the order's and the seat's rows (column to value, as the statement
    returned them), the team's product, its members (this one among them) and whether it is
    guaranteed.

    ``member_prices``: the caller has looked up the member's tier discount and prices the
    order with it. Without that, None (nothing written) when any tier gives a discount.

    ``pay``: the order's price is fixed for WeChat Pay (``prepaid_at``) when prepay's checks
    pass (``leader_identity_required`` as prepay's), and the ``Payer`` comes back too (else
    None). The caller must not price the order after it."""
    args = [
        team_id,
        code,
        user_id,
        now,
        datetime.now(tz=UTC),  # created_at: the wall clock, as Tortoise's auto_now_add
        uuid.uuid4(),
        uuid.uuid4(),
        orders.new_out_trade_no(now),
        chat_id,
        member_prices,
        pay,
        leader_identity_required,
    ]
    try:
        if isinstance(db, TransactionalDBClient):
            # Inside the caller's transaction: a refusal rolls back this join alone.
            async with in_transaction() as savepoint:
                row = await _call(savepoint, _JOIN_SQL, args)
        else:
            row = await _call(db, _JOIN_SQL, args)
    except _MemberPrices:
        return None
    team, order, seat, product, members, openid, leader_verified, guaranteed = row
    return (
        team,
        order,
        seat,
        storefront.brief_of(product),  # the campaign's SKU: a foreign key, always there
        [storefront.member_of(m) for m in members],
        guaranteed,
        Payer(openid, leader_verified) if pay else None,
    )
