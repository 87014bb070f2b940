"""One person, one account: chat identities linked to the mini-program account they belong to.

Someone who writes in a group chat first becomes a chat-only user (``chat_users.user_for``).
That identity is linked to their mini-program account, once and for good, in one of three ways:

- WeChat gives both sides the same ``unionid`` (``link_by_unionid``, at login and at follow);
- a chat reply that needs the mini-program carries a link token (``link_token_for``): signed,
  single-use and short-lived; redeeming it after logging in (``redeem``) links;
- a leader types the code their account was given (``services.leaders``).

Linking moves what the chat-only user owns to the account (``account_moves``) in the same
transaction that binds the identity, so nothing is half-moved and nobody sees two accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models.chat import AccountLink, ChatIdentity, LinkVia
from models.user import User
from qunshop.chat import Platform
from qunshop.errors import BadRequest, Conflict, ErrorCode, QunshopError, Unauthenticated
from services import account_moves, notify, outbox
from services.chat_users import shell_openid

logger = logging.getLogger(__name__)

LINK_TOKEN_TTL = timedelta(minutes=30)
_DOMAIN = b"qunshop-link-v1|"  # a link token's MAC can stand for nothing else we sign
_LAYOUT = struct.Struct(">16sI8s")  # identity id, expiry (unix seconds), token id
_MAC_BYTES = 16


@dataclass(frozen=True)
class LinkTicket:
    identity_id: uuid.UUID
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Linked:
    platform: str
    external_id: str
    account_id: uuid.UUID
    already: bool  # it was linked to this account before: nothing changed
    moved: dict[str, int] = field(default_factory=dict)


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def issue_link_token(*, identity_id: uuid.UUID, secret: str, now: datetime) -> str:
    expires = int((now + LINK_TOKEN_TTL).timestamp())
    payload = _LAYOUT.pack(identity_id.bytes, expires, os.urandom(8))
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode()


def read_link_token(token: str, *, secret: str, now: datetime) -> LinkTicket:
    """The token's claims; a forged or malformed one is ``link_token_invalid``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != _LAYOUT.size + _MAC_BYTES:
        raise BadRequest(ErrorCode.LINK_TOKEN_INVALID, "this link is not one of ours")
    payload, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise BadRequest(ErrorCode.LINK_TOKEN_INVALID, "this link is not one of ours")
    identity, expires, token_id = _LAYOUT.unpack(payload)
    expires_at = datetime.fromtimestamp(expires, tz=UTC)
    if expires_at <= now:
        raise BadRequest(
            ErrorCode.LINK_TOKEN_EXPIRED, "this link has expired: ask the bot again in the chat"
        )
    return LinkTicket(uuid.UUID(bytes=identity), token_id.hex(), expires_at)


async def link_token_for(
    *, platform: str, external_id: str, secret: str, now: datetime
) -> str | None:
    """A link token for a chat sender not linked yet; None once they are (or are unknown)."""
    identity = await ChatIdentity.get_or_none(
        platform=platform, external_id=external_id
    ).select_related("user")
    if identity is None or identity.user.openid != shell_openid(platform, external_id):
        return None
    return issue_link_token(identity_id=identity.id, secret=secret, now=now)


@dataclass(frozen=True)
class LinkOffer:
    """Where an unlinked chat sender links: a mini-program page, or an H5 page on a desktop."""

    token: str
    path: str
    url: str


async def offer_link(
    *, platform: str, external_id: str, secret: str, base_url: str, now: datetime
) -> LinkOffer | None:
    token = await link_token_for(platform=platform, external_id=external_id, secret=secret, now=now)
    if token is None:
        return None
    return LinkOffer(
        token=token, path=f"pages/link/index?token={token}", url=f"{base_url}/h5/link?token={token}"
    )


# Where a chat identity is spoken to alone: a link token posted into a group could be redeemed
# by anyone who reads it, so in groups it goes by one of these instead.
_PRIVATE_VIA = {
    Platform.WECOM_BOT.value: notify.VIA_WECOM_APP,  # WeCom members: the same userid
    Platform.WECOM.value: notify.VIA_WECOM_APP,
    Platform.WECHAT.value: notify.VIA_CUSTOM,
}


