"""WeChat Pay API v2, pure functions: signatures, XML in and out, refund-notify crypto.

No I/O here. The HTTP calls live in ``wechat.api``; the notify views call ``parse_xml``,
``verify`` and ``decrypt_refund_info`` and answer ``SUCCESS_REPLY`` or ``fail_reply``.
Money crosses this module as integer fen, written as plain decimal text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import NoReturn
from xml.parsers.expat import ExpatError, ParserCreate

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

logger = logging.getLogger(__name__)

MD5 = "MD5"
HMAC_SHA256 = "HMAC-SHA256"
SIGN_TYPES = (MD5, HMAC_SHA256)


def _tag(key: str) -> bool:
    """An XML tag name as WeChat Pay's fields are: ``[A-Za-z_][A-Za-z0-9_]*`` (an ASCII
    identifier; cheaper to ask than a regex, and a message is built of a dozen)."""
    return key.isascii() and key.isidentifier()


class PayProtocolError(Exception):
    """A pay message that is malformed, hostile, or fails its cryptography."""


def _sign_string(params: Mapping[str, object], api_key: str) -> bytes:
    # Sorted by key alone: keys are unique, so values are never compared.
    pairs = [f"{key}={value!s}" for key, value in sorted(params.items()) if _signed(key, value)]
    pairs.append(f"key={api_key}")
    return "&".join(pairs).encode()


def _signed(key: str, value: object) -> bool:
    return key != "sign" and value is not None and value != ""


def sign(params: Mapping[str, object], api_key: str, sign_type: str = MD5) -> str:
    """The v2 signature: non-empty params but ``sign``, ASCII-sorted, ``&key=``, uppercase hex.

    Values are ``str()``-ed, so int 0 is signed as ``0`` (wechatpy's ``format_url`` drops it).
    """
    message = _sign_string(params, api_key)
    if sign_type == MD5:
        return hashlib.md5(message).hexdigest().upper()
    if sign_type == HMAC_SHA256:
        return hmac.digest(api_key.encode(), message, "sha256").hex().upper()
    raise ValueError(f"unknown sign_type {sign_type!r}")


def verify(params: Mapping[str, str], api_key: str) -> bool:
    """Check ``params['sign']`` in constant time.

    With a ``sign_type`` field that algorithm is used; without one (HMAC-SHA256 notifies may
    omit it) a sign matching either MD5 or HMAC-SHA256 is accepted.
    """
    given = params.get("sign")
    if not given:
        return False
    sign_type = params.get("sign_type")
    if sign_type is not None and sign_type not in SIGN_TYPES:
        return False
    candidates = (sign_type,) if sign_type else SIGN_TYPES
    given_bytes = str(given).encode()
    # Evaluate every candidate, so the time taken does not say which one matched.
    results = [
        hmac.compare_digest(sign(params, api_key, candidate).encode(), given_bytes)
        for candidate in candidates
    ]
    return any(results)


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside one CDATA section: close it and open another.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(params: Mapping[str, object]) -> bytes:
    """``<xml><k><![CDATA[v]]></k>...</xml>`` in UTF-8; ints as plain text; None is left out."""
    parts = ["<xml>"]
    for key, value in params.items():
        if value is None:
            continue
        if not _tag(key):
            raise ValueError(f"not an XML tag name: {key!r}")
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:
            text = _cdata(str(value))
        parts.append(f"<{key}>{text}</{key}>")
    parts.append("</xml>")
    return "".join(parts).encode()


def parse_xml(body: bytes, *, max_bytes: int = 64 * 1024) -> dict[str, str]:
    """The root's children as a flat ``{tag: text}``; refuses anything else.

    Refused with ``PayProtocolError``: bodies over ``max_bytes``, malformed XML, any DTD,
    entity or external reference, nesting below the root's children, a root with no
    children, and a tag that appears twice.

    Read from expat's events (as ``bot.safexml`` reads the chat's XML), not through
    ElementTree: defusedxml's pure-Python parser cost a pay notify more to build than the
    whole flat document costs to read. The same parser, with the same namespace handling,
    so what is refused and what is read is unchanged; nesting and repeats are refused the
    moment they are met.
    """
    if len(body) > max_bytes:
        raise PayProtocolError(f"XML body of {len(body)} bytes exceeds {max_bytes}")
    result: dict[str, str] = {}
    chunks: list[str] = []  # the text of the open child
    depth = 0  # 0: outside the root, 1: in the root, 2: in one of its children
    child = ""  # the open child's tag

    def start(tag: str, _attributes: object) -> None:
        nonlocal depth, child
        depth += 1
        if depth == 2:
            child = tag
            chunks.clear()
        elif depth > 2:
            raise PayProtocolError(f"XML nested deeper than 2 levels under <{_name(child)}>")

    def end(_tag: str) -> None:
        nonlocal depth
        if depth == 2:
            name = _name(child)
            if name in result:
                raise PayProtocolError(f"XML field <{name}> appears twice")
            result[name] = "".join(chunks)
        depth -= 1

    def text(data: str) -> None:
        if depth == 2:
            chunks.append(data)

    parser = ParserCreate(None, "}")  # ElementTree's: a namespaced tag reads "{uri}tag"
    parser.StartDoctypeDeclHandler = _REFUSE_DTD
    parser.EntityDeclHandler = _REFUSE_ENTITY
    parser.UnparsedEntityDeclHandler = _REFUSE_ENTITY
    parser.ExternalEntityRefHandler = _REFUSE_EXTERNAL
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except (ExpatError, ValueError, TypeError) as exc:
        raise PayProtocolError(f"malformed XML: {exc}") from exc
    if not result:
        raise PayProtocolError("XML root has no children")
    return result


def _name(tag: str) -> str:
    return "{" + tag if "}" in tag else tag


def _forbidden(construct: str) -> Callable[..., NoReturn]:
    def refuse(*_: object) -> NoReturn:
        # A handler's exception stops expat at once: nothing after it is read.
        raise PayProtocolError(f"forbidden XML construct: {construct}")

    return refuse


_REFUSE_DTD = _forbidden("DTD")
_REFUSE_ENTITY = _forbidden("entity declaration")
_REFUSE_EXTERNAL = _forbidden("external reference")


def _refund_cipher(api_key: str) -> Cipher[modes.ECB]:
    key = hashlib.md5(api_key.encode()).hexdigest().encode()  # 32 ASCII bytes: AES-256
    return Cipher(algorithms.AES(key), modes.ECB())


def decrypt_refund_info(req_info: str, api_key: str) -> dict[str, str]:
    """Decrypt a refund notify's ``req_info`` (AES-256-ECB, key = hex MD5 of the API key)."""
    try:
        data = base64.b64decode(req_info, validate=True)
        if not data or len(data) % 16:
            raise ValueError("ciphertext is not a whole number of AES blocks")
        decryptor = _refund_cipher(api_key).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError) as exc:
        raise PayProtocolError(f"cannot decrypt req_info: {exc}") from exc
    return parse_xml(plaintext)


