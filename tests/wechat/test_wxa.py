"""wxacode.getUnlimited against the fake, and open data decrypted as WeChat encrypts it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.support.fake_wechat import WXA_PNG, FakeWeChat
from tests.support.growth import encrypt_open_data, new_session_key
from wechat import wxa

APPID = "wx1234567890test"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _marked(**extra: object) -> dict[str, object]:
    return {
        "opengid": "tG-group-1",
        "watermark": {"appid": APPID, "timestamp": int(NOW.timestamp())},
        **extra,
    }


def test_decrypts_what_wechat_encrypts() -> None:
    key = new_session_key()
    data, iv = encrypt_open_data(key, _marked(chat_type=3))
    opened = wxa.decrypt_open_data(session_key=key, iv=iv, encrypted_data=data)
    assert opened["opengid"] == "tG-group-1" and opened["chat_type"] == 3
    wxa.check_watermark(opened, appid=APPID, now=NOW + timedelta(seconds=30), max_age=600)


def test_a_stale_session_key_does_not_decrypt() -> None:
    data, iv = encrypt_open_data(new_session_key(), _marked())
    failures = 0
    for _ in range(20):  # a wrong key sometimes yields valid padding, never a JSON object
        try:
            wxa.decrypt_open_data(session_key=new_session_key(), iv=iv, encrypted_data=data)
        except wxa.OpenDataError as exc:
            assert not isinstance(exc, wxa.OpenDataFormatError)
            failures += 1
    assert failures == 20


@pytest.mark.parametrize(
    ("iv", "data"),
    [
        ("not base64!", "AAAAAAAAAAAAAAAAAAAAAA=="),
        (base64.b64encode(b"short").decode(), "AAAAAAAAAAAAAAAAAAAAAA=="),
        (base64.b64encode(bytes(16)).decode(), base64.b64encode(b"not blocks").decode()),
        (base64.b64encode(bytes(16)).decode(), ""),
    ],
)
def test_malformed_input_is_a_format_error(iv: str, data: str) -> None:
    with pytest.raises(wxa.OpenDataFormatError):
        wxa.decrypt_open_data(session_key=new_session_key(), iv=iv, encrypted_data=data)


def test_a_tampered_block_does_not_decrypt() -> None:
    key = new_session_key()
    data, iv = encrypt_open_data(key, _marked())
    raw = bytearray(base64.b64decode(data))
    raw[-1] ^= 0x55  # the padding block
    with pytest.raises(wxa.OpenDataError):
        wxa.decrypt_open_data(session_key=key, iv=iv, encrypted_data=base64.b64encode(raw).decode())


@pytest.mark.parametrize(
    ("mark", "when"),
    [
        ({"appid": "wxOTHERAPP", "timestamp": int(NOW.timestamp())}, NOW),
        ({"appid": APPID, "timestamp": int(NOW.timestamp())}, NOW + timedelta(minutes=11)),
        ({"appid": APPID, "timestamp": int(NOW.timestamp())}, NOW - timedelta(minutes=5)),
        ({"appid": APPID}, NOW),
        (None, NOW),
    ],
)
def test_watermark_must_be_ours_and_fresh(mark: object, when: datetime) -> None:
    with pytest.raises(wxa.WatermarkError):
        wxa.check_watermark({"watermark": mark}, appid=APPID, now=when, max_age=600)


def test_scene_charset() -> None:
    assert wxa.is_scene("ABC234XYZ" * 3 + "12345")  # 32
    assert not wxa.is_scene("A" * 33)
    assert not wxa.is_scene("a%20b")
    assert not wxa.is_scene("")
    assert wxa.is_scene("id=1&s=Z~.-_")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_get_unlimited_answers_the_image(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    fake.wechat_token = "TOKEN-1"
    image = await wxa.get_unlimited(
        http, base=base, token="TOKEN-1", scene="K7ABCDEFGH12345678", page="pages/team/index"
    )
    assert image.startswith(WXA_PNG)
    (call,) = fake.calls_to("/wxa/getwxacodeunlimit")
    sent = json.loads(call.body)
    assert sent["scene"] == "K7ABCDEFGH12345678" and sent["page"] == "pages/team/index"
    assert sent["check_path"] is True and sent["env_version"] == "release"
    assert call.query["access_token"] == "TOKEN-1"


async def test_get_unlimited_errors_come_as_json(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    fake.wechat_token = "TOKEN-1"
    with pytest.raises(wxa.WxaCodeError) as exc:
        await wxa.get_unlimited(http, base=base, token="OLD", scene="abc")
    assert exc.value.invalid_token
    with pytest.raises(wxa.WxaCodeError) as exc:
        await wxa.get_unlimited(http, base=base, token="TOKEN-1", scene="abc", page="pages/nope")
    assert exc.value.errcode == 41030
    fake.messaging_failures["/wxa/getwxacodeunlimit"] = [wxa.RATE_LIMITED]
    with pytest.raises(wxa.WxaCodeError) as exc:
        await wxa.get_unlimited(http, base=base, token="TOKEN-1", scene="abc")
    assert exc.value.errcode == wxa.RATE_LIMITED
    # unreleased pages need check_path false (trial, develop)
    image = await wxa.get_unlimited(
        http, base=base, token="TOKEN-1", scene="abc", page="pages/new", check_path=False
    )
    assert image.startswith(WXA_PNG)


async def test_get_unlimited_refuses_bad_arguments_before_calling(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    for kwargs in (
        {"scene": "x" * 33},
        {"scene": "100%"},
        {"scene": "ok", "page": "/pages/index/index"},
        {"scene": "ok", "page": "pages/index/index?x=1"},
        {"scene": "ok", "width": 100},
    ):
        with pytest.raises(ValueError):
            await wxa.get_unlimited(http, base=base, token="T", **kwargs)  # type: ignore[arg-type]
    assert fake.calls_to("/wxa/getwxacodeunlimit") == []


async def test_get_unlimited_network_failure(http: aiohttp.ClientSession) -> None:
    with pytest.raises(wxa.WxaCodeError) as exc:
        await wxa.get_unlimited(
            http, base="http://127.0.0.1:9", token="T", scene="abc", timeout=0.5
        )
    assert exc.value.errcode == wxa.SYSTEM_BUSY


async def test_a_refused_url_link_names_its_own_call(
    http: aiohttp.ClientSession, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = fake_wechat
    fake.wechat_token = "TOKEN-1"
    fake.messaging_failures["/wxa/generate_urllink"] = [wxa.RATE_LIMITED]
    with pytest.raises(wxa.WxaCodeError) as exc:
        await wxa.generate_urllink(http, base=base, token="TOKEN-1", path="pages/team/index")
    assert exc.value.errcode == wxa.RATE_LIMITED
    assert str(exc.value).startswith("generate_urllink error 45009")
    with pytest.raises(wxa.WxaCodeError) as down:
        await wxa.get_unlimited(http, base="http://127.0.0.1:9", token="T", scene="a", timeout=0.5)
    assert str(down.value).startswith("getwxacodeunlimit error -1")