async def send_privately(
    *, platform: str, external_id: str, text: str, dedupe_key: str, now: datetime
) -> bool:
    """A text to the chat identity alone, through the outbox; False where no channel exists."""
    via = _PRIVATE_VIA.get(platform)
    if via is None:
        return False
    payload = {"via": via, "to": external_id, "message": notify.text(text)}
    return await notify.queue(payload, dedupe_key=notify.outbox_key("link", dedupe_key), now=now)


# One private link per identity in each window: a link lives 30 minutes, so the one sent in a
# window is still good at its end, and a shopper who writes five times gets one message.
LINK_RESEND_SECONDS = 15 * 60


async def send_link_privately(*, platform: str, external_id: str, text: str, now: datetime) -> bool:
    """The link text to the chat identity alone, at most once a window; True when they have
    it (sent now or earlier in the window), False where no private channel exists."""
    if platform not in _PRIVATE_VIA:
        return False
    window = int(now.timestamp()) // LINK_RESEND_SECONDS
    await send_privately(
        platform=platform,
        external_id=external_id,
        text=text,
        dedupe_key=f"{platform}:{external_id}:{window}",
        now=now,
    )
    return True


async def redeem(*, account_id: uuid.UUID, token: str, secret: str, now: datetime) -> Linked:
    """The signed-in account redeems a link token from a chat reply."""
    ticket = read_link_token(token, secret=secret, now=now)
    return await bind(
        identity_id=ticket.identity_id,
        account_id=account_id,
        via=LinkVia.TOKEN,
        token_id=ticket.token_id,
        now=now,
    )


async def link_state(token: str, *, secret: str, now: datetime) -> str:
    """What the H5 page a link token opens says: ``used`` once the token was redeemed,
    ``linked`` once its chat identity was linked another way (unionid, a leader's code),
    else ``open``. A forged token is ``link_token_invalid``, an old one ``link_token_expired``."""
    ticket = read_link_token(token, secret=secret, now=now)
    if await AccountLink.exists(token_id=ticket.token_id):
        return "used"
    if await AccountLink.exists(identity_id=ticket.identity_id):
        return "linked"
    return "open"


async def bind(
    *,
    identity_id: uuid.UUID,
    account_id: uuid.UUID,
    via: LinkVia,
    now: datetime,
    token_id: str | None = None,
) -> Linked:
    """Bind the identity to the account and move what its chat-only user owns, all or nothing.

    The identity's row is locked first, so of concurrent binds of one identity one wins and
    the others see it bound; account_links' unique keys back that up."""
    try:
        async with in_transaction():
            return await _bind_locked(
                identity_id=identity_id, account_id=account_id, via=via, now=now, token_id=token_id
            )
    except IntegrityError:  # a concurrent bind won the identity or the token: say which
        if token_id is not None and await AccountLink.exists(token_id=token_id):
            raise Conflict(ErrorCode.LINK_TOKEN_USED, "this link was already used") from None
        raise Conflict(
            ErrorCode.CHAT_IDENTITY_LINKED_ELSEWHERE,
            "this chat identity is already linked to another account",
        ) from None


async def _bind_locked(
    *,
    identity_id: uuid.UUID,
    account_id: uuid.UUID,
    via: LinkVia,
    now: datetime,
    token_id: str | None,
) -> Linked:
    identity = await ChatIdentity.filter(id=identity_id).select_for_update().first()
    if identity is None:  # signed by us, but the identity is gone
        raise BadRequest(ErrorCode.LINK_TOKEN_INVALID, "this link's chat identity is gone")
    if token_id is not None and await AccountLink.exists(token_id=token_id):
        raise Conflict(ErrorCode.LINK_TOKEN_USED, "this link was already used")
    if identity.user_id == account_id:
        return Linked(identity.platform, identity.external_id, account_id, already=True)
    owner = await User.get(id=identity.user_id)
    if owner.openid != shell_openid(identity.platform, identity.external_id):
        raise Conflict(
            ErrorCode.CHAT_IDENTITY_LINKED_ELSEWHERE,
            "this chat identity is already linked to another account",
        )
    for user_id in sorted({owner.id, account_id}, key=str):  # the order invites.bind locks in
        if await User.filter(id=user_id).select_for_update().first() is None:
            raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token's user does not exist")
    await account_moves.refuse_clashes(owner.id, account_id)
    link_id = uuid.uuid4()
    moved = await account_moves.move_all(owner.id, account_id, link_id=link_id)
    await ChatIdentity.filter(id=identity.id).update(user_id=account_id)
    await AccountLink.create(
        id=link_id,
        identity_id=identity.id,
        from_user_id=owner.id,
        account_id=account_id,
        via=via,
        token_id=token_id,
        moved=moved,
        created_at=now,
    )
    logger.info(
        "chat identity %s:%s linked to account %s by %s, moved %s",
        identity.platform,
        identity.external_id,
        account_id,
        via,
        moved,
    )
    return Linked(identity.platform, identity.external_id, account_id, already=False, moved=moved)


