"""Platform payloads in, one ``qunshop.chat.Update`` out.

OA and WeCom-app XML is first parsed by ``bot.safexml`` (the fields used here, unmodified)
and classified by wechatpy's parser (anything it does not know is ignored). The WeCom
intelligent bot sends JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeGuard

import wechatpy
import wechatpy.enterprise
from wechatpy.messages import UnknownMessage

from bot.crypto import BadPayload
from qunshop.chat import ChatType, Platform, Update

# A leading "@<bot name>" and the space after it (WeChat puts U+2005 there; \s matches it).
_MENTION = re.compile(r"^\s*@\S+\s*")

_PARSERS: dict[Platform, Callable[[str], Any]] = {
    Platform.WECHAT: wechatpy.parse_message,
    Platform.WECOM: wechatpy.enterprise.parse_message,
}
_BOT_EVENTS = {"enter_chat", "template_card_event"}  # feedback_event wants no answer


def _filled(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _when(value: object, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def _known(platform: Platform, xml: str) -> bool:
    try:
        parsed = _PARSERS[platform](xml)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise BadPayload(f"wechatpy cannot parse it: {type(exc).__name__}") from exc
    return not isinstance(parsed, UnknownMessage)


def from_xml(platform: Platform, fields: dict[str, Any], xml: str, now: datetime) -> Update | None:
    """An OA / WeCom-app message as an Update; None for a type wechatpy does not know."""
    sender = fields.get("FromUserName")
    msg_type = fields.get("MsgType")
    if not _filled(sender) or not _filled(msg_type):
        raise BadPayload("FromUserName or MsgType missing")
    if msg_type.lower() == "event" and not _filled(fields.get("Event")):
        raise BadPayload("Event missing")
    if msg_type != "text" and not _known(platform, xml):  # text, the bulk, is always known
        return None
    text: str | None = None
    event: str | None = None
    event_key: str | None = None
    if msg_type == "text":
        text = str(fields.get("Content") or "")
    elif msg_type == "voice":
        text = str(fields.get("Recognition") or "") or None
    elif msg_type.lower() == "event":
        event = fields["Event"]
        key = fields.get("EventKey")
        event_key = key if isinstance(key, str) and key else None
        if event.lower() == "click":  # a menu key routes like a typed command
            text = event_key
    return Update(
        platform=platform,
        chat_id=sender,
        chat_type=ChatType.SINGLE,
        sender=sender,
        msg_id=str(fields.get("MsgId") or ""),
        created_at=_when(fields.get("CreateTime"), now),
        text=text,
        event=event,
        event_key=event_key,
        raw=fields,
    )


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def strip_mention(text: str) -> str:
    return _MENTION.sub("", text, count=1).strip()


def _bot_text(payload: dict[str, Any]) -> str | None:
    msg_type = payload.get("msgtype")
    if msg_type == "text":
        return strip_mention(str(_obj(payload.get("text")).get("content") or ""))
    if msg_type == "mixed":
        items = _obj(payload.get("mixed")).get("msg_item")
        parts = [
            str(_obj(item.get("text")).get("content") or "")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("msgtype") == "text"
        ]
        return strip_mention(" ".join(p for p in parts if p))
    if msg_type == "voice":  # the ASR transcript
        return str(_obj(payload.get("voice")).get("content") or "") or None
    return None


def from_bot_json(payload: dict[str, Any], now: datetime) -> Update | None:
    """A WeCom intelligent-bot callback (not a stream refresh) as an Update."""
    sender = _obj(payload.get("from")).get("userid")
    msg_id = payload.get("msgid")
    msg_id = str(msg_id) if isinstance(msg_id, int) else msg_id
    if not _filled(sender) or not _filled(msg_id):
        raise BadPayload("from.userid or msgid missing")
    group = payload.get("chattype") == "group"
    chat_id = payload.get("chatid") if group else sender
    if not _filled(chat_id):
        raise BadPayload("chatid missing in a group callback")
    msg_type = payload.get("msgtype")
    text = event = event_key = None
    if msg_type == "event":
        body = _obj(payload.get("event"))
        event = body.get("eventtype")
        if event not in _BOT_EVENTS:
            return None
        if event == "template_card_event":
            key = _obj(body.get("template_card_event")).get("event_key")
            event_key = key if _filled(key) else None
            text = event_key  # a card button "参团 ABC123" routes like the typed command
    elif msg_type in ("text", "mixed", "voice", "image", "file"):
        text = _bot_text(payload)
    else:
        return None
    response_url = payload.get("response_url")
    return Update(
        platform=Platform.WECOM_BOT,
        chat_id=chat_id,
        chat_type=ChatType.GROUP if group else ChatType.SINGLE,
        sender=sender,
        msg_id=msg_id,
        created_at=_when(payload.get("create_time"), now),
        text=text,
        event=event,
        event_key=event_key,
        response_url=response_url if isinstance(response_url, str) else None,
        raw=payload,
    )