def encrypt_refund_info(fields: Mapping[str, object], api_key: str) -> str:
    """The inverse of ``decrypt_refund_info``: ``<root>`` XML, PKCS#7, AES-256-ECB, base64."""
    inner = to_xml(fields)
    plaintext = b"<root>" + inner[len(b"<xml>") : -len(b"</xml>")] + b"</root>"
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = _refund_cipher(api_key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def jsapi_params(
    *, appid: str, prepay_id: str, api_key: str, sign_type: str, nonce_str: str, timestamp: int
) -> dict[str, str]:
    """The arguments of ``wx.requestPayment`` for a prepay_id, with their ``paySign``."""
    params = {
        "appId": appid,
        "timeStamp": str(timestamp),
        "nonceStr": nonce_str,
        "package": f"prepay_id={prepay_id}",
        "signType": sign_type,
    }
    params["paySign"] = sign(params, api_key, sign_type)
    return params


def nonce(length: int = 32) -> str:
    """A random string of ``length`` lowercase hex digits from ``secrets`` (nonce_str allows
    at most 32 characters; 32 carry 128 random bits)."""
    return secrets.token_hex((length + 1) // 2)[:length]


SUCCESS_REPLY: bytes = to_xml({"return_code": "SUCCESS", "return_msg": "OK"})


def fail_reply(message: str) -> bytes:
    """A notify answer that tells WeChat Pay to retry later."""
    return to_xml({"return_code": "FAIL", "return_msg": message})
