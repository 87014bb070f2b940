"""Signatures and AES for the three chat webhooks.

Signatures are recomputed here and compared in constant time before anything is decrypted.
The AES is WeChat's one scheme for all three (AES-256-CBC, the IV the key's first 16 bytes,
PKCS#7 to 32 bytes, over 16 random bytes, the text's length, the text and the receive id),
written here on ``cryptography`` with each account's cipher built once per app
(``ACCOUNTS``): wechatpy's ``PrpCrypto`` draws its random prefix from the ``random``
module, copies the text at each step and raises a different exception for each platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy import crypto as oa_crypto

if TYPE_CHECKING:
    from qunshop.config import Settings

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_LENGTH = struct.Struct(">I")  # the text's length in bytes, in network order


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
    """One webhook's token, AES key and receive id, with its cipher built once."""

    token: str
    key: bytes
    receive_id: str  # the OA's appid, the WeCom corpid, "" for the intelligent bot
    cipher: Cipher[modes.CBC]

    @classmethod
    def of(cls, token: str, encoding_aes_key: str, receive_id: str) -> Account:
        # wechatpy's own key handling (43 characters of base64, one "=" short).
        key = oa_crypto.WeChatCrypto(token, encoding_aes_key, receive_id).key
        return cls(token, key, receive_id, Cipher(algorithms.AES(key), modes.CBC(key[:16])))

    def open(self, encrypt: str, msg_signature: str | None, ts: str, nonce: str) -> str:
        """Verify ``msg_signature`` over (token, timestamp, nonce, Encrypt), then decrypt.

        WeCom's GET ``echostr`` is encrypted and signed the same way."""
        verify(msg_signature, self.token, ts, nonce, encrypt)
        try:
            decryptor = self.cipher.decryptor()
            # As wechatpy reads it: base64 that skips stray characters, the padding unchecked.
            plain = decryptor.update(base64.b64decode(encrypt.encode())) + decryptor.finalize()
            content = plain[16 : -plain[-1]]
            (length,) = _LENGTH.unpack(content[:4])
            text = content[4 : 4 + length].decode()
            receive_id = content[4 + length :].decode()
        except (ValueError, IndexError, struct.error) as exc:  # UnicodeDecodeError is one
            raise BadPayload(f"cannot decrypt: {type(exc).__name__}") from exc
        if receive_id != self.receive_id:  # another receive id, or a length that cuts it
            raise BadPayload("cannot decrypt: another receive id")
        return text

    def _encrypt(self, text: str) -> str:
        raw = text.encode()
        # The 16 random bytes come from the OS's CSPRNG (wechatpy's from ``random.sample``).
        data = b"".join((os.urandom(16), _LENGTH.pack(len(raw)), raw, self.receive_id.encode()))
        pad = _BLOCK - len(data) % _BLOCK
        encryptor = self.cipher.encryptor()
        sealed = encryptor.update(data + bytes((pad,)) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

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
            ),
            wecom=Account.of(
                settings.wecom_token.get_secret_value(),
                settings.wecom_aes_key.get_secret_value(),
                settings.wecom_corp_id,
            ),
            # The intelligent bot's receive id is the empty string (WECHAT.md 10.5).
            wecom_bot=Account.of(
                settings.wecom_bot_token.get_secret_value(),
                settings.wecom_bot_aes_key.get_secret_value(),
                "",
            ),
        )


ACCOUNTS = web.AppKey("qunshop.bot.accounts", Accounts)
