"""render_xml fills templates made from wechatpy's own rendering: the bytes must be wechatpy's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from wechatpy import replies as oa_replies
from wechatpy.enterprise import replies as wecom_replies

from bot.safexml import parse_xml
from bot.xml_replies import render_xml
from qunshop.chat import Card, ChatType, Platform, Text, Update

TRICKY = [
    "帮助\n团购 (deals) — 看本群正在进行的拼团",
    "",
    "{} {0} {content} {{x}} %s %(a)s",
    "\x00content\x00 <![CDATA[ & < >",
    "9100000000000000001",
]


def _update(platform: Platform, raw: dict[str, Any]) -> Update:
    return Update(
        platform=platform,
        chat_id="o6_bm",
        chat_type=ChatType.SINGLE,
        sender="o6_bm",
        msg_id="1",
        created_at=datetime.now(tz=UTC),
        raw=raw,
    )


def _wechatpy(platform: Platform, raw: dict[str, Any], reply: Text | Card, now: int) -> str:
    """What render_xml rendered through wechatpy's reply classes for every reply."""
    module: Any = oa_replies if platform is Platform.WECHAT else wecom_replies
    fields: dict[str, Any] = {"source": raw.get("ToUserName") or "", "target": "o6_bm", "time": now}
    if platform is Platform.WECOM:
        agent = str(raw.get("AgentID") or "")
        fields["agent"] = int(agent) if agent.isdecimal() else 0
    if isinstance(reply, Text):
        return module.TextReply(content=reply.content, **fields).render()
    article = {
        "title": reply.title,
        "description": reply.description,
        "image": reply.picture_url,
        "url": reply.url,
    }
    return module.ArticlesReply(articles=[article], **fields).render()


@pytest.mark.parametrize("platform", [Platform.WECHAT, Platform.WECOM])
@pytest.mark.parametrize("content", TRICKY)
def test_text_is_wechatpys_bytes(platform: Platform, content: str) -> None:
    for raw in ({"ToUserName": "gh_0123456789ab", "AgentID": "1000002"}, {}, {"AgentID": "x"}):
        update = _update(platform, raw)
        reply = Text(content)
        assert render_xml(update, reply, 1714036505) == _wechatpy(platform, raw, reply, 1714036505)


@pytest.mark.parametrize("platform", [Platform.WECHAT, Platform.WECOM])
@pytest.mark.parametrize("words", TRICKY)
def test_card_is_wechatpys_bytes(platform: Platform, words: str) -> None:
    raw = {"ToUserName": "ww{corp}", "AgentID": "1000002"}
    update = _update(platform, raw)
    for card in (
        Card(title=words, description=words, url=f"https://x.example/?q={words}"),
        Card(title="拼团", description="", url="https://x.example/t", picture_url=words),
    ):
        assert render_xml(update, card, 1714036505) == _wechatpy(platform, raw, card, 1714036505)


def test_wecom_bot_gets_the_wecom_classes_without_an_agent() -> None:
    update = _update(Platform.WECOM_BOT, {"AgentID": "7"})
    assert "<AgentID>0</AgentID>" in render_xml(update, Text("x"), 1)


@pytest.mark.parametrize("platform", [Platform.WECHAT, Platform.WECOM])
def test_a_cdata_end_in_a_value_still_makes_xml_that_reads_back(platform: Platform) -> None:
    """wechatpy writes "]]>" as it is, which ends the CDATA section early: split instead."""
    tricky = "a]]>b ]]]]> <![CDATA[ & ]]"
    update = _update(platform, {"ToUserName": "gh_]]>x"})
    for reply in (Text(tricky), Card(title=tricky, description=tricky, url="https://x/?a=]]>")):
        fields = parse_xml(render_xml(update, reply, 1714036505))  # refuses what is not XML
        assert fields["FromUserName"] == "gh_]]>x"
        if isinstance(reply, Text):
            assert fields["Content"] == tricky
        else:
            article = fields["Articles"]["item"]
            assert (article["Title"], article["Description"]) == (tricky, tricky)
            assert article["Url"] == "https://x/?a=]]>"


def test_an_agent_id_of_non_ascii_digits_is_not_an_error() -> None:
    update = _update(Platform.WECOM, {"AgentID": "²"})
    assert "<AgentID>0</AgentID>" in render_xml(update, Text("x"), 1)
