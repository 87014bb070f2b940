"""Signatures and AES for the three chat webhooks, on wechatpy's pure functions.

Signatures are recomputed here and compared in constant time before wechatpy (which
compares with ``!=``) is asked to decrypt anything. Each account's cipher is built once per
app (``ACCOUNTS``), not once per message; a message only opens an encryptor or decryptor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from wechatpy import crypto as oa_crypto
from wechatpy.enterprise import crypto as wecom_crypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

if TYPE_CHECKING:
    from qunshop.config import Settings

# Everything a forged or damaged ciphertext can make wechatpy's decrypt raise.
_DECRYPT_ERRORS = (
    InvalidSignatureException,
    InvalidAppIdException,  # another receive id, or a length that cuts it off (the OA)
    InvalidCorpIdException,  # the same for WeCom: not a subclass of InvalidAppIdException
    ValueError,  # binascii.Error, UnicodeDecodeError, bad block length
    IndexError,
    KeyError,
    TypeError,
    struct.error,
)


class _UrandomPrefix:
    """The 16 random bytes that open every plaintext come from the OS's CSPRNG. wechatpy
    draws 16 letters with ``random.sample``: predictable, and the slowest step of a seal."""

    def get_random_string(self) -> bytes:
        return os.urandom(16)


class OAPrp(_UrandomPrefix, oa_crypto.PrpCrypto):
    pass


class WeComPrp(_UrandomPrefix, wecom_crypto.PrpCrypto):
    pass


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


_ENVELOPE = (
    "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
    "<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
    "<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
)


@dataclass(frozen=True)
class Account:
    """One webhook's token, AES key and receive id, with wechatpy's cipher built once
    (its ``WeChatCrypto`` builds one per message, a large share of a message's cost)."""

    token: str
    key: bytes
    receive_id: str  # the OA's appid, the WeCom corpid, "" for the intelligent bot
    prp: OAPrp | WeComPrp

    @classmethod
    def of(cls, token: str, encoding_aes_key: str, receive_id: str, *, wecom: bool) -> Account:
        # wechatpy's own key handling (43 characters of base64, one "=" short).
        key = oa_crypto.WeChatCrypto(token, encoding_aes_key, receive_id).key
        return cls(token, key, receive_id, (WeComPrp if wecom else OAPrp)(key))

    def open(self, encrypt: str, msg_signature: str | None, ts: str, nonce: str) -> str:
        """Verify ``msg_signature`` over (token, timestamp, nonce, Encrypt), then decrypt.

        WeCom's GET ``echostr`` is encrypted and signed the same way."""
        verify(msg_signature, self.token, ts, nonce, encrypt)
        try:
            return self.prp.decrypt(encrypt, self.receive_id)
        except _DECRYPT_ERRORS as exc:
            raise BadPayload(f"cannot decrypt: {type(exc).__name__}") from exc

    def _encrypt(self, text: str) -> str:
        return self.prp.encrypt(text, self.receive_id).decode()

    def seal_xml(self, xml: str, nonce: str, ts: str) -> str:
        """The safe-mode reply envelope, as wechatpy's ``encrypt_message`` writes it."""
        encrypt = self._encrypt(xml)
        return _ENVELOPE.format(
            encrypt=encrypt,
            signature=signature(self.token, ts, nonce, encrypt),
            timestamp=ts,
            nonce=nonce,
        )

    def seal_json(self, payload: dict[str, Any], ts: str, nonce: str) -> dict[str, str]:
        """The bot's JSON reply envelope (wechatpy only writes the XML one: quirk 2)."""
        encrypt = self._encrypt(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        return {
            "encrypt": encrypt,
            "msgsignature": signature(self.token, ts, nonce, encrypt),
            "timestamp": ts,
            "nonce": nonce,
        }


@dataclass(frozen=True)
class Accounts:
    oa: Account
    wecom: Account
    wecom_bot: Account

    @classmethod
    def of(cls, settings: Settings) -> Accounts:
        return cls(
            oa=Account.of(
                settings.wechat_token.get_secret_value(),
                settings.wechat_aes_key.get_secret_value(),
                settings.wechat_appid,
                wecom=False,
            ),
            wecom=Account.of(
                settings.wecom_token.get_secret_value(),
                settings.wecom_aes_key.get_secret_value(),
                settings.wecom_corp_id,
                wecom=True,
            ),
            # The intelligent bot's receive id is the empty string (WECHAT.md 10.5).
            wecom_bot=Account.of(
                settings.wecom_bot_token.get_secret_value(),
                settings.wecom_bot_aes_key.get_secret_value(),
                "",
                wecom=True,
            ),
        )


ACCOUNTS = web.AppKey("qunshop.bot.accounts", Accounts)
