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
