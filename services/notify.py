"""How services and the clock speak in chat: a "chat.send" outbox row, sent after the commit.

Messages are platform-neutral dicts; the messenger (bot/messenger.py) renders them for each
platform when the outbox sends the row:

- ``{"type": "text", "text": ...}``
- ``{"type": "markdown", "text": ...}`` (plain text where a platform has no markdown)
- ``{"type": "card", "title", "description", "url", "picture_url", "button_text",
  "mini_program_path"}``

A payload names its channel in ``via`` (one of ``VIAS``) and carries what that channel needs.
Each function enqueues in the caller's transaction (or its own, when there is none) and
answers True when the message is queued, now or by an earlier call with the same key.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from models.chat import ChatIdentity
from models.community import Community
from models.user import User
from qunshop.chat import Platform
from services import outbox

logger = logging.getLogger(__name__)

KIND = "chat.send"
# Customer-service messages reach a user only within 48 hours of their last message.
SERVICE_WINDOW = timedelta(hours=48)

VIA_CUSTOM = "custom"  # customer service to a WeChat openid
VIA_SUBSCRIBE = "subscribe"  # a mini-program subscribe message
VIA_WECOM_APP = "wecom_app"  # the WeCom self-built app to a userid
VIA_ROBOT = "robot"  # a WeCom group robot webhook
VIA_RESPONSE_URL = "response_url"  # the WeCom intelligent bot's one-shot later answer
VIAS = frozenset({VIA_CUSTOM, VIA_SUBSCRIBE, VIA_WECOM_APP, VIA_ROBOT, VIA_RESPONSE_URL})

CARD_FIELDS = ("title", "description", "url", "picture_url", "button_text", "mini_program_path")
DEDUPE_MAX = 128  # OutboxMessage.dedupe_key


def text(content: str) -> dict[str, Any]:
    return {"type": "text", "text": content}


def card(
    *,
    title: str,
    description: str,
    url: str,
    picture_url: str = "",
    button_text: str = "去看看",
    mini_program_path: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "card",
        "title": title,
        "description": description,
        "url": url,
        "picture_url": picture_url,
        "button_text": button_text,
        "mini_program_path": mini_program_path,
    }


def check_message(message: dict[str, Any]) -> dict[str, Any]:
    """The message with every field present; ValueError for a shape no platform can send."""
    kind = message.get("type")
    if kind in ("text", "markdown"):
        if not isinstance(message.get("text"), str) or not message["text"]:
            raise ValueError(f"a {kind} message needs a non-empty 'text'")
        return {"type": kind, "text": message["text"]}
    if kind == "card":
        if not message.get("title") or not message.get("url"):
            raise ValueError("a card needs 'title' and 'url'")
        return card(**{name: message[name] for name in CARD_FIELDS if name in message})
    raise ValueError(f"unknown message type {kind!r}")


def outbox_key(prefix: str, dedupe_key: str) -> str:
    key = f"{prefix}:{dedupe_key}"
    if len(key) <= DEDUPE_MAX:
        return key
    return f"{prefix}:sha256:{hashlib.sha256(dedupe_key.encode()).hexdigest()}"


async def queue(payload: dict[str, Any], *, dedupe_key: str, now: datetime) -> bool:
    """Enqueue a ready payload; False if this key was already queued."""
    if payload.get("via") not in VIAS:
        raise ValueError(f"unknown channel {payload.get('via')!r}")
    return await outbox.enqueue(KIND, payload, dedupe_key=dedupe_key, now=now)


async def to_group(
    *, community: Community, message: dict[str, Any], dedupe_key: str, now: datetime
) -> bool:
    """Post into the community's group chat through its WeCom group robot."""
    if not community.robot_key:
        logger.info(
            "community %s has no group robot: message %s not sent", community.id, dedupe_key
        )
        return False
    payload = {
        "via": VIA_ROBOT,
        "key": community.robot_key,
        # The daily quota is counted per group chat.
        "group": community.chat_id or f"community:{community.id}",
        "message": check_message(message),
    }
    await queue(payload, dedupe_key=outbox_key("notify:group", dedupe_key), now=now)
    return True


# The channel that reaches each chat platform's user alone, and whether it needs the user to
# have written recently: the Official Account's customer-service message does (48 h), the
# WeCom self-built app's message to a member's userid does not.
DIRECT = {
    Platform.WECHAT.value: (VIA_CUSTOM, True),
    Platform.WECOM.value: (VIA_WECOM_APP, False),
    Platform.WECOM_BOT.value: (VIA_WECOM_APP, False),
}


_NEVER = datetime.min.replace(tzinfo=UTC)


def _reaches(identity: ChatIdentity, now: datetime) -> bool:
    direct = DIRECT.get(identity.platform)
    if direct is None:
        return False
    if not direct[1]:
        return True
    return identity.last_seen_at is not None and identity.last_seen_at >= now - SERVICE_WINDOW


async def channel_for(user_id: Any, now: datetime) -> ChatIdentity | None:
    """The chat identity a message to the user alone goes to: of those that can reach them
    now, the one they used last. None: no chat reaches them."""
    found = await ChatIdentity.filter(user_id=user_id, platform__in=list(DIRECT))
    reaching = [i for i in found if _reaches(i, now)]
    # Never seen (None) counts as least recent; PostgreSQL would sort it first.
    return max(reaching, key=lambda i: i.last_seen_at or _NEVER, default=None)


async def reachable(user_ids: list[Any], now: datetime) -> set[Any]:
    """Which of these users a message alone reaches in chat now (``to_user`` would queue)."""
    found = await ChatIdentity.filter(user_id__in=user_ids, platform__in=list(DIRECT))
    return {i.user_id for i in found if _reaches(i, now)}


async def to_user(
    *, user: User, message: dict[str, Any], dedupe_key: str, now: datetime
) -> str | None:
    """A message to the user alone, in the chat they last used that can reach them: the
    Official Account if they wrote within 48 h, WeCom (the app message) at any time. One
    message, not one per channel: the same news twice is noise. Returns the channel (one of
    ``VIAS``), or None when no chat reaches them."""
    identity = await channel_for(user.id, now)
    if identity is None:
        logger.info(
            "user %s has no chat identity that reaches them now: message %s not sent",
            user.id,
            dedupe_key,
        )
        return None
    via = DIRECT[identity.platform][0]
    payload = {"via": via, "to": identity.external_id, "message": check_message(message)}
    await queue(payload, dedupe_key=outbox_key("notify:user", dedupe_key), now=now)
    return via


async def subscribe(
    *,
    user: User,
    template_id: str,
    page: str,
    data: dict[str, Any],
    dedupe_key: str,
    now: datetime,
) -> bool:
    """A mini-program subscribe message; ``data`` is ``{key: value}`` or ``{key: {"value"}}``."""
    # Users first met in chat carry a synthetic "platform:id" openid, not a mini-program one.
    if not user.openid or ":" in user.openid:
        logger.info("user %s has no mini-program openid: message %s not sent", user.id, dedupe_key)
        return False
    payload = {
        "via": VIA_SUBSCRIBE,
        "to": user.openid,
        "template_id": template_id,
        "page": page,
        "data": {
            name: value if isinstance(value, dict) else {"value": str(value)}
            for name, value in data.items()
        },
    }
    await queue(payload, dedupe_key=outbox_key("notify:subscribe", dedupe_key), now=now)
    return True
