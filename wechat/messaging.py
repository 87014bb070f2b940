"""Async clients for the WeChat and WeCom messaging APIs, over the caller's ``ClientSession``.

Protocol only: no business, no storage. Every call passes its own timeout and answers the
parsed JSON object, or raises ``MessagingError`` carrying WeChat's ``errcode``. A network
failure, a timeout, an HTTP 5xx or an unreadable body is ``errcode`` -1 with ``retryable``
set. Credentials (tokens, robot keys, response codes) travel in query strings: they are
redacted from every message this module logs or raises.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

TOKEN_TIMEOUT = 5.0
SEND_TIMEOUT = 8.0

SYSTEM_BUSY = -1
INVALID_TOKEN = frozenset({40001, 40014, 42001})  # refetch the token, then try once more
RATE_LIMITED = 45009  # daily API quota, or a robot's 20 messages a minute
OUT_OF_WINDOW = 45015  # customer service: the user has not spoken within 48 hours
QUOTA_USED = 45047  # customer service: the 5 messages of this window are spent
SUBSCRIPTION_REFUSED = 43101  # subscribe message: the user refused or has none left
# Errors where the same request later may succeed.
RETRYABLE = frozenset({SYSTEM_BUSY, RATE_LIMITED, 45011})


class MessagingError(Exception):
    """WeChat answered ``errcode != 0``, or could not be reached (``errcode`` -1)."""

    def __init__(self, errcode: int, errmsg: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.retryable = errcode in RETRYABLE if retryable is None else retryable

    @property
    def invalid_token(self) -> bool:
        return self.errcode in INVALID_TOKEN


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    timeout: float,
    params: dict[str, str] | None = None,
    payload: dict[str, Any] | None = None,
    secrets: tuple[str, ...] = (),
) -> dict[str, Any]:
    try:
        async with http.request(
            method,
            url,
            params=params,
            data=None if payload is None else json.dumps(payload, ensure_ascii=False).encode(),
            headers=None if payload is None else {"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            raw = await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        message = _redact(f"network error: {type(exc).__name__}: {exc}", secrets)
        logger.warning("%s unreachable: %s", what, message)
        raise MessagingError(SYSTEM_BUSY, message, retryable=True) from None
    if status != 200:
        logger.warning("%s answered HTTP %s", what, status)
        raise MessagingError(
            SYSTEM_BUSY, f"HTTP {status}", retryable=status >= 500 or status == 429
        )
    try:
        data: Any = json.loads(raw)  # WeChat may label JSON text/plain: parse whatever the type
    except ValueError:
        raise MessagingError(SYSTEM_BUSY, f"{what}: response is not JSON", retryable=True) from None
    if not isinstance(data, dict):
        raise MessagingError(SYSTEM_BUSY, f"{what}: response is not an object", retryable=True)
    errcode = _int(data.get("errcode") or 0)
    if errcode != 0:
        errmsg = _redact(str(data.get("errmsg", "")), secrets)
        logger.info("%s refused: %s %s", what, errcode, errmsg)
        raise MessagingError(errcode, errmsg)
    return data


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return SYSTEM_BUSY


def _token_of(data: dict[str, Any], what: str) -> tuple[str, int]:
    token, expires_in = data.get("access_token"), data.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int):
        raise MessagingError(SYSTEM_BUSY, f"{what}: no access_token", retryable=True)
    return token, expires_in


async def stable_token(
    http: aiohttp.ClientSession,
    *,
    base: str,
    appid: str,
    secret: str,
    force_refresh: bool = False,
    timeout: float = TOKEN_TIMEOUT,
) -> tuple[str, int]:
    """The account's stable access token and its remaining seconds (POST /cgi-bin/stable_token)."""
    body = {
        "grant_type": "client_credential",
        "appid": appid,
        "secret": secret,
        "force_refresh": force_refresh,
    }
    data = await _call(
        http,
        "POST",
        f"{base}/cgi-bin/stable_token",
        what="stable_token",
        timeout=timeout,
        payload=body,
        secrets=(secret,),
    )
    return _token_of(data, "stable_token")


async def wecom_token(
    http: aiohttp.ClientSession,
    *,
    base: str,
    corp_id: str,
    secret: str,
    timeout: float = TOKEN_TIMEOUT,
) -> tuple[str, int]:
    """A WeCom app's access token and its lifetime in seconds (GET /cgi-bin/gettoken)."""
    data = await _call(
        http,
        "GET",
        f"{base}/cgi-bin/gettoken",
        what="wecom gettoken",
        timeout=timeout,
        params={"corpid": corp_id, "corpsecret": secret},
        secrets=(secret,),
    )
    return _token_of(data, "wecom gettoken")


async def _send(
    http: aiohttp.ClientSession,
    url: str,
    *,
    what: str,
    params: dict[str, str],
    payload: dict[str, Any],
    timeout: float,
) -> dict[str, Any]:
    return await _call(
        http,
        "POST",
        url,
        what=what,
        timeout=timeout,
        params=params,
        payload=payload,
        secrets=tuple(params.values()),
    )


