from __future__ import annotations

from handlers import build_router
from handlers.routing import Command
from models.chat import ChatIdentity
from models.user import Role
from qunshop.chat import Platform, Text
from tests.handlers.conftest import Say
from tests.support.factories import make_user


async def test_help_in_chinese_and_english(say: Say) -> None:
    for word in ("帮助", "help", "/help", "HELP"):
        reply = await say(word)
        assert isinstance(reply, Text)
        assert "参团" in reply.content and "团长命令" not in reply.content


async def test_a_greeting_is_answered_with_help(say: Say) -> None:
    """A newcomer's first words are often a greeting: not 「没听懂「你好」」."""
    for word in ("你好", "您好", "在吗", "hi", "Hello"):
        reply = await say(word, chat_id=None)
        assert isinstance(reply, Text) and "可以这样对我说" in reply.content, (word, reply)


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


async def test_help_names_every_command(say: Say) -> None:
    """Each command the bot takes is in 帮助, a shopper's or a leader's, under one of its
    English names, so nobody has to find 砍价购买 or 评价 by chance."""
    leader = await make_user(Role.LEADER)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="wang", user=leader)
    leaders = await say("帮助", sender="wang", chat_id=None)
    shoppers = await say("帮助", sender="li", chat_id=None)
    assert isinstance(leaders, Text) and "团长命令" in leaders.content
    assert isinstance(shoppers, Text) and "团长命令" not in shoppers.content
    helped = leaders.content + shoppers.content
    missing = []
    for filters, _ in build_router().walk():
        command = filters[0] if filters and isinstance(filters[0], Command) else None
        if command is None or "help" in command.names:
            continue
        if not any(f"({name})" in helped for name in command.names):
            missing.append(sorted(command.names))
    assert not missing, missing


async def test_english_and_everyday_names_for_orders_after_sales_and_bargains(
    say: Say,
) -> None:
    for word in ("myorders", "my-orders", "order", "订单", "查订单"):
        reply = await say(word, sender="li", chat_id=None)
        assert isinstance(reply, Text) and "你还没有订单" in reply.content, (word, reply)
    for word in ("refund", "after-sale", "退款"):
        reply = await say(word, sender="li", chat_id=None)
        assert isinstance(reply, Text) and "可以申请售后" in reply.content, (word, reply)
    for word in ("我的砍价", "mybargains"):
        reply = await say(word, sender="li", chat_id=None)
        assert isinstance(reply, Text) and "现在没有可以砍价的商品" in reply.content, (word, reply)


async def test_everyday_names_for_pickup_codes_and_points(say: Say) -> None:
    for word in ("取货", "提货", "我的取货码", "我的提货码", "提货码"):
        reply = await say(word, sender="li", chat_id=None)
        assert isinstance(reply, Text) and "没有待提货的订单" in reply.content, (word, reply)
    mine, points = await say("我的积分", sender="li"), await say("积分", sender="li")
    assert isinstance(mine, Text) and isinstance(points, Text)
    assert mine.content == points.content


async def test_join_without_a_code_says_where_codes_are(say: Say) -> None:
    reply = await say("参团", sender="li")
    assert isinstance(reply, Text) and "用法：参团 <团码>" in reply.content
    assert "发送「团购」看看" in reply.content, reply
