"""Withdrawals (提现): an earner's available earnings paid into their WeChat 零钱.

1. ``request`` (chat 提现, the console's form, the API): the amount leaves the available
   balance at once, as a ``withdraw`` row of the earnings ledger written only while the
   balance covers it. Requests of one earner are taken one at a time (a transaction-scoped
   advisory lock), and at most one withdrawal is open (``uq_withdrawal_open``), so two
   requests at once can never take more than there is.
2. ``decide`` (an operator, /admin/withdrawals): approved, the transfer goes to the outbox;
   rejected, the amount comes back (a ``return`` row). Audited, with a review_decisions row.
3. ``transfer`` (the outbox, after the commit): WeChat Pay's 企业付款到零钱 under the
   withdrawal's own ``partner_trade_no``, sent again unchanged on the errors whose remedy that
   is (the outbox's backoff; parked for a person after the last attempt, the money still held:
   a result that may yet be paid is never handed back). Paid: a ``paid_out`` row. Refused for
   good: the amount comes back (a ``return`` row).

The earner hears each outcome in chat (``NEWS``, rendered by the door's words). A
withdrawal settles once: its ``paid_out`` or ``return`` row shares one ledger ``ref``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models.growth import (
    OPEN_WITHDRAWAL,
    EarningEvent,
    EarningKind,
    Withdrawal,
    WithdrawalStatus,
)
from models.supply import ReviewDecision, ReviewStatus
from models.user import User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import audit, earnings, notify, outbox
from services.ids import parse_uuid
from services.outbox import GiveUp, RetryLater
from wechat.api import PayError

if TYPE_CHECKING:
    from services.auth import Principal
    from wechat.api import PayClient

logger = logging.getLogger(__name__)

MINIMUM = 100  # fen: WeChat Pay's 企业付款到零钱 pays at least ¥1
TRANSFER = "withdrawal.transfer"
NEWS = "withdrawal.news"
PAID, REJECTED, FAILED = "paid", "rejected", "failed"  # NEWS events
DESC = "团长收益提现"  # what the earner's 零钱 shows
SHOWN = 50
# WeChat Pay refused the transfer for good: these never pass by sending it again, so the
# amount goes back to the earner. Any other refusal (a signature, a certificate, a product
# not enabled) is the shop's to mend: parked, the money held, retried by a person.
FINAL = frozenset(
    {
        "AMOUNT_LIMIT",
        "OPENID_ERROR",
        "NAME_MISMATCH",
        "V2_ACCOUNT_SIMPLE_BAN",
        "MONEY_LIMIT",
        "SENDNUM_LIMIT",
        "PAYEE_ACCOUNT_ABNORMAL",
        "RECV_ACCOUNT_NOT_ALLOWED",
    }
)
# 提现 50, 提现 12.5, 提现 ¥8.80元: yuan with at most two decimals.
_YUAN = re.compile(r"[¥￥]?\s*(?P<yuan>\d{1,9}(?:\.\d{1,2})?)\s*元?")
ALL_WORDS = frozenset({"", "全部", "all"})


def parse_yuan(text: str) -> int | None:
    """The fen of a typed amount of yuan; None for all of it (nothing, 全部, all)."""
    text = text.strip()
    if text.lower() in ALL_WORDS:
        return None
    match = _YUAN.fullmatch(text)
    if match is None:
        raise Invalid(
            ErrorCode.WITHDRAWAL_AMOUNT_INVALID,
            "the amount is yuan with at most two decimals, e.g. 50 or 12.5",
            text=text[:40],
        )
    return int(Decimal(match["yuan"]) * 100)


async def _lock(earner_id: uuid.UUID) -> None:
    """One request of this earner at a time, until the transaction ends (an advisory lock:
    no row of the hot paths is locked)."""
    await connections.get("default").execute_query(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", [f"withdraw:{earner_id}"]
    )


# The ledger row is written only while the earner's available balance covers it: the rows
# counted and the row written in one statement, after the lock.
_TAKE_SQL = """
INSERT INTO earnings_ledger (id, earner_id, order_id, withdrawal_id, community_id, kind, event,
                             amount, frozen_delta, available_delta, base, rate_bps, ref,
                             created_at)
SELECT $1::uuid, $2::uuid, NULL, $3::uuid, NULL, $4::varchar, $5::varchar, $6::int, 0, -$6::int,
       0, 0, $7::varchar, $8::timestamptz
WHERE (SELECT COALESCE(SUM(available_delta), 0) FROM earnings_ledger WHERE earner_id = $2::uuid)
      >= $6::int