async def user_info(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    openid: str,
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """An Official Account follower's profile; ``unionid`` is in it when the account is bound
    to an Open Platform account (cgi-bin/user/info)."""
    return await _call(
        http,
        "GET",
        f"{base}/cgi-bin/user/info",
        what="user/info",
        timeout=timeout,
        params={"access_token": token, "openid": openid, "lang": "zh_CN"},
        secrets=(token,),
    )


async def send_custom(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    payload: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """A customer-service message (``{touser, msgtype, <msgtype>: {...}}``)."""
    return await _send(
        http,
        f"{base}/cgi-bin/message/custom/send",
        what="custom/send",
        params={"access_token": token},
        payload=payload,
        timeout=timeout,
    )


async def send_subscribe(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    payload: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """A mini-program subscribe message (``{touser, template_id, page, data}``)."""
    return await _send(
        http,
        f"{base}/cgi-bin/message/subscribe/send",
        what="subscribe/send",
        params={"access_token": token},
        payload=payload,
        timeout=timeout,
    )


async def send_wecom_app(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    payload: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """A WeCom self-built app message (``{touser, msgtype, agentid, <msgtype>: {...}}``)."""
    return await _send(
        http,
        f"{base}/cgi-bin/message/send",
        what="wecom message/send",
        params={"access_token": token},
        payload=payload,
        timeout=timeout,
    )


async def send_robot(
    http: aiohttp.ClientSession,
    *,
    base: str,
    key: str,
    payload: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """A message through a WeCom group robot webhook; the key is its only credential."""
    return await _send(
        http,
        f"{base}/cgi-bin/webhook/send",
        what="robot webhook/send",
        params={"key": key},
        payload=payload,
        timeout=timeout,
    )


async def post_response_url(
    http: aiohttp.ClientSession,
    *,
    url: str,
    payload: dict[str, Any],
    timeout: float = SEND_TIMEOUT,
) -> dict[str, Any]:
    """The WeCom intelligent bot's one-shot later answer (markdown or template_card)."""
    _, _, query = url.partition("?")
    return await _call(
        http,
        "POST",
        url,
        what="aibot response_url",
        timeout=timeout,
        payload=payload,
        secrets=(query,) if query else (),
    )


# Bodies: platform-neutral messages in each API's own format ------------------------------
#
# A message is {"type": "text" | "markdown", "text"} or {"type": "card", "title",
# "description", "url", "picture_url", "button_text", "mini_program_path"}.

ROBOT_TEXT_BYTES = 2048
ROBOT_MARKDOWN_BYTES = 4096
RESPONSE_MARKDOWN_BYTES = 20480


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary."""
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode(errors="ignore")


def _plain(message: dict[str, Any]) -> str:
    if message["type"] == "card":
        lines = (message["title"], message.get("description") or "", message["url"])
        return "\n".join(line for line in lines if line)
    return str(message["text"])


def _markdown(message: dict[str, Any]) -> str:
    if message["type"] != "card":
        return str(message["text"])
    button = message.get("button_text") or message["url"]
    link = f"[{button}]({message['url']})"
    parts = [f"**{message['title']}**", message.get("description") or "", link]
    return "\n".join(part for part in parts if part)


def _article(message: dict[str, Any]) -> dict[str, str]:
    return {
        "title": message["title"],
        "description": message.get("description") or "",
        "url": message["url"],
        "picurl": message.get("picture_url") or "",
    }


def custom_body(openid: str, message: dict[str, Any]) -> dict[str, Any]:
    """Customer service: a card is a one-article news message, anything else text."""
    if message["type"] == "card":
        return {"touser": openid, "msgtype": "news", "news": {"articles": [_article(message)]}}
    return {"touser": openid, "msgtype": "text", "text": {"content": _plain(message)}}


def wecom_app_body(userid: str, agent_id: int, message: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"touser": userid, "agentid": agent_id}
    if message["type"] == "card":
        card = {
            "title": message["title"],
            "description": message.get("description") or message["title"],
            "url": message["url"],
            "btntxt": message.get("button_text") or "详情",
        }
        return {**body, "msgtype": "textcard", "textcard": card}
    if message["type"] == "markdown":
        return {**body, "msgtype": "markdown", "markdown": {"content": message["text"]}}
    return {**body, "msgtype": "text", "text": {"content": message["text"]}}


def robot_body(message: dict[str, Any]) -> dict[str, Any]:
    """A group robot message: text, markdown, or a one-article news card."""
    if message["type"] == "card":
        return {"msgtype": "news", "news": {"articles": [_article(message)]}}
    if message["type"] == "markdown":
        content = _cut(message["text"], ROBOT_MARKDOWN_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    return {"msgtype": "text", "text": {"content": _cut(message["text"], ROBOT_TEXT_BYTES)}}


def response_body(message: dict[str, Any], *, single: bool) -> dict[str, Any]:
    """A response_url answer: markdown, or a template card when the chat was single."""
    if message["type"] == "card" and single:
        card = {
            "card_type": "text_notice",
            "main_title": {"title": message["title"], "desc": message.get("description") or ""},
            "card_action": {"type": 1, "url": message["url"]},
            "jump_list": [
                {"type": 1, "title": message.get("button_text") or "详情", "url": message["url"]}
            ],
        }
        return {"msgtype": "template_card", "template_card": card}
    content = _cut(_markdown(message), RESPONSE_MARKDOWN_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}
