from __future__ import annotations

from models.chat import ChatIdentity
from qunshop.chat import Text
from tests.handlers.conftest import Say


async def test_help_in_chinese_and_english(say: Say) -> None:
    for word in ("帮助", "help", "/help", "HELP"):
        reply = await say(word)
        assert isinstance(reply, Text)
        assert "参团" in reply.content and "团长命令" not in reply.content


async def test_unknown_text_gets_short_help(say: Say) -> None:
    reply = await say("今天天气怎么样", chat_id=None)
    assert isinstance(reply, Text)
    assert "今天天气怎么样" in reply.content and "帮助" in reply.content


async def test_unknown_text_is_not_repeated_into_a_group(say: Say) -> None:
    reply = await say("加我微信看看")
    assert isinstance(reply, Text)
    assert "微信" not in reply.content and "帮助" in reply.content


async def test_unknown_event_is_acknowledged_silently(say: Say) -> None:
    assert await say(event="some_new_event") is None


async def test_sender_becomes_a_user_once(say: Say) -> None:
    await say("help", sender="lisi")
    await say("help", sender="lisi")
    assert await ChatIdentity.filter(external_id="lisi").count() == 1


async def test_rate_limit_per_sender(say: Say) -> None:
    replies = [await say("help", sender="spammer") for _ in range(22)]
    assert "太快" in replies[-1].content
    assert "太快" not in (await say("help", sender="calm")).content


async def test_a_new_leader_finds_their_way_from_help(say: Say) -> None:
    """Help names 认证 for the leader not yet known in chat, a leader's refusal says how to be
    known, and a leader's help names 后台, where campaigns are made."""
    shopper_help = await say("帮助", sender="newcomer")
    assert isinstance(shopper_help, Text) and "认证 <认证码>" in shopper_help.content
    refused = await say("绑定", sender="newcomer", chat_id="group-new")
    assert isinstance(refused, Text) and "「认证 认证码」" in refused.content


async def test_an_empty_mention_gets_help(say: Say) -> None:
    """@群团购助手 with nothing after it is someone asking what the bot does."""
    for blank in ("", "   "):
        reply = await say(blank)
        assert isinstance(reply, Text) and "可以这样对我说" in reply.content
