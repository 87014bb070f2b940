"""/bot/wechat: the Official Account push in plain and safe mode, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import xmltodict
from aiohttp.test_utils import TestClient

from models.chat import Follow
from qunshop.chat import Card, ChatType, Platform
from qunshop.clock import FrozenClock
from tests.bot.conftest import MakeClient, Recorder
from tests.bot.helpers import OA, OA_ACCOUNT, OPENID, now_ts, oa_event, oa_text, oa_xml


def _reply(xml: str) -> dict[str, str]:
    return xmltodict.parse(xml)["xml"]


async def test_url_verification_with_the_documented_example(make_client: MakeClient) -> None:
    # The mini-program push example: token AAAAA, answered with the echostr verbatim.
    clock = FrozenClock(datetime.fromtimestamp(1714036504, tz=UTC))
    client = await make_client(clock=clock, wechat_token="AAAAA")
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    resp = await client.get("/bot/wechat", params=query)
    assert resp.status == 200 and await resp.text() == "4375120948345356249"
    bad = await client.get("/bot/wechat", params={**query, "signature": "f" * 40})
    assert bad.status == 403


async def test_plain_mode_help(bot_client: TestClient, recorder: Recorder) -> None:
    resp = await OA(bot_client).post(oa_text("帮助"))
    assert resp.status == 200 and resp.content_type == "application/xml"
    reply = _reply(await resp.text())
    assert reply["MsgType"] == "text" and "参团" in reply["Content"]
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == OA_ACCOUNT
    [update] = recorder.calls
    assert update.platform is Platform.WECHAT and update.chat_type is ChatType.SINGLE
    assert update.sender == update.chat_id == OPENID and update.text == "帮助"


async def test_safe_mode_help_is_answered_encrypted(bot_client: TestClient) -> None:
    oa = OA(bot_client)
    resp = await oa.post_safe(oa_text("help"))
    assert resp.status == 200
    envelope = _reply(await resp.text())
    assert "Content" not in envelope and envelope["Encrypt"]
    reply = _reply(oa.open(await resp.text()))  # checks MsgSignature as WeChat would
    assert reply["MsgType"] == "text" and "参团" in reply["Content"]


async def test_safe_mode_checks_msg_signature_not_signature(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    ts = now_ts()
    query, body = oa.seal(oa_text("help"), ts, "123")
    query["msg_signature"] = query["signature"]  # the classic mix-up
    resp = await bot_client.post("/bot/wechat", params=query, data=body)
    assert resp.status == 403 and recorder.calls == []


async def test_follow_through_a_parametric_qr_code(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    xml = oa_event("subscribe", "qrscene_invite_42", Ticket="gQH47joAAAAAAAAAASxod")
    resp = await oa.post_safe(xml)
    assert resp.status == 200
    assert "欢迎" in _reply(oa.open(await resp.text()))["Content"]  # the handlers' welcome
    [update] = recorder.calls
    assert update.event == "subscribe" and update.event_key == "qrscene_invite_42"
    assert update.msg_id == "" and update.text is None
    assert update.dedupe_key.startswith("wechat:evt:")
    follow = await Follow.get(external_id=OPENID)
    assert follow.event == "subscribe" and "invite_42" in (follow.scene or "")


async def test_scan_unsubscribe_and_a_menu_click(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    await oa.post(oa_event("SCAN", "invite_42", Ticket="t", sender="o_scan"))
    await oa.post(oa_event("unsubscribe", sender="o_gone"))
    resp = await oa.post(oa_event("CLICK", "help", sender="o_menu"))
    scan, gone, click = recorder.calls
    assert (scan.event, scan.event_key) == ("SCAN", "invite_42")
    assert (gone.event, gone.event_key) == ("unsubscribe", None)
    assert (click.event, click.event_key, click.text) == ("CLICK", "help", "help")
    assert "参团" in _reply(await resp.text())["Content"]  # the menu key routed as a command


async def test_unknown_message_type_is_acknowledged(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    for xml in (oa_xml("hologram", Payload="x"), oa_event("subscribe_msg_popup_event")):
        resp = await oa.post(xml)
        assert resp.status == 200 and await resp.text() == "success"
    assert recorder.calls == []


async def test_a_card_becomes_one_news_article(bot_client: TestClient, recorder: Recorder) -> None:
    recorder.answer = lambda update: Card(
        title="3 人团 · 土鸡蛋",
        description="还差 1 人",
        url="https://shop.example/t/ABC123",
        picture_url="https://shop.example/egg.jpg",
    )
    reply = _reply(await (await OA(bot_client).post(oa_text("邀请"))).text())
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"
    item = reply["Articles"]["item"]
    assert item["Title"] == "3 人团 · 土鸡蛋" and item["PicUrl"] == "https://shop.example/egg.jpg"
    assert item["Url"] == "https://shop.example/t/ABC123"


async def test_missing_or_wrong_signatures_are_refused(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    ts = now_ts()
    good = oa.query(ts, "77")
    cases = [
        {},
        {"timestamp": ts, "nonce": "77"},
        {**good, "signature": "0" * 40},
        {**good, "nonce": "78"},
        {**good, "signature": good["signature"].upper()},
    ]
    for query in cases:
        resp = await bot_client.post("/bot/wechat", params=query, data=oa_text("help"))
        assert resp.status == 403, query
    assert (await bot_client.get("/bot/wechat", params={"echostr": "1"})).status == 403
    assert recorder.calls == []


async def test_replay_window(make_client: MakeClient, recorder: Recorder) -> None:
    client = await make_client(webhook_replay_window=60)
    oa = OA(client)
    stale = str(int(now_ts()) - 61)
    future = str(int(now_ts()) + 120)
    for ts in (stale, future, "not-a-time"):
        resp = await oa.post(oa_text("help"), ts=ts)
        assert resp.status == 403
    resp = await oa.post(oa_text("help"), ts=str(int(now_ts()) - 30))
    assert resp.status == 200
    assert len(recorder.calls) == 1


async def test_a_plain_mode_query_signs_one_body_only(
    bot_client: TestClient, recorder: Recorder
) -> None:
    """Plain mode's signature covers the query, not the body: a captured query was good for
    any body for the whole replay window."""
    oa = OA(bot_client)
    query = {**oa.query(now_ts(), "4242"), "openid": "o-victim"}
    first = oa_text("help")
    assert (await bot_client.post("/bot/wechat", params=query, data=first)).status == 200
    # the platform retrying the same delivery is still answered (and deduplicated)
    assert (await bot_client.post("/bot/wechat", params=query, data=first)).status == 200
    forged = oa_text("orders")  # a new MsgId: past the message dedup
    assert (await bot_client.post("/bot/wechat", params=query, data=forged)).status == 403
    assert [u.text for u in recorder.calls] == ["help"]
