"""What the webhook XML reader reads, and what it refuses (see also test_hostile_input.py).
How fast it refuses hostile bodies is measured by bench/p_xml.py, not asserted here."""

from __future__ import annotations

from typing import Any

import pytest

from bot.safexml import MAX_WEBHOOK_BYTES, BadXml, parse_xml

WECOM_ENVELOPE = (
    "<xml>\n  <ToUserName><![CDATA[ww1]]></ToUserName>\n  <Encrypt><![CDATA[QUJD]]></Encrypt>\n"
    "  <AgentID><![CDATA[1]]></AgentID>\n</xml>\n"
)
TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o-1]]>"
    "</FromUserName><CreateTime>1764000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[帮助]]></Content><MsgId>1234567890123</MsgId></xml>"
)


def test_what_it_reads() -> None:
    assert parse_xml(WECOM_ENVELOPE.encode()) == {
        "ToUserName": "ww1",
        "Encrypt": "QUJD",
        "AgentID": "1",
    }
    assert parse_xml(TEXT_MESSAGE.encode()) == {
        "ToUserName": "gh_bench",
        "FromUserName": "o-1",
        "CreateTime": "1764000000",
        "MsgType": "text",
        "Content": "帮助",
        "MsgId": "1234567890123",
    }


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("<xml></xml>", {}),
        ("<xml/>", {}),
        ("<xml><a> x y </a><b><![CDATA[ \n ]]></b></xml>", {"a": " x y ", "b": " \n "}),
        ("<xml><Twice>1</Twice><Twice><![CDATA[2]]></Twice></xml>", {"Twice": "2"}),
        ("<xml><a>a &amp; b</a><b><![CDATA[a<b&c]]></b></xml>", {"a": "a & b", "b": "a<b&c"}),
        ("<xml><a k='1'>x</a><b><c>y</c></b></xml>", {"a": "x", "b": {"c": "y"}}),
        ('<?xml version="1.0"?><xml><a>x\r\ny</a></xml>', {"a": "x\ny"}),
    ],
)
def test_ordinary_xml(text: str, fields: dict[str, Any]) -> None:
    assert parse_xml(text) == fields


@pytest.mark.parametrize(
    "text",
    [
        "<xml><!-- c --><a>x</a></xml>",
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
        "<xml><a>x\x00</a></xml>",
        "<root><a>x</a></root>",
        "<xml><a>x</b></xml>",
        "<xml><a>x</a>",
        "<xml>" + "<a>" * 12 + "x" + "</a>" * 12 + "</xml>",  # nested too deeply
        "not xml",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(BadXml):
        parse_xml(text)


ADVERSARIAL = {
    "openings": "<xml>" + "<a>" * 21_000,
    "cdata-openings": "<xml><a>" + "<![CDATA[" * 7_000,
    "unterminated-cdata": "<xml><a><![CDATA[" + "x" * 65_000,
    "brackets-in-cdata": "<xml><a><![CDATA[" + "]" * 65_000,
    "unclosed-text": "<xml><a>" + "x" * 65_000,
    "half-closed": "<xml>" + "<a></a" * 10_000,
    "late-failure": "<xml>" + "<a>x</a>" * 8_000 + "<",
    "flat-and-valid": "<xml>" + "<a>x</a>\n" * 7_000 + "</xml>",
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_hostile_bodies_are_read_or_refused(text: str) -> None:
    assert len(text.encode()) <= MAX_WEBHOOK_BYTES
    try:
        fields = parse_xml(text)
    except BadXml:
        return
    assert fields == {"a": "x"}
