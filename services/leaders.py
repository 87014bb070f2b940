"""Becoming a leader: apply, be approved by an admin, bind one's chat identity with a code.

Approval makes the applicant a leader and opens their community with its pickup point, in one
transaction. The leader then asks for a one-time code (``chat_code``) and types it in the chat
(``认证 <code>``): that binds the chat identity they write from to their account
(``accounts.bind``), so the bot knows them as the leader from the next message on.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.chat import LinkVia
from models.community import Community, Membership, PickupPoint
from models.user import ApplicationStatus, LeaderApplication, Role, User
from qunshop.errors import BadRequest, Conflict, ErrorCode, Forbidden, NotFound
from services import accounts, audit, chat_users, roles
from services.ids import parse_uuid

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.auth import Principal

logger = logging.getLogger(__name__)

CHAT_CODE_TTL = timedelta(minutes=10)
CHAT_CODE_LENGTH = 8
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read off a phone, typed


@dataclass(frozen=True)
class ApplicationDraft:
    community_name: str
    pickup_name: str
    pickup_address: str
    pickup_hours: str = ""
    note: str = ""


@dataclass(frozen=True)
class ChatCode:
    code: str
    expires_at: datetime


async def apply(*, actor: Principal, draft: ApplicationDraft, now: datetime) -> LeaderApplication:
    """Ask to lead. One pending application at a time (a partial unique index decides)."""
    if actor.role is not Role.SHOPPER:
        raise Conflict(ErrorCode.ALREADY_LEADER, "you already lead (or run) the shop")
    try:
        async with in_transaction():
            return await LeaderApplication.create(
                user_id=actor.user_id,
                community_name=draft.community_name,
                pickup_name=draft.pickup_name,
                pickup_address=draft.pickup_address,
                pickup_hours=draft.pickup_hours,
                note=draft.note,
                created_at=now,
            )
    except IntegrityError:
        raise Conflict(
            ErrorCode.APPLICATION_PENDING, "your application is waiting for an admin already"
        ) from None


async def my_application(actor: Principal) -> LeaderApplication:
    found = await LeaderApplication.filter(user_id=actor.user_id).order_by("-created_at").first()
    if found is None:
        raise NotFound(ErrorCode.APPLICATION_NOT_FOUND, "you have not applied")
    return found


async def applications(
    *, actor: Principal, status: ApplicationStatus | None, limit: int = 50
) -> list[LeaderApplication]:
    roles.require_admin(actor)
    query = LeaderApplication.all()
    if status is not None:
        query = query.filter(status=status)
    return await query.order_by("created_at", "id").limit(limit).prefetch_related("user")


async def _pending(application_id: str | uuid.UUID) -> LeaderApplication:
    key = parse_uuid(application_id)
    found = (
        await LeaderApplication.filter(id=key).select_for_update().first()
        if key is not None
        else None
    )
    if found is None:
        raise NotFound(ErrorCode.APPLICATION_NOT_FOUND, "no application has this id")
    if found.status is not ApplicationStatus.PENDING:
        raise Conflict(ErrorCode.APPLICATION_DECIDED, f"this application was {found.status}")
    return found


async def approve(
    *, actor: Principal, application_id: str | uuid.UUID, redis: Redis, now: datetime
) -> LeaderApplication:
    """The applicant leads from their next request: role, community and pickup point at once."""
    roles.require_admin(actor)
    key = parse_uuid(application_id)
    peek = await LeaderApplication.get_or_none(id=key) if key is not None else None
    if peek is not None:
        await roles.mark_changed(redis, peek.user_id)  # before the commit: see services.roles
    async with in_transaction():
        application = await _pending(application_id)
        user = await User.get(id=application.user_id)
        community = await Community.create(name=application.community_name, leader=user)
        await PickupPoint.create(
            community=community,
            name=application.pickup_name,
            address=application.pickup_address,
            hours=application.pickup_hours,
        )
        await Membership.create(user=user, community=community)
        if user.role is Role.SHOPPER:  # an admin who applied stays an admin
            await roles.set_role(actor=actor, user=user, role=Role.LEADER, redis=redis, now=now)
        application.status = ApplicationStatus.APPROVED
        application.decided_by_id = actor.user_id
        application.decided_at = now
        application.community_id = community.id
        await application.save(
            update_fields=["status", "decided_by_id", "decided_at", "community_id"]
        )
        await _audit(actor, application, "leader.approve", now)
    logger.info("leader application %s approved by %s", application.id, actor.user_id)
    return application


async def reject(
    *, actor: Principal, application_id: str | uuid.UUID, reason: str, now: datetime
) -> LeaderApplication:
    roles.require_admin(actor)
    async with in_transaction():
        application = await _pending(application_id)
        application.status = ApplicationStatus.REJECTED
        application.decided_by_id = actor.user_id
        application.decided_at = now
        application.reason = reason
        await application.save(update_fields=["status", "decided_by_id", "decided_at", "reason"])
        await _audit(actor, application, "leader.reject", now)
    return application


async def _audit(
    actor: Principal, application: LeaderApplication, action: str, now: datetime
) -> None:
    after: dict[str, str] = {"status": application.status.value}
    if application.reason:
        after["reason"] = application.reason
    if application.community_id is not None:
        after["community"] = str(application.community_id)
    await audit.record(
        actor=actor,
        action=action,
        target=f"leader_application:{application.id}",
        before={"status": ApplicationStatus.PENDING.value, "user": str(application.user_id)},
        after=after,
        now=now,
    )


def _code_key(code: str) -> str:
    return f"qunshop:leader_chat_code:{code}"


async def chat_code(*, actor: Principal, redis: Redis, now: datetime) -> ChatCode:
    """A one-time code for a leader (or admin) to type in chat; it lapses in ten minutes."""
    if actor.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.FORBIDDEN, "only leaders and admins bind a chat identity")
    ttl = int(CHAT_CODE_TTL.total_seconds())
    while True:  # a clash among 32^8 codes is rare; SET NX makes it harmless
        code = "".join(secrets.choice(_ALPHABET) for _ in range(CHAT_CODE_LENGTH))
        if await redis.set(_code_key(code), str(actor.user_id), ex=ttl, nx=True):
            return ChatCode(code=code, expires_at=now + CHAT_CODE_TTL)


async def redeem_chat_code(
    *, platform: str, external_id: str, code: str, redis: Redis, now: datetime
) -> accounts.Linked:
    """The chat sender who typed the code becomes, in chat, the account that asked for it."""
    owner = await redis.getdel(_code_key(code.strip().upper()))  # used once, even if refused
    if owner is None:
        raise BadRequest(
            ErrorCode.LEADER_CODE_INVALID, "this code is wrong, used or older than ten minutes"
        )
    account_id = uuid.UUID(owner.decode() if isinstance(owner, bytes) else owner)
    identity = await chat_users.identity_for(platform=platform, external_id=external_id, now=now)
    return await accounts.bind(
        identity_id=identity.id, account_id=account_id, via=LinkVia.LEADER_CODE, now=now
    )
