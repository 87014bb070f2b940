"""Passive XML replies (OA and WeCom app): Text as a text reply, Card as a one-article news."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wechatpy import replies as oa_replies
from wechatpy.enterprise import replies as wecom_replies

from qunshop.chat import Card, Platform, Text

if TYPE_CHECKING:
    from qunshop.chat import Reply, Update


def _article(card: Card) -> dict[str, str]:
    # wechatpy's key for PicUrl is "image". One article: WeChat shows only the first one
    # when the reply answers a user's message.
    return {
        "title": card.title,
        "description": card.description,
        "image": card.picture_url,
        "url": card.url,
    }


def render_xml(update: Update, reply: Reply, now: int) -> str:
    """The reply XML, From and To swapped; ``now`` is the reply's CreateTime."""
    module: Any = oa_replies if update.platform is Platform.WECHAT else wecom_replies
    fields: dict[str, Any] = {
        "source": str(update.raw.get("ToUserName") or ""),
        "target": update.sender,
        "time": now,
    }
    if update.platform is Platform.WECOM:
        agent = str(update.raw.get("AgentID") or "")
        fields["agent"] = int(agent) if agent.isdigit() else 0
    if isinstance(reply, Text):
        return module.TextReply(content=reply.content, **fields).render()
    if isinstance(reply, Card):
        # Always pass the list: ArticlesReply.add_article appends to a shared default list.
        return module.ArticlesReply(articles=[_article(reply)], **fields).render()
    raise TypeError(f"no XML rendering for {type(reply).__name__}")
