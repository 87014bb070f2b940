"""A ``Card`` as the WeCom intelligent bot's template card (WECHAT.md 10.3.4) or markdown."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qunshop.chat import Card

_OPEN_URL = 1  # card_action type 1: open a URL
_NOT_IN_TASK_ID = re.compile(r"[^0-9A-Za-z_\-@]")


def task_id(prefix: str, unique: str) -> str:
    """A card task id: unique per bot, [0-9A-Za-z_-@], at most 128 bytes."""
    return f"{prefix}_{_NOT_IN_TASK_ID.sub('', unique)}"[:128]


def fit(text: str, limit: int) -> str:
    """``text`` in ``limit`` characters, cut between its `` · `` fields where it can: a card's
    description leads with what matters (the team code), and a code cut in half misleads."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" · ", 0, limit + 1)
    return text[:cut] if cut > 0 else text[:limit]


def template_card(card: Card, task_id: str) -> dict[str, Any]:
    """A button card when the card names the command its button sends (a team's 参团 <code>);
    else a news or text notice, opened by its link."""
    base: dict[str, Any] = {
        "main_title": {"title": card.title[:36], "desc": fit(card.description, 44)},
        "card_action": {"type": _OPEN_URL, "url": card.url},
    }
    if card.command is not None:
        return {
            "card_type": "button_interaction",
            **base,
            "task_id": task_id,
            "button_list": [{"text": card.button_text[:10], "style": 1, "key": card.command}],
        }
    if card.picture_url:
        return {
            "card_type": "news_notice",
            **base,
            "card_image": {"url": card.picture_url, "aspect_ratio": 1.3},
        }
    return {"card_type": "text_notice", **base, "sub_title_text": card.description}


def markdown(card: Card) -> str:
    """The card as stream text, for clients that show the stream above the card."""
    return f"**{card.title}**\n{card.description}\n[{card.button_text}]({card.url})"
