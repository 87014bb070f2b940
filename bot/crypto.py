"""Signatures and AES for the three chat webhooks, on wechatpy's pure functions.

Signatures are recomputed here and compared in constant time before wechatpy (which
compares with ``!=``) is asked to decrypt anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from typing import TYPE_CHECKING, Any

from wechatpy.crypto import WeChatCrypto as OACrypto
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

if TYPE_CHECKING:
    from qunshop.config import Settings

# Everything a forged or damaged ciphertext can make wechatpy's decrypt raise.
_DECRYPT_ERRORS = (
    InvalidSignatureException,
    InvalidAppIdException,  # InvalidCorpIdException is a subclass
    ValueError,  # binascii.Error, UnicodeDecodeError, bad block length
    IndexError,
    KeyError,
    TypeError,
    struct.error,
)


class BadSignature(Exception):
    """Missing or wrong signature: answered 403, and nothing else happens."""


class BadPayload(Exception):
    """Signed, but not decryptable or not what the platform sends: answered 400."""


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the lexicographically sorted parts, joined without a delimiter."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify(expected: str | None, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts).encode(), expected.encode()):
        raise BadSignature("signature mismatch")


def oa_crypto(settings: Settings) -> OACrypto:
    return OACrypto(
        settings.wechat_token.get_secret_value(),
        settings.wechat_aes_key.get_secret_value(),
        settings.wechat_appid,
    )


def wecom_crypto(settings: Settings) -> WeComCrypto:
    return WeComCrypto(
        settings.wecom_token.get_secret_value(),
        settings.wecom_aes_key.get_secret_value(),
        settings.wecom_corp_id,
    )


def wecom_bot_crypto(settings: Settings) -> WeComCrypto:
    # The intelligent bot's receive id is the empty string (WECHAT.md 10.5).
    return WeComCrypto(
        settings.wecom_bot_token.get_secret_value(),
        settings.wecom_bot_aes_key.get_secret_value(),
        "",
    )


def decrypt(
    crypto: OACrypto | WeComCrypto, encrypt: str, msg_signature: str | None, ts: str, nonce: str
) -> str:
    """Verify ``msg_signature`` over (token, timestamp, nonce, Encrypt), then decrypt."""
    verify(msg_signature, crypto.token, ts, nonce, encrypt)
    try:
        # A dict with the capitalised key is what wechatpy expects (quirk 1 in WECHAT.md 10.5).
        return crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, ts, nonce)
    except _DECRYPT_ERRORS as exc:
        raise BadPayload(f"cannot decrypt: {type(exc).__name__}") from exc


def decrypt_echo(
    crypto: WeComCrypto, echostr: str, msg_signature: str | None, ts: str, nonce: str
) -> str:
    """WeCom's GET verification: the echostr is encrypted and signed like a message."""
    verify(msg_signature, crypto.token, ts, nonce, echostr)
    try:
        return crypto.check_signature(msg_signature, ts, nonce, echostr)
    except _DECRYPT_ERRORS as exc:
        raise BadPayload(f"cannot decrypt echostr: {type(exc).__name__}") from exc


def encrypt_json(
    crypto: WeComCrypto, payload: dict[str, Any], ts: str, nonce: str
) -> dict[str, str]:
    """The bot's JSON reply envelope (wechatpy only writes the XML one: quirk 2)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    encrypt = PrpCrypto(crypto.key).encrypt(text, crypto.corp_id).decode()
    return {
        "encrypt": encrypt,
        "msgsignature": signature(crypto.token, ts, nonce, encrypt),
        "timestamp": ts,
        "nonce": nonce,
    }
