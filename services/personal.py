"""Phone numbers and real names: sealed at rest with AES-256-GCM, read by their owner, and
read by an operator only with an entry in the audit log.

A sealed value is ``v1:`` and the base64 of a 12-byte random nonce and the ciphertext with
its tag; the user's id is the associated data, so a value copied onto another row does not
open. The key comes from the settings (``personal_data_key``, or derived from the secret key).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.privacy import PersonalDetails
from models.user import User
from qunshop.errors import ErrorCode, NotFound, Unavailable
from services import audit
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from qunshop.config import Settings
    from services.auth import Principal

VERSION = "v1:"


def data_key(settings: Settings) -> bytes:
    if settings.personal_data_key is not None:
        return base64.b64decode(settings.personal_data_key.get_secret_value())
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"qunshop personal data v1"
    ).derive(settings.secret_key.get_secret_value().encode())


def seal(text: str, *, key: bytes, owner: uuid.UUID) -> str:
    if not text:
        return ""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), owner.bytes)
    return VERSION + base64.b64encode(nonce + sealed).decode()


def unseal(value: str, *, key: bytes, owner: uuid.UUID) -> str:
    if not value:
        return ""
    if not value.startswith(VERSION):
        raise Unavailable(ErrorCode.PERSONAL_DATA_UNREADABLE, "personal data in an unknown form")
    raw = base64.b64decode(value[len(VERSION) :])
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], owner.bytes).decode()
    except InvalidTag:
        raise Unavailable(
            ErrorCode.PERSONAL_DATA_UNREADABLE, "personal data does not open with this key"
        ) from None


@dataclass(frozen=True)
class Details:
    phone: str
    real_name: str


async def _read(user_id: uuid.UUID, key: bytes) -> Details:
    row = await PersonalDetails.get_or_none(user_id=user_id)
    if row is None:
        return Details(phone="", real_name="")
    return Details(
        phone=unseal(row.phone_sealed, key=key, owner=user_id),
        real_name=unseal(row.real_name_sealed, key=key, owner=user_id),
    )


async def mine(*, principal: Principal, settings: Settings) -> Details:
    return await _read(principal.user_id, data_key(settings))


async def update_mine(
    *,
    principal: Principal,
    phone: str | None,
    real_name: str | None,
    settings: Settings,
    now: datetime,
) -> Details:
    """Set either or both; ``""`` clears one."""
    key, owner = data_key(settings), principal.user_id
    values: dict[str, object] = {"updated_at": now}
    if phone is not None:
        values["phone_sealed"] = seal(phone, key=key, owner=owner)
    if real_name is not None:
        values["real_name_sealed"] = seal(real_name, key=key, owner=owner)
    await PersonalDetails.update_or_create(values, user_id=owner)
    return await _read(owner, key)


async def operator_read(
    *, actor: Principal, user_id: str, settings: Settings, now: datetime
) -> Details:
    """An operator reads a person's details: the read itself is audited (who, whom, when)."""
    audit.ensure_admin(actor)
    key = parse_uuid(user_id)
    if key is None or not await User.exists(id=key):
        raise NotFound(ErrorCode.USER_NOT_FOUND, "no such user")
    details = await _read(key, data_key(settings))
    await audit.record(
        actor=actor,
        action="personal.read",
        target=f"user:{key}",
        before={},
        after={"fields": ["phone", "real_name"]},
        now=now,
    )
    return details
