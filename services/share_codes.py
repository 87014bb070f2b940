"""Share and invite codes: short, opaque, tamper-evident names for what was shared.

A code is 18 characters of the team-code alphabet (no 0/O, 1/I): 10 random characters, the
key of a ``ShareCode`` row, then 8 characters of an HMAC of that key under the server's
secret. It fits a wxacode scene (32 characters at most) and an Official Account QR scene,
and reads aloud. A changed character fails the MAC before any lookup; an accepted code
names its row: the kind, the sharer, the community, the campaign or team.

A code of a campaign or its team lasts as long as the campaign, read when the code is used:
a campaign given more time keeps every code already handed out working, and its sharers
keep the one code they have.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.groupbuy import Campaign
from models.growth import ShareCode, ShareKind
from qunshop.errors import ErrorCode, Invalid

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
KEY_LENGTH = 10  # 50 random bits
MAC_LENGTH = 8  # 40 bits of HMAC-SHA256
CODE_LENGTH = KEY_LENGTH + MAC_LENGTH


def _mac(secret: str, key: str) -> str:
    digest = hmac.new(secret.encode(), f"share-code:{key}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:5], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(MAC_LENGTH)))


def code_of(share: ShareCode, *, secret: str) -> str:
    return share.key + _mac(secret, share.key)


def normalise(code: str) -> str:
    return code.strip().upper()


def _well_formed(code: str, secret: str) -> bool:
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return False
    key, mac = code[:KEY_LENGTH], code[KEY_LENGTH:]
    return hmac.compare_digest(mac, _mac(secret, key))


def carried(code: str, *, secret: str) -> str | None:
    """``code`` as a link passes it on, if this server issued it (its MAC checks), else None.

    A page takes a sharer's ``?s=`` into the mini-program's path without a lookup; there the
    entry resolves it (its row, its expiry) and binds as for any share. The check keeps a
    made-up code out of the paths (each path is a URL link made by WeChat, and cached)."""
    text = normalise(code)
    return text if _well_formed(text, secret) else None


async def resolve(code: str, *, secret: str, now: datetime) -> ShareCode:
    """The row a code names; a tampered, unknown or expired code is refused."""
    text = normalise(code)
    share = (
        await ShareCode.get_or_none(key=text[:KEY_LENGTH]) if _well_formed(text, secret) else None
    )
    if share is None:
        raise Invalid(ErrorCode.SHARE_CODE_INVALID, "this code was not issued by this shop")
    ends = share.expires_at
    if share.campaign_id is not None:
        ends = (await Campaign.get(id=share.campaign_id)).ends_at
    if ends is not None and ends <= now:
        raise Invalid(ErrorCode.SHARE_CODE_EXPIRED, "this share has expired")
    return share


async def issue(
    *,
    kind: ShareKind,
    sharer_id: uuid.UUID,
    now: datetime,
    secret: str,
    community_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
) -> tuple[ShareCode, str]:
    """The sharer's one code for this thing (made on first share); returns it and its text.

    ``expires_at`` is for codes of no campaign: a campaign's codes end with the campaign.
    """
    target = f"{kind}:{sharer_id}:{community_id or '-'}:{team_id or campaign_id or '-'}"
    for _ in range(3):
        share = await ShareCode.get_or_none(target=target)
        if share is not None:
            return share, code_of(share, secret=secret)
        try:
            async with in_transaction():  # a savepoint when the caller has a transaction
                share = await ShareCode.create(
                    key="".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH)),
                    target=target,
                    kind=kind,
                    sharer_id=sharer_id,
                    community_id=community_id,
                    campaign_id=campaign_id,
                    team_id=team_id,
                    expires_at=expires_at,
                    created_at=now,
                )
        except IntegrityError:  # shared at the same moment elsewhere (or a key collided)
            continue
        return share, code_of(share, secret=secret)
    raise RuntimeError(f"could not issue a share code for {target}")
