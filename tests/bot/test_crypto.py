"""Sealing and opening through bot.crypto, checked against wechatpy's own classes."""

from __future__ import annotations

import json
import random

import pytest
import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto, _get_signature
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.crypto import Account, BadPayload, BadSignature, signature
from tests.bot.helpers import sign
from tests.conftest import TEST_SECRETS

TOKEN, AES_KEY, APPID = (
    TEST_SECRETS["wechat_token"],
    TEST_SECRETS["wechat_aes_key"],
    TEST_SECRETS["wechat_appid"],
)
REPLY = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[帮助]]></Content>\n</xml>"


@pytest.fixture
def oa() -> Account:
    return Account.of(TOKEN, AES_KEY, APPID)


def test_seal_xml_opens_with_wechatpy(oa: Account) -> None:
    sealed = oa.seal_xml(REPLY, "1514711492", "1714036504")
    env = xmltodict.parse(sealed)["xml"]
    assert (env["TimeStamp"], env["Nonce"]) == ("1714036504", "1514711492")
    opened = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
        sealed, env["MsgSignature"], env["TimeStamp"], env["Nonce"]
    )
    assert opened == REPLY


def test_same_prefix_same_bytes_as_wechatpy(oa: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the random prefix pinned, the reply is wechatpy's encrypt_message byte for byte."""
    monkeypatch.setattr("bot.crypto.os.urandom", lambda n: b"0123456789abcdef"[:n])
    monkeypatch.setattr("wechatpy.crypto.base.random_string", lambda n: "0123456789abcdef"[:n])
    expected = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(REPLY, "5", "1714036504")
    assert oa.seal_xml(REPLY, "5", "1714036504") == expected


def test_the_random_prefix_is_not_from_the_random_module(oa: Account) -> None:
    random.seed(7)
    first = oa.seal_xml(REPLY, "5", "1")
    random.seed(7)
    second = oa.seal_xml(REPLY, "5", "1")
    assert first != second
    for sealed in (first, second):
        encrypt = xmltodict.parse(sealed)["xml"]["Encrypt"]
        assert PrpCrypto(oa.key).decrypt(encrypt, APPID) == REPLY


def test_open_round_trip_and_refusals(oa: Account) -> None:
    encrypt = PrpCrypto(oa.key).encrypt(REPLY, APPID).decode()
    assert oa.open(encrypt, sign(TOKEN, "1", "2", encrypt), "1", "2") == REPLY
    with pytest.raises(BadSignature):
        oa.open(encrypt, "0" * 40, "1", "2")
    with pytest.raises(BadSignature):
        oa.open(encrypt, None, "1", "2")
    other = PrpCrypto(oa.key).encrypt(REPLY, "wx_someone_else").decode()
    with pytest.raises(BadPayload):
        oa.open(other, sign(TOKEN, "1", "2", other), "1", "2")


def test_wecom_bot_json_seal_opens_with_wechatpy() -> None:
    token, key = TEST_SECRETS["wecom_bot_token"], TEST_SECRETS["wecom_bot_aes_key"]
    bot = Account.of(token, key, "")
    payload = {"msgtype": "stream", "stream": {"id": "s1", "finish": True, "content": "好"}}
    sealed = bot.seal_json(payload, "1714036504", "9")
    assert sealed["msgsignature"] == sign(token, "1714036504", "9", sealed["encrypt"])
    plain = WeComPrpCrypto(WeComCrypto(token, key, "").key).decrypt(sealed["encrypt"], "")
    assert json.loads(plain) == payload


def test_signature_is_wechatpys() -> None:
    assert signature("AAAAA", "1714036504", "1514711492") == (
        "f464b24fc39322e44b38aa78f5edd27bd1441696"  # WECHAT.md 1.2's worked example
    )
    parts = ("testtoken", "1714036504", "帮助", "Zz+/=")
    assert signature(*parts) == _get_signature(*parts)
