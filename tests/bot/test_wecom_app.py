"""/bot/wecom: the WeCom self-built app, checked against the official WXBizMsgCrypt sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import xmltodict

from qunshop.chat import ChatType, Platform
from qunshop.clock import FrozenClock
from tests.bot.conftest import MakeClient, Recorder
from tests.bot.helpers import WeComApp, sign

# A copy of shared/vectors/wechat_public_vectors.json's "wecom_callback".
VECTORS = json.loads((Path(__file__).parent / "wecom_sample_vector.json").read_text())[
    "wecom_callback"
]
SAMPLE_TIME = FrozenClock(datetime.fromtimestamp(int(VECTORS["message"]["timestamp"]), tz=UTC))


async def test_sample_vector_url_verification(make_client: MakeClient) -> None:
    client = await make_client(clock=SAMPLE_TIME)
    v = VECTORS["verify_url"]
    query = {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
    resp = await client.get("/bot/wecom", params=query)
    assert resp.status == 200
    assert await resp.text() == v["expected_plaintext"] == "1616140317555161061"


async def test_sample_vector_with_a_raw_plus_in_echostr(make_client: MakeClient) -> None:
    client = await make_client(clock=SAMPLE_TIME)
    v = VECTORS["verify_url"]
    assert "+" in v["echostr"]
    raw = "&".join(
        f"{k}={quote(v[k], safe='+/=') if k == 'echostr' else v[k]}"
        for k in ("msg_signature", "timestamp", "nonce", "echostr")
    )
    resp = await client.get(f"/bot/wecom?{raw}")
    assert resp.status == 200
    assert await resp.text() == "1616140317555161061"


async def test_sample_vector_message_decrypts_and_is_answered(
    make_client: MakeClient, recorder: Recorder
) -> None:
    client = await make_client(clock=SAMPLE_TIME)
    m = VECTORS["message"]
    query = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}
    resp = await client.post("/bot/wecom", params=query, data=m["body"])
    assert resp.status == 200
    [update] = recorder.calls
    expected = m["expected"]
    assert update.platform is Platform.WECOM and update.chat_type is ChatType.SINGLE
    assert update.sender == update.chat_id == expected["FromUserName"] == "mycreate"
    assert update.text == expected["Content"] == "hello"
    assert update.msg_id == expected["MsgId"]
    assert update.raw["AgentID"] == expected["AgentID"] == "218"
    # "hello" is a greeting: the help comes back, encrypted for WeCom.
    envelope = await resp.text()
    reply = xmltodict.parse(WeComApp(client).open(envelope))["xml"]
    assert reply["MsgType"] == "text" and reply["ToUserName"] == "mycreate"
    assert reply["FromUserName"] == "wx5823bf96d3bd56c7" and reply["AgentID"] == "218"
    assert reply["Content"].startswith("群团购助手 · 可以这样对我说：")


async def test_sample_vector_outside_the_replay_window_is_refused(
    make_client: MakeClient, recorder: Recorder
) -> None:
    client = await make_client()  # the real clock: the sample's 2014 timestamp is stale
    m = VECTORS["message"]
    query = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}
    resp = await client.post("/bot/wecom", params=query, data=m["body"])
    assert resp.status == 403
    assert recorder.calls == []


async def test_help_round_trip_and_a_forged_signature(
    make_client: MakeClient, recorder: Recorder
) -> None:
    client = await make_client()
    wecom = WeComApp(client)
    resp = await wecom.post(wecom.xml("帮助", sender="lisi"))
    reply = xmltodict.parse(wecom.open(await resp.text()))["xml"]
    assert "参团" in reply["Content"]
    v = VECTORS["verify_url"]
    forged = {**{k: v[k] for k in ("timestamp", "nonce", "echostr")}, "msg_signature": "0" * 40}
    assert (await client.get("/bot/wecom", params=forged)).status == 403
    unsigned = await client.post("/bot/wecom", params={"timestamp": v["timestamp"]}, data="<xml/>")
    assert unsigned.status == 403
    assert len(recorder.calls) == 1


async def test_signed_garbage_is_a_bad_request(make_client: MakeClient, recorder: Recorder) -> None:
    client = await make_client()
    wecom = WeComApp(client)
    ts, n, encrypt = str(int(datetime.now(tz=UTC).timestamp())), "42", "bm90IGEgY2lwaGVydGV4dA=="
    query = {"msg_signature": sign(wecom.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
    body = f"<xml><Encrypt>{encrypt}</Encrypt></xml>"
    resp = await client.post("/bot/wecom", params=query, data=body)
    assert resp.status == 400
    assert recorder.calls == []
