"""/bot/wecom-bot: the intelligent bot in a group, from the first stream frame to finish=true."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp.test_utils import TestClient

from bot.streams import PENDING_TEXT
from qunshop.chat import Card, ChatType, Platform, Text
from tests.bot.conftest import FakeMessenger, MakeClient, Recorder
from tests.bot.helpers import WeComBot, nonce, now_ts, sign

TEAM_CARD = Card(
    title="3 人团 · 土鸡蛋",
    description="还差 1 人成团",
    url="https://shop.example/t/ABC123",
    button_text="参团",
    mini_program_path="pages/team/index?code=ABC123",
    command="参团 ABC123",
)
# Cards whose links carry a code that is not a team's: a friend's bargain (帮砍 is typed
# with its code, in the mini-program or the chat) and a coupon's page.
BARGAIN_CARD = Card(
    title="帮我砍一刀 · 土鸡蛋",
    description="已砍 3 刀，还差 ¥4.20",
    url="https://shop.example/h5/bargains/K7QW2M?code=K7QW2M",
    picture_url="https://img.example/eggs.jpg",
    button_text="帮砍",
    mini_program_path="pages/bargain/index?code=K7QW2M",
)
COUPON_CARD = Card(
    title="新券来了：满 50 减 5",
    description="在群里发送「领券」查看",
    url="https://shop.example/h5/coupons?code=C0UP0N",
    mini_program_path="pages/coupon/index?code=C0UP0N&s=SHARER",
)


async def test_url_verification_with_a_raw_plus(bot_client: TestClient) -> None:
    bot = WeComBot(bot_client)
    ts, n = now_ts(), nonce()
    echostr = ""
    while "+" not in echostr:  # ciphertexts are random; find one that shows the quirk
        query, echostr = bot.sealed_query("9876543210", ts, n)
    encoded = await bot_client.get("/bot/wecom-bot", params={**query, "echostr": echostr})
    assert encoded.status == 200 and await encoded.text() == "9876543210"
    raw = "&".join(f"{k}={v}" for k, v in query.items()) + f"&echostr={quote(echostr, safe='+/')}"
    unescaped = await bot_client.get(f"/bot/wecom-bot?{raw}")
    assert unescaped.status == 200 and await unescaped.text() == "9876543210"
    forged = {**query, "echostr": echostr, "msg_signature": sign("other", ts, n, echostr)}
    assert (await bot_client.get("/bot/wecom-bot", params=forged)).status == 403


async def test_group_conversation_streams_to_the_end(
    make_client: MakeClient, recorder: Recorder
) -> None:
    client = await make_client(chat_reply_budget=0.2)
    recorder.delay = 0.5  # slower than the first-frame budget
    bot = WeComBot(client)
    message = bot.text("@群团购助手\u2005帮助", chat_id="wrkGroup1")
    first = await bot.reply(message)
    assert first is not None and first["msgtype"] == "stream"
    stream = first["stream"]
    assert stream["finish"] is False and stream["content"] == PENDING_TEXT and stream["id"]

    again = await bot.reply(message)  # a re-delivery gets the same stream, not a new dispatch
    assert again is not None and again["stream"]["id"] == stream["id"]

    frames = []
    for _ in range(50):
        frame = await bot.reply(bot.refresh(stream["id"], chat_id="wrkGroup1"))
        assert frame is not None and frame["msgtype"] == "stream"
        assert frame["stream"]["id"] == stream["id"]
        frames.append(frame["stream"])
        if frame["stream"]["finish"]:
            break
        await asyncio.sleep(0.05)
    final = frames[-1]
    assert final["finish"] is True and "参团" in final["content"]
    assert all(f["content"] == PENDING_TEXT for f in frames[:-1])

    [update] = recorder.calls
    assert update.platform is Platform.WECOM_BOT and update.chat_type is ChatType.GROUP
    assert update.chat_id == "wrkGroup1" and update.sender == "zhangsan"
    assert update.text == "帮助"  # the @mention is gone
    assert update.msg_id == message["msgid"] and update.response_url == message["response_url"]


async def test_a_quick_answer_finishes_in_the_first_frame(
    bot_client: TestClient, recorder: Recorder
) -> None:
    bot = WeComBot(bot_client)
    first = await bot.reply(bot.text("help", chat_id=None, sender="lisi"))
    assert first is not None
    assert first["stream"]["finish"] is True and "参团" in first["stream"]["content"]
    [update] = recorder.calls
    assert update.chat_type is ChatType.SINGLE and update.chat_id == "lisi"
    assert update.text == "help"


async def test_an_unknown_stream_is_closed(bot_client: TestClient, recorder: Recorder) -> None:
    bot = WeComBot(bot_client)
    frame = await bot.reply(bot.refresh("no-such-stream"))
    assert frame is not None and frame["stream"] == {
        "id": "no-such-stream",
        "finish": True,
        "content": frame["stream"]["content"],
    }
    assert frame["stream"]["content"] and recorder.calls == []


async def test_concurrent_redeliveries_dispatch_once(
    bot_client: TestClient, recorder: Recorder
) -> None:
    recorder.delay = 0.1
    bot = WeComBot(bot_client)
    message = bot.text("@bot 帮助")
    frames = await asyncio.gather(*(bot.reply(message) for _ in range(3)))
    assert len({f["stream"]["id"] for f in frames if f}) == 1
    assert len(recorder.calls) == 1
    assert sum(1 for f in frames if f and "参团" in f["stream"]["content"]) >= 1


async def test_a_card_answer_carries_a_join_button_once(
    bot_client: TestClient, recorder: Recorder
) -> None:
    recorder.answer = lambda update: TEAM_CARD
    bot = WeComBot(bot_client)
    message = bot.text("@bot 邀请")
    first = await bot.reply(message)
    assert first is not None and first["msgtype"] == "stream_with_template_card"
    card = first["template_card"]
    assert card["card_type"] == "button_interaction" and card["task_id"]
    assert card["button_list"][0]["key"] == "参团 ABC123"
    assert card["card_action"] == {"type": 1, "url": "https://shop.example/t/ABC123"}
    assert first["stream"]["finish"] is True
    again = await bot.reply(message)  # the card goes out once per message
    assert again is not None and again["msgtype"] == "stream"


async def test_a_card_with_another_code_in_its_links_gets_no_join_button(
    bot_client: TestClient, recorder: Recorder
) -> None:
    """Only a team card sends 参团: a bargain's or a coupon's code in a link is not a team's
    code, and 参团 <it> answered "no such team". Such cards open their page."""
    bot = WeComBot(bot_client)
    recorder.answer = lambda update: BARGAIN_CARD
    bargain = await bot.reply(bot.text("@bot 砍价"))
    assert bargain is not None and bargain["msgtype"] == "stream_with_template_card"
    card = bargain["template_card"]
    assert card["card_type"] == "news_notice" and "button_list" not in card
    assert card["card_action"] == {"type": 1, "url": BARGAIN_CARD.url}
    recorder.answer = lambda update: COUPON_CARD
    coupon = await bot.reply(bot.text("@bot 领券"))
    assert coupon is not None and coupon["template_card"]["card_type"] == "text_notice"
    assert "参团" not in str(coupon["template_card"])
    recorder.answer = lambda update: COUPON_CARD
    welcome = await bot.reply(bot.event("enter_chat"))
    assert welcome is not None and welcome["template_card"]["card_type"] == "text_notice"


async def test_enter_chat_welcome(bot_client: TestClient, recorder: Recorder) -> None:
    bot = WeComBot(bot_client)
    welcome = await bot.reply(bot.event("enter_chat"))  # the handlers' own welcome
    assert welcome is not None and welcome["msgtype"] == "text"
    assert "欢迎" in welcome["text"]["content"]
    recorder.answer = lambda update: None
    assert await bot.reply(bot.event("enter_chat")) is None  # no welcome: an empty answer
    recorder.answer = lambda update: Text("欢迎来到群团购助手！发送「帮助」看看我能做什么。")
    welcome = await bot.reply(bot.event("enter_chat"))
    assert welcome == {
        "msgtype": "text",
        "text": {"content": "欢迎来到群团购助手！发送「帮助」看看我能做什么。"},
    }
    recorder.answer = lambda update: TEAM_CARD
    card = await bot.reply(bot.event("enter_chat"))
    assert card is not None and card["msgtype"] == "template_card"
    assert [u.event for u in recorder.calls] == ["enter_chat"] * 4


async def test_a_card_button_routes_like_the_command(
    bot_client: TestClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    bot = WeComBot(bot_client)
    click = bot.event(
        "template_card_event",
        {"card_type": "button_interaction", "event_key": "参团 ABC123", "task_id": "card_x"},
        response_url="https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=R2",
    )
    assert await bot.reply(click) is None  # acknowledged at once
    await messenger.wait()
    [update] = recorder.calls
    assert update.event == "template_card_event" and update.text == "参团 ABC123"
    [(delivered_to, reply)] = messenger.delivered
    assert delivered_to.response_url and isinstance(reply, Text)
    assert await bot.reply(click) is None and len(recorder.calls) == 1


async def test_feedback_and_unknown_types_are_acknowledged(
    bot_client: TestClient, recorder: Recorder
) -> None:
    bot = WeComBot(bot_client)
    assert await bot.reply(bot.event("feedback_event", {"id": "f1", "type": 1})) is None
    assert await bot.reply({**bot.text("x"), "msgtype": "hologram"}) is None
    assert recorder.calls == []
