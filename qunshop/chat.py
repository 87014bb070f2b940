"""The chat door's vocabulary, shared by bot/ (transport) and handlers/ (commands).

Platform-neutral: a webhook turns its request into one ``Update``; a handler answers with a
``Reply``; the webhook renders that reply in its platform's own format.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Platform(StrEnum):
    WECHAT = "wechat"  # Official Account and mini-program customer service
    WECOM = "wecom"  # WeCom self-built app
    WECOM_BOT = "wecom_bot"  # WeCom intelligent bot, @-mentioned in group chats


class ChatType(StrEnum):
    SINGLE = "single"
    GROUP = "group"


@dataclass(frozen=True)
class Update:
    platform: Platform
    chat_id: str  # the group's chatid, or the sender's id in a single chat
    chat_type: ChatType
    sender: str  # the platform's user id (openid, WeCom userid)
    msg_id: str
    created_at: datetime
    text: str | None = None  # the message text, @mention stripped
    event: str | None = None  # subscribe, unsubscribe, SCAN, CLICK, enter_chat, ...
    event_key: str | None = None  # qrscene_..., a menu key, a card button key
    response_url: str | None = None  # WeCom bot: a one-shot URL for a later answer
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # The sender's messages in the current rate window, counted when the update was claimed.
    sender_count: int | None = field(default=None, compare=False)

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; sender plus time for events (WeChat gives events no MsgId)."""
        if self.msg_id:
            return f"{self.platform}:msg:{self.msg_id}"
        return f"{self.platform}:evt:{self.sender}:{int(self.created_at.timestamp())}:{self.event}"

    def to_payload(self) -> dict[str, Any]:
        """The update as JSON values, to be dispatched again later (``from_payload``)."""
        values = dataclasses.asdict(self)
        values["created_at"] = self.created_at.isoformat()
        return values

    @classmethod
    def from_payload(cls, values: dict[str, Any]) -> Update:
        return cls(
            **{
                **values,
                "platform": Platform(values["platform"]),
                "chat_type": ChatType(values["chat_type"]),
                "created_at": datetime.fromisoformat(values["created_at"]),
            }
        )

    def counted(self, sender_count: int) -> Update:
        """A copy carrying the sender's count."""
        return dataclasses.replace(self, sender_count=sender_count)


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class Card:
    """A share card: a news card on WeChat, a template card with a button on WeCom."""

    title: str
    description: str
    url: str  # H5 page, also the fallback link
    picture_url: str = ""
    button_text: str = "去看看"
    mini_program_path: str | None = None  # e.g. pages/team/index?code=ABC
    # What its button sends back as chat (a WeCom button card), named by whoever builds the
    # card: a code in a link says nothing about what the card is for (a bargain's is not a
    # team's). None: the card is a link, with no button.
    command: str | None = None


Reply = Text | Card


class Dispatch(Protocol):
    async def __call__(self, update: Update) -> Reply | None: ...