RETURNING id
"""


async def request(*, principal: Principal, amount: int | None, now: datetime) -> Withdrawal:
    """Withdraw ``amount`` fen (None: all that is available). Refused below ¥1, above the
    available balance, while another withdrawal is open, and without a mini-program openid
    WeChat Pay can pay."""
    user = await User.get(id=principal.user_id)
    if not user.openid or ":" in user.openid:  # chat-only users carry "platform:id"
        raise Conflict(
            ErrorCode.WITHDRAWAL_NEEDS_MINIAPP,
            "WeChat Pay pays a mini-program openid: sign in to the mini-program once",
        )
    async with in_transaction():
        await _lock(user.id)
        available = (await earnings.balance(user.id)).available
        if await Withdrawal.exists(earner_id=user.id, status__in=list(OPEN_WITHDRAWAL)):
            raise Conflict(
                ErrorCode.WITHDRAWAL_PENDING,
                "a withdrawal of yours is still being handled",
                available=available,
            )
        wanted = available if amount is None else amount
        if wanted < MINIMUM:
            raise Invalid(
                ErrorCode.WITHDRAWAL_BELOW_MINIMUM,
                f"a withdrawal is at least {MINIMUM} fen",
                minimum=MINIMUM,
                available=available,
            )
        if wanted > available:  # told before any row is written (and never cast past int)
            raise _over(wanted, available)
        withdrawal = await Withdrawal.create(
            earner_id=user.id,
            amount=wanted,
            partner_trade_no=uuid.uuid4().hex,
            openid=user.openid,
            created_at=now,
        )
        taken = await connections.get("default").execute_query_dict(
            _TAKE_SQL,
            [
                uuid.uuid4(),
                user.id,
                withdrawal.id,
                EarningKind.WITHDRAWAL.value,
                EarningEvent.WITHDRAW.value,
                wanted,
                f"withdrawal:{withdrawal.id}",
                now,
            ],
        )
        if not taken:  # the database's word, should the lock ever be bypassed: all rolls back
            raise _over(wanted, available)
    logger.info("withdrawal %s of %s fen asked by %s", withdrawal.id, wanted, user.id)
    return withdrawal


def _over(wanted: int, available: int) -> Invalid:
    return Invalid(
        ErrorCode.WITHDRAWAL_EXCEEDS_AVAILABLE,
        f"{wanted} fen is more than the {available} fen available",
        available=available,
    )


async def _settle(withdrawal: Withdrawal, event: EarningEvent, now: datetime) -> None:
    """The withdrawal's last ledger row: ``paid_out`` (moves nothing) or ``return`` (the
    amount back to available). One ``ref`` for both: it settles once."""
    back = withdrawal.amount if event is EarningEvent.RETURN else 0
    await connections.get("default").execute_query(
        "INSERT INTO earnings_ledger (id, earner_id, withdrawal_id, kind, event, amount, "
        "frozen_delta, available_delta, base, rate_bps, ref, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 0, 0, $8, $9)",
        [
            uuid.uuid4(),
            withdrawal.earner_id,
            withdrawal.id,
            EarningKind.WITHDRAWAL.value,
            event.value,
            withdrawal.amount,
            back,
            f"withdrawal:{withdrawal.id}:settled",
            now,
        ],
    )


async def _tell(withdrawal: Withdrawal, event: str, now: datetime) -> None:
    await outbox.enqueue(
        NEWS,
        {"withdrawal_id": str(withdrawal.id), "event": event},
        dedupe_key=f"withdrawal:{withdrawal.id}:{event}",
        now=now,
    )


async def get(withdrawal_id: str) -> Withdrawal:
    key = parse_uuid(withdrawal_id)
    found = await Withdrawal.get_or_none(id=key) if key else None
    if found is None:
        raise NotFound(ErrorCode.WITHDRAWAL_NOT_FOUND, "no such withdrawal")
    return found


async def decide(
    *, principal: Principal, withdrawal_id: str, approve: bool, reason: str, now: datetime
) -> Withdrawal:
    """An operator approves (the transfer is sent after the commit) or rejects (with a
    reason; the amount comes back), once. Nobody decides their own."""
    audit.ensure_admin(principal)
    found = await get(withdrawal_id)
    if found.earner_id == principal.user_id:
        raise Forbidden(ErrorCode.FORBIDDEN, "another operator decides your own withdrawal")
    reason = reason.strip()[:255]
    if not approve and not reason:
        raise Invalid(ErrorCode.VALIDATION_FAILED, "say why the withdrawal is rejected")
    status = WithdrawalStatus.APPROVED if approve else WithdrawalStatus.REJECTED
    async with in_transaction():
        won = await Withdrawal.filter(id=found.id, status=WithdrawalStatus.REQUESTED).update(
            status=status, decided_by_id=principal.user_id, decided_at=now, reason=reason
        )
        if won != 1:
            raise Conflict(ErrorCode.WITHDRAWAL_DECIDED, "the withdrawal was already decided")
        await ReviewDecision.create(
            subject=f"withdrawal:{found.id}",
            actor_id=principal.user_id,
            outcome=ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED,
            reason=reason or "同意提现",
            at=now,
        )
        await audit.record(
            actor=principal,
            action="withdrawal.approve" if approve else "withdrawal.reject",
            target=f"withdrawal:{found.id}",
            before={"status": WithdrawalStatus.REQUESTED.value, "amount": found.amount},
            after={"status": status.value, "amount": found.amount, "reason": reason[:200]},
            now=now,
        )
        if approve:
            await outbox.enqueue(
                TRANSFER,
                {"withdrawal_id": str(found.id)},
                dedupe_key=f"withdrawal:{found.id}:transfer",
                now=now,
            )
        else:
            await _settle(found, EarningEvent.RETURN, now)
            await _tell(found, REJECTED, now)
    return await Withdrawal.get(id=found.id)


async def transfer(payload: dict[str, Any], *, pay: PayClient, now: Callable[[], datetime]) -> None:
    """Outbox handler of ``TRANSFER``: WeChat Pay's 企业付款到零钱, then the outcome recorded."""
    found = await Withdrawal.get_or_none(id=payload.get("withdrawal_id"))
    if found is None or found.status is not WithdrawalStatus.APPROVED:
        return  # settled by an earlier run
    try:
        answer = await pay.transfer(
            partner_trade_no=found.partner_trade_no,
            openid=found.openid,
            amount=found.amount,
            desc=DESC,
        )
    except PayError as exc:
        if exc.code in FINAL:
            await _close(found, WithdrawalStatus.FAILED, now(), code=exc.code, why=exc.message)
            return
        if exc.retryable:
            raise RetryLater(f"{exc.code}: {exc.message}") from exc
        raise GiveUp(f"{exc.code}: {exc.message}") from exc
    await _close(found, WithdrawalStatus.PAID, now(), payment_no=answer.get("payment_no", ""))


