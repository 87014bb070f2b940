"""Mini-program protocol: wxacode.getUnlimited, urllink.generate, and decrypting open data.

Protocol only, no business. ``get_unlimited`` answers the image bytes or raises
``WxaCodeError`` with WeChat's ``errcode`` (-1 when the network or the body failed);
``generate_urllink`` answers a ``https://wxaurl.cn/...`` link that opens the mini-program
from a browser, or raises the same error.
``decrypt_open_data`` is AES-128-CBC with the user's session_key (WECHAT.md 3.2); a payload
that does not decrypt to a JSON object raises ``OpenDataError`` (a stale session_key looks
exactly like that), and ``check_watermark`` refuses another app's data or stale data.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from datetime import datetime
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

logger = logging.getLogger(__name__)

CODE_TIMEOUT = 8.0
SCENE_MAX = 32
# Visible characters WeChat accepts in a scene; no '%', so no URL-encoded text.
SCENE_PATTERN = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
PAGE_PATTERN = re.compile(r"[A-Za-z0-9_\-./]{1,128}")
SYSTEM_BUSY = -1
RATE_LIMITED = 45009  # over 5000 calls a minute
INVALID_TOKEN = frozenset({40001, 40014, 42001})


class WxaCodeError(Exception):
    """A mini-program code or URL link WeChat did not give; ``api`` names which call."""

    def __init__(self, errcode: int, errmsg: str, api: str = "getwxacodeunlimit") -> None:
        super().__init__(f"{api} error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def invalid_token(self) -> bool:
        return self.errcode in INVALID_TOKEN


class OpenDataError(Exception):
    """encryptedData that does not decrypt with this session_key and iv (a stale key?)."""


class OpenDataFormatError(OpenDataError):
    """The input is not even shaped right: not base64, or not whole AES blocks."""


class WatermarkError(Exception):
    """Readable data that is not ours, or too old, by its watermark."""


def is_scene(scene: str) -> bool:
    return bool(SCENE_PATTERN.fullmatch(scene))


async def get_unlimited(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    scene: str,
    page: str | None = None,
    check_path: bool = True,
    env_version: str = "release",
    width: int = 430,
    timeout: float = CODE_TIMEOUT,
) -> bytes:
    """POST /wxa/getwxacodeunlimit: the mini-program code image for ``scene`` on ``page``."""
    if not is_scene(scene):
        raise ValueError(f"scene must be 1..{SCENE_MAX} characters of WeChat's scene set")
    if page is not None and (page.startswith("/") or not PAGE_PATTERN.fullmatch(page)):
        raise ValueError("page has no leading '/' and no query string")
    if not 280 <= width <= 1280:
        raise ValueError("width must be 280..1280")
    body: dict[str, Any] = {
        "scene": scene,
        "check_path": check_path,
        "env_version": env_version,
        "width": width,
    }
    if page is not None:
        body["page"] = page
    try:
        async with http.post(
            f"{base}/wxa/getwxacodeunlimit",
            params={"access_token": token},
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            content_type = response.content_type
            raw = await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        logger.warning("getwxacodeunlimit unreachable: %s", type(exc).__name__)
        raise WxaCodeError(SYSTEM_BUSY, f"network error: {type(exc).__name__}") from None
    if status != 200:
        raise WxaCodeError(SYSTEM_BUSY, f"HTTP {status}")
    if content_type.startswith("image/"):
        return raw
    # Failures come back as JSON (whatever the declared type).
    try:
        data = json.loads(raw)
    except ValueError:
        raise WxaCodeError(SYSTEM_BUSY, "neither an image nor JSON") from None
    if not isinstance(data, dict):
        raise WxaCodeError(SYSTEM_BUSY, "neither an image nor a JSON object")
    errcode = data.get("errcode")
    errmsg = str(data.get("errmsg", ""))
    logger.info("getwxacodeunlimit refused: %s %s", errcode, errmsg)
    raise WxaCodeError(errcode if isinstance(errcode, int) and errcode else SYSTEM_BUSY, errmsg)


URLLINK = "generate_urllink"
URLLINK_MAX_DAYS = 30  # WeChat keeps a URL link at most 30 days
QUERY_MAX = 1024


async def generate_urllink(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    path: str,
    query: str = "",
    env_version: str = "release",
    expire_days: int = URLLINK_MAX_DAYS,
    timeout: float = CODE_TIMEOUT,
) -> str:
    """POST /wxa/generate_urllink: a link that opens ``path?query`` in the mini-program."""
    if path.startswith("/") or not PAGE_PATTERN.fullmatch(path):
        raise ValueError("path has no leading '/' and no query string")
    if len(query) > QUERY_MAX:
        raise ValueError(f"query is at most {QUERY_MAX} characters")
    if not 1 <= expire_days <= URLLINK_MAX_DAYS:
        raise ValueError(f"expire_days must be 1..{URLLINK_MAX_DAYS}")
    body = {
        "path": path,
        "query": query,
        "env_version": env_version,
        "expire_type": 1,  # an interval in days from now
        "expire_interval": expire_days,
    }
    try:
        async with http.post(
            f"{base}/wxa/generate_urllink",
            params={"access_token": token},
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            raw = await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        logger.warning("generate_urllink unreachable: %s", type(exc).__name__)
        raise WxaCodeError(SYSTEM_BUSY, f"network error: {type(exc).__name__}", URLLINK) from None
    if status != 200:
        raise WxaCodeError(SYSTEM_BUSY, f"HTTP {status}", URLLINK)
    try:
        data = json.loads(raw)
    except ValueError:
        raise WxaCodeError(SYSTEM_BUSY, "not JSON", URLLINK) from None
    if not isinstance(data, dict):
        raise WxaCodeError(SYSTEM_BUSY, "not a JSON object", URLLINK)
    errcode = data.get("errcode", 0)
    link = data.get("url_link")
    # WeChat's links are https; development's stand-in answers a page on its own base.
    if errcode == 0 and isinstance(link, str) and link.startswith(("https://", f"{base}/")):
        return link
    errmsg = str(data.get("errmsg", ""))
    logger.info("generate_urllink refused: %s %s", errcode, errmsg)
    raise WxaCodeError(
        errcode if isinstance(errcode, int) and errcode else SYSTEM_BUSY, errmsg, URLLINK
    )


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise OpenDataFormatError(f"{what} is not base64") from None


def decrypt_open_data(*, session_key: str, iv: str, encrypted_data: str) -> dict[str, Any]:
    """AES-128-CBC, PKCS#7 (16-byte blocks); the plaintext is a JSON object."""
    key, vector, cipher_text = (
        _b64(session_key, "session_key"),
        _b64(iv, "iv"),
        _b64(encrypted_data, "encryptedData"),
    )
    if len(key) != 16 or len(vector) != 16:
        raise OpenDataFormatError("session_key and iv must be 16 bytes")
    if not cipher_text or len(cipher_text) % 16:
        raise OpenDataFormatError("encryptedData is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(vector)).decryptor()
    padded = decryptor.update(cipher_text) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        data = json.loads(plain.decode("utf-8"))
    except ValueError:  # bad padding, bad UTF-8 and bad JSON are all ValueErrors
        raise OpenDataError("encryptedData does not decrypt with this session_key") from None
    if not isinstance(data, dict):
        raise OpenDataError("encryptedData is not a JSON object")
    return data


def check_watermark(data: dict[str, Any], *, appid: str, now: datetime, max_age: int) -> None:
    """The watermark names our appid and a time within ``max_age`` seconds (60 s of skew)."""
    mark = data.get("watermark")
    if not isinstance(mark, dict):
        raise WatermarkError("no watermark")
    if mark.get("appid") != appid:
        raise WatermarkError("the watermark names another appid")
    stamp = mark.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise WatermarkError("the watermark has no timestamp")
    age = int(now.timestamp()) - stamp  # in integers: a stamp of 10**400 is no float
    if age > max_age or age < -60:
        raise WatermarkError(
            f"the watermark is {age} seconds old"
            if abs(age) < 10**12
            else "the watermark's time is out of range"
        )
