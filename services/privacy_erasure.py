"""Erasing an account at its owner's request (PIPL): ``erase``.

Who may: a shopper whose orders are all settled. Staff first give up what others rely on:
an operator's admin role is revoked by another operator (``erasure_refused_admin``), and a
community's leader hands it over (an operator names the new leader) before their account goes
(``erasure_refused_leader``); a leader who leads nothing any more is erased as a shopper is,
and their role goes with the account. Nobody whose earnings are not settled (a leader's
share or an inviter's reward, frozen or available, or taken back beyond what was paid: a
balance other than zero) is erased (``erasure_earnings_unsettled``): the ledger would hold
money owed to or by nobody anyone can name. The balance is settled first, then the account
goes.

What goes: everything that names the person (see ``services.privacy``), what they wrote
(reviews and their replies to reviews, posts, comments, questions, answers, after-sales notes
and photos, items waiting on moderation, among them a nickname held for review), their saved
addresses, the recipient on their home deliveries, and their name in the audit log as the
one who acted (the entry stays, under a pseudonym); the contact on a supplier they run, the
identity check's reference, their applications still waiting (``services.privacy_roles``,
which says what of those stays and why). What stays: orders, payments, refunds, earnings,
coupons, points, rollups: the books, tied to a user row that no longer says who it was.

Their tokens are refused from the next request in every process: the erasure leaves the
mark a role change leaves (``services.roles``), whose holders are read from the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import SubscribeConsent
from models.aftersale import AfterSale
from models.audit import AuditEntry
from models.chat import AccountLink, ChatIdentity, Follow
from models.community import Community
from models.delivery import Address, HomeDelivery
from models.growth import OPEN_WITHDRAWAL, Withdrawal
from models.moderation import ContentReport, ModerationItem
from models.order import Order, OrderStatus
from models.outbox import IdempotencyRecord, OutboxMessage
from models.payment import Payment
from models.post import Comment, Post
from models.privacy import Erasure, PersonalDetails
from models.qa import Answer, Question
from models.review import Review
from models.user import LeaderApplication, Role, User
from qunshop.errors import Conflict, ErrorCode
from services import earnings, privacy_roles, roles
from services.auth import session_key_name
from services.privacy import OPEN_ORDERS, PAYER_KEYS, _outbox_mentioning, _platform_ids

if TYPE_CHECKING:
    import uuid

    from redis.asyncio import Redis

    from qunshop.config import Settings
    from services.auth import Principal


async def _refuse_if_relied_on(user: User) -> None:
    if user.role is Role.ADMIN:
        raise Conflict(
            ErrorCode.ERASURE_REFUSED_ADMIN,
            "an operator's account is erased after another operator revokes the admin role",
        )
    if await Community.exists(leader_id=user.id):
        raise Conflict(
            ErrorCode.ERASURE_REFUSED_LEADER,
            "a leader's account is erased after an operator hands their communities over",
        )
    owed = await earnings.balance(user.id)
    # A withdrawal being handled has left available but not yet reached them: unsettled too.
    paying = await Withdrawal.exists(earner_id=user.id, status__in=list(OPEN_WITHDRAWAL))
    if owed.frozen or owed.available or paying:
        raise Conflict(
            ErrorCode.ERASURE_EARNINGS_UNSETTLED,
            f"earnings are not settled (frozen {owed.frozen} fen, available {owed.available} "
            "fen): the account is erased once they are",
        )
    # WeChat Pay's cashier may still be open on an order awaiting payment: paid after the
    # erasure, it would be money taken for an account nobody can log in to any more.
    if await Order.filter(user_id=user.id, status=OrderStatus.PENDING_PAYMENT).exists():
        raise Conflict(
            ErrorCode.ERASURE_ORDERS_OPEN,
            "an order is awaiting payment: cancel it (or pay it) first, then erase the account",
        )
    if await Order.filter(user_id=user.id, status__in=OPEN_ORDERS).exists():
        raise Conflict(
            ErrorCode.ERASURE_ORDERS_OPEN,
            "orders are still on their way: erase the account after they are picked up",
        )


async def _what_they_wrote(user_id: uuid.UUID, summary: dict[str, int]) -> None:
    """Their words and pictures go; the rows (a rating, a thread, an after-sale's refund)
    stay, empty, so what hangs on them still adds up."""
    summary["reviews"] = await Review.filter(author_id=user_id).update(text="", images=[])
    # A reply emptied is no reply: the community's leader now may answer afresh.
    summary["review_replies"] = await Review.filter(replied_by_id=user_id).update(reply_text="")
    summary["posts"] = await Post.filter(author_id=user_id).update(text="", images=[])
    summary["comments"] = await Comment.filter(author_id=user_id).update(text="", images=[])
    summary["questions"] = await Question.filter(author_id=user_id).update(text="")
    summary["answers"] = await Answer.filter(author_id=user_id).update(text="")
    summary["after_sales"] = await AfterSale.filter(user_id=user_id).update(detail="", photos=[])
    summary["moderation_items"] = await ModerationItem.filter(author_id=user_id).update(
        text="", images=[], payload={}
    )
    summary["content_reports"] = await ContentReport.filter(reporter_id=user_id).update(reason="")


async def erase(
    *, principal: Principal, settings: Settings, now: datetime, redis: Redis
) -> Erasure:
    """Erase the caller's identity; keep their orders and payments without it. Once: a
    second request finds the first erasure."""
    user = await User.get(id=principal.user_id)
    if (done := await Erasure.get_or_none(user_id=user.id)) is not None:
        return done
    await _refuse_if_relied_on(user)
    pseudonym = f"erased:{user.id.hex}"
    # Before the commit, as a role change's: a request in between still finds the account.
    await roles.mark_changed(redis, user.id)
    try:
        erasure = await _erase(user, pseudonym, settings=settings, now=now)
    except IntegrityError:  # a concurrent request erased it first: the same answer
        return await Erasure.get(user_id=user.id)
    await redis.delete(session_key_name(user.id))
    return erasure


async def _erase(user: User, pseudonym: str, *, settings: Settings, now: datetime) -> Erasure:
    summary: dict[str, int] = {}
    async with in_transaction():
        platform_ids = await _platform_ids(user.id)
        outbox = await _outbox_mentioning([user.openid, str(user.id), *platform_ids])
        summary["outbox"] = await OutboxMessage.filter(id__in=outbox).delete()
        summary["follows"] = await Follow.filter(external_id__in=platform_ids).update(
            external_id=pseudonym
        )
        summary["chat_identities"] = 0
        for identity in await ChatIdentity.filter(user_id=user.id):
            summary["chat_identities"] += await ChatIdentity.filter(id=identity.id).update(
                external_id=f"erased:{identity.id.hex}", unionid=None
            )
        # The chat-only users a link left behind still carry the platform id in their openid.
        left_behind = await AccountLink.filter(account_id=user.id).values_list(
            "from_user_id", flat=True
        )
        summary["linked_users"] = 0
        for left_id in left_behind:
            summary["linked_users"] += await User.filter(id=left_id).update(
                openid=f"erased:{left_id.hex}", unionid=None, nickname="", avatar_url=None
            )
        order_ids = list(await Order.filter(user_id=user.id).values_list("id", flat=True))
        summary["payments"] = 0
        for payment in await Payment.filter(order_id__in=order_ids):
            kept = {k: v for k, v in payment.payload.items() if k not in PAYER_KEYS}
            summary["payments"] += await Payment.filter(id=payment.id).update(payload=kept)
        summary["home_deliveries"] = await HomeDelivery.filter(order_id__in=order_ids).update(
            recipient_sealed="", phone_sealed="", address=""
        )
        summary["addresses"] = await Address.filter(user_id=user.id).delete()
        summary["personal_details"] = await PersonalDetails.filter(user_id=user.id).delete()
        summary["idempotency_records"] = await IdempotencyRecord.filter(
            slot__startswith=f"{user.id}:"
        ).delete()
        summary["leader_applications"] = await LeaderApplication.filter(user_id=user.id).update(
            community_name="", pickup_name="", pickup_address="", pickup_hours="", note=""
        )
        summary["subscribe_consents"] = await SubscribeConsent.filter(user_id=user.id).delete()
        await privacy_roles.erase_roles(user.id, now=now, summary=summary)
        await _what_they_wrote(user.id, summary)
        # The audit log is append-only but for this one change (migration 0101).
        summary["audit_log"] = await AuditEntry.filter(actor_id=user.id).update(
            actor_name=pseudonym
        )
        summary["users"] = await User.filter(id=user.id).update(
            openid=pseudonym, unionid=None, nickname="", avatar_url=None, role=Role.SHOPPER
        )
        return await Erasure.create(
            user_id=user.id,
            erased_at=now,
            keep_until=now + timedelta(days=settings.order_retention_days),
            summary={**summary, "role": user.role.value},
        )
