"""Passive XML replies (OA and WeCom app): Text as a text reply, Card as a one-article news.

Each reply kind is rendered once by wechatpy, with a marker where every value goes, and kept
as a ``str.format`` template: the same bytes as its per-reply render (its field descriptors
and converters, ~5 µs a reply), for a fraction of the cost. Values are filled in as wechatpy
fills them: strings verbatim inside CDATA, integers as decimals.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from wechatpy import replies as oa_replies
from wechatpy.enterprise import replies as wecom_replies

from qunshop.chat import Card, Platform, Text

if TYPE_CHECKING:
    from types import ModuleType

    from qunshop.chat import Reply, Update

# wechatpy's markup has no NUL and no numbers this long: each marks one value's place.
_NUMBERS = {"time": 9_100_000_000_000_000_001, "agent": 9_100_000_000_000_000_002}
_MARKER = re.compile("\x00([a-z]+)\x00")


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


def _template(reply: Any) -> str:
    xml = reply.render().replace("{", "{{").replace("}", "}}")
    for name, number in _NUMBERS.items():
        xml = xml.replace(str(number), "{" + name + "}")
    return _MARKER.sub(r"{\1}", xml)


def _templates(module: ModuleType, *, agent: bool) -> tuple[str, str]:
    """(text, one-article news) for one platform's reply classes."""
    fields: dict[str, Any] = {
        "source": _mark("source"),
        "target": _mark("target"),
        "time": _NUMBERS["time"],
    }
    if agent:
        fields["agent"] = _NUMBERS["agent"]
    # wechatpy's key for PicUrl is "image". One article: WeChat shows only the first one
    # when the reply answers a user's message.
    article = {key: _mark(key) for key in ("title", "description", "image", "url")}
    return (
        _template(module.TextReply(content=_mark("content"), **fields)),
        # Always pass the list: ArticlesReply.add_article appends to a shared default list.
        _template(module.ArticlesReply(articles=[article], **fields)),
    )


_OA = _templates(oa_replies, agent=False)
_WECOM = _templates(wecom_replies, agent=True)


def _cdata(value: str) -> str:
    """A value for inside a CDATA section: a "]]>" in it would end the section early (wechatpy
    writes it as it is, and the reply is then not XML). Split, it reads back unchanged."""
    return value.replace("]]>", "]]]]><![CDATA[>") if "]]>" in value else value


def render_xml(update: Update, reply: Reply, now: int) -> str:
    """The reply XML, From and To swapped; ``now`` is the reply's CreateTime."""
    text, news = _OA if update.platform is Platform.WECHAT else _WECOM
    agent = str(update.raw.get("AgentID") or "") if update.platform is Platform.WECOM else ""
    fields = {
        "source": _cdata(str(update.raw.get("ToUserName") or "")),
        "target": _cdata(update.sender),
        "time": int(now),
        # isdecimal, not isdigit: "²" is a digit that int() refuses
        "agent": int(agent) if agent.isdecimal() else 0,  # not in the OA's templates
    }
    if isinstance(reply, Text):
        return text.format(content=_cdata(reply.content), **fields)
    if isinstance(reply, Card):
        return news.format(
            title=_cdata(reply.title),
            description=_cdata(reply.description),
            image=_cdata(reply.picture_url),
            url=_cdata(reply.url),
            **fields,
        )
    raise TypeError(f"no XML rendering for {type(reply).__name__}")