def merged_users() -> Subquery:
    """The chat-only users whose identity was linked to an account: no longer a person.

    Their rows moved with the link; what stays behind is the record of it (account_links'
    ``from_user``, points' out entry, earnings of the chat user's own ledger), which keeps the
    row from being deleted. The link row written in the linking transaction is the mark, so
    the user stops counting as a person in the same commit that made them one with the
    account. Lists and counts of people exclude ``id__in=merged_users()``."""
    return Subquery(AccountLink.all().values("from_user_id"))


async def link_by_unionid(*, account: User, now: datetime) -> list[Linked]:
    """At mini-program login: chat identities WeChat says are this person, linked."""
    if not account.unionid:
        return []
    found = await ChatIdentity.filter(unionid=account.unionid).exclude(user_id=account.id)
    return await _bind_each(found, account_id=account.id, now=now)


async def note_unionid(
    *, platform: str, external_id: str, unionid: str, now: datetime
) -> list[Linked]:
    """At follow: the identity's unionid, kept; linked at once if that person has logged in."""
    await ChatIdentity.filter(platform=platform, external_id=external_id).update(unionid=unionid)
    account = await User.filter(unionid=unionid).order_by("created_at").first()
    if account is None:
        return []  # linked at their first mini-program login instead
    found = await ChatIdentity.filter(
        platform=platform, external_id=external_id, unionid=unionid
    ).exclude(user_id=account.id)
    return await _bind_each(found, account_id=account.id, now=now)


UNIONID_KIND = "account.unionid"


async def on_follow(*, platform: str, external_id: str, now: datetime) -> None:
    """An Official Account follow: ask WeChat for the follower's unionid after the commit."""
    if platform != Platform.WECHAT.value:
        return
    await outbox.enqueue(
        UNIONID_KIND,
        {"platform": platform, "openid": external_id},
        dedupe_key=notify.outbox_key("unionid", f"{platform}:{external_id}"),
        now=now,
    )


async def link_followed(
    payload: dict[str, str],
    *,
    lookup: Callable[[str], Awaitable[str | None]],
    clock: Callable[[], datetime],
) -> None:
    """Outbox handler for ``UNIONID_KIND``: WeChat's answer kept, and linked if it can be."""
    unionid = await lookup(payload["openid"])
    if unionid:
        await note_unionid(
            platform=payload["platform"],
            external_id=payload["openid"],
            unionid=unionid,
            now=clock(),
        )


async def _bind_each(
    identities: list[ChatIdentity], *, account_id: uuid.UUID, now: datetime
) -> list[Linked]:
    done = []
    for identity in identities:
        try:
            done.append(
                await bind(
                    identity_id=identity.id, account_id=account_id, via=LinkVia.UNIONID, now=now
                )
            )
        except QunshopError as exc:  # linked elsewhere, or a seat clash: the person decides
            logger.info("unionid link of %s not made: %s", identity.id, exc.code)
    return done


async def identities_of(
    account_id: uuid.UUID,
) -> list[tuple[ChatIdentity, datetime | None]]:
    """The chat identities tied to this account, oldest first, with when each was linked."""
    found = await ChatIdentity.filter(user_id=account_id).order_by("created_at", "id")
    links = await AccountLink.filter(identity_id__in=[i.id for i in found]).values(
        "identity_id", "created_at"
    )
    when = {row["identity_id"]: row["created_at"] for row in links}
    return [(identity, when.get(identity.id)) for identity in found]