async def _close(
    found: Withdrawal,
    status: WithdrawalStatus,
    now: datetime,
    *,
    code: str = "",
    why: str = "",
    payment_no: str = "",
) -> None:
    async with in_transaction():
        won = await Withdrawal.filter(id=found.id, status=WithdrawalStatus.APPROVED).update(
            status=status,
            settled_at=now,
            fail_code=code[:32],
            reason=why[:255] if why else found.reason,
            payment_no=payment_no[:64],
        )
        if won != 1:
            return
        paid = status is WithdrawalStatus.PAID
        await _settle(found, EarningEvent.PAID_OUT if paid else EarningEvent.RETURN, now)
        await _tell(found, PAID if paid else FAILED, now)
    if paid:
        logger.info("withdrawal %s paid: %s", found.id, payment_no)
    else:
        logger.error("withdrawal %s refused by WeChat Pay: %s %s", found.id, code, why)


async def tell(
    payload: dict[str, Any],
    *,
    render: Callable[[str, Withdrawal, int], str],
    now: Callable[[], datetime],
) -> None:
    """Outbox handler of ``NEWS``: the earner hears the outcome where they chat, rendered by
    the door's ``render(event, withdrawal, available)``."""
    found = await Withdrawal.get_or_none(id=payload.get("withdrawal_id"))
    if found is None:
        return
    event = str(payload.get("event"))
    available = (await earnings.balance(found.earner_id)).available
    earner = await User.get(id=found.earner_id)
    await notify.to_user(
        user=earner,
        message=notify.text(render(event, found, available)),
        dedupe_key=f"withdrawal:{found.id}:{event}",
        now=now(),
    )


@dataclass(frozen=True)
class Board:
    """The operators' view: what waits for them, what is being paid, what was settled."""

    waiting: list[Withdrawal]
    paying: list[Withdrawal]
    settled: list[Withdrawal]
    names: dict[uuid.UUID, str]


async def board(*, principal: Principal) -> Board:
    audit.ensure_admin(principal)
    waiting = await Withdrawal.filter(status=WithdrawalStatus.REQUESTED).order_by("created_at")
    paying = await Withdrawal.filter(status=WithdrawalStatus.APPROVED).order_by("decided_at")
    settled = (
        await Withdrawal.exclude(status__in=list(OPEN_WITHDRAWAL))
        .order_by("-created_at")
        .limit(SHOWN)
    )
    ids = {w.earner_id for w in [*waiting, *paying, *settled]}
    users = await User.filter(id__in=list(ids)).only("id", "nickname")
    names = {u.id: u.nickname or "未命名团长" for u in users}
    return Board(waiting=list(waiting), paying=list(paying), settled=list(settled), names=names)


async def mine(user_id: uuid.UUID, *, limit: int = 20) -> list[Withdrawal]:
    """The earner's withdrawals, newest first."""
    return list(await Withdrawal.filter(earner_id=user_id).order_by("-created_at").limit(limit))
