"""The flat fast path gives what expat gives, takes only its grammar, and stays linear."""

from __future__ import annotations

import random
import timeit
from typing import Any

import pytest

from bot.safexml import (
    _FLAT_DOCUMENT,
    MAX_WEBHOOK_BYTES,
    BadXml,
    _declaration_outside_cdata,
    _parse_with_expat,
    parse_xml,
)

ENVELOPE = (
    "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[QUJD+/==]]></Encrypt></xml>"
)
WECOM_ENVELOPE = (
    "<xml>\n  <ToUserName><![CDATA[ww1]]></ToUserName>\n  <Encrypt><![CDATA[QUJD]]></Encrypt>\n"
    "  <AgentID><![CDATA[1]]></AgentID>\n</xml>\n"
)
TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o-1]]>"
    "</FromUserName><CreateTime>1764000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[帮助]]></Content><MsgId>1234567890123</MsgId></xml>"
)


def expat(text: str) -> dict[str, Any] | str:
    """What the expat path gives: the fields, or "BadXml" when it refuses."""
    try:
        return _parse_with_expat(text)
    except BadXml:
        return "BadXml"


def assert_same_as_expat(text: str) -> bool:
    """True when the fast path took ``text``; either way parse_xml answers as expat does."""
    slow = expat(text)
    for body in (text, text.encode(errors="surrogatepass")):
        try:
            fields: dict[str, Any] | str = parse_xml(body)
        except BadXml:
            fields = "BadXml"
        assert fields == slow, text
        assert list(fields) == list(slow)  # the fields in the same order too
    taken = _FLAT_DOCUMENT.fullmatch(text) is not None
    if taken:  # nothing the declaration check would refuse, and no more
        assert not _declaration_outside_cdata(text) and slow != "BadXml"
    return taken


@pytest.mark.parametrize(
    "text",
    [
        ENVELOPE,
        WECOM_ENVELOPE,
        TEXT_MESSAGE,
        "<xml></xml>",
        " \t\n<xml> \n </xml>\n\n",
        "<xml><a></a><b><![CDATA[]]></b></xml>",
        "<xml><a> x y </a><b><![CDATA[ \n ]]></b></xml>",  # inner whitespace is kept
        "<xml><Twice>1</Twice><Other>x</Other><Twice><![CDATA[2]]></Twice></xml>",
        "<xml><xml>inner</xml></xml>",
        "<xml><_a1>x</_a1><Z>\t表情😀\u00a0\u0085\u007f\ufdd0</Z></xml>",
        f"<xml><{'N' * 64}>x</{'N' * 64}></xml>",
        "<xml><a>[a'\"=?;%^~`{}|\\ /!#$</a></xml>",
    ],
)
def test_flat_documents_take_the_fast_path(text: str) -> None:
    assert assert_same_as_expat(text)


def test_what_the_fast_path_reads() -> None:
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
    "text",
    [
        "<xml><a>x\r\ny</a></xml>",  # expat would turn "\r\n" into "\n"
        "<xml>\r\n<a>x</a></xml>",
        "<xml><a>a &amp; b</a></xml>",
        "<xml><a>&#60;</a></xml>",
        "<xml><a><![CDATA[a<b]]></a></xml>",
        "<xml><a><![CDATA[a&b]]></a></xml>",
        "<xml><a><![CDATA[a]b]]></a></xml>",
        "<xml><a><![CDATA[x]]>y</a></xml>",
        "<xml><a><![CDATA[x]]><![CDATA[y]]></a></xml>",
        "<xml><a>a>b</a></xml>",
        "<xml><a>a]]>b</a></xml>",
        "<xml><a k='1'>x</a></xml>",
        "<xml><a >x</a ></xml>",
        "<xml><a/></xml>",
        "<xml/>",
        "<xml><a><b>x</b></a></xml>",
        "<xml><a>x</b></xml>",
        "<xml><a>x</A></xml>",
        "<xml><!-- c --><a>x</a></xml>",
        "<xml><?pi x?><a>x</a></xml>",
        '<?xml version="1.0"?><xml><a>x</a></xml>',
        "\ufeff<xml><a>x</a></xml>",
        "\u3000<xml><a>x</a></xml>",
        "<xml><a>x</a></xml>\x0c",
        "<xml><a>\x0b</a></xml>",
        "<xml><a>\ufffe</a></xml>",
        "<xml><a>\ud800</a></xml>",
        "<xml><a>x\x00</a></xml>",
        f"<xml><{'N' * 65}>x</{'N' * 65}></xml>",
        "<xml><1a>x</1a></xml>",
        "<xml><名>x</名></xml>",
        "<xml><a-b>x</a-b></xml>",
        "<xml><a:b>x</a:b></xml>",
        "<xml>text<a>x</a></xml>",
        "<xml><a>x</a>text</xml>",
        "<root><a>x</a></root>",
        "<xml><a>x</a></xml><xml></xml>",
        "<xml><a>x</a>",
        "<xml><a>x</a></xml>trailing",
    ],
)
def test_anything_else_goes_to_expat(text: str) -> None:
    assert not assert_same_as_expat(text)


# Each part of a document is drawn from its flat-grammar choices, or (at the document's
# hostility rate) from choices outside the grammar, some of them still well-formed XML.
SPACE = (["", "", " ", "\n", "\t", "\n  ", " \t\n"], ["\r\n", "\r", "\x0b", "\u3000", "\x85"])
NAMES = (
    ["ToUserName", "Content", "MsgId", "a", "_", "x9", "A_1", "xml", "N" * 64],
    ["N" * 65, "9a", "é", "a.b", "a-b", "a:b", "A", "a b='1'", "a/"],
)
CHARS = (
    list("aZ0 \n\t帮😀'\"=/!?[\x7f\x85\xa0\u2028"),
    ["<", ">", "&", "]", "]]>", "\r", "\x01", "\x0b", "\x1f", "\ufffe"]
    + ["&amp;", "&#38;", "<!--", "<![CDATA[", "<b>", "</b>"],
)
EDITS = ["", "<", ">", "/", "]", "&", "<a>", "</a>", "<!", "<b>y</b>", "<?p?>"]


def random_document(rng: random.Random) -> str:
    hostility = rng.choice([0.0, 0.0, 0.02, 0.1, 0.3])

    def pick(choices: tuple[list[str], list[str]]) -> str:
        return rng.choice(choices[rng.random() < hostility])

    def value() -> str:
        text = "".join(pick(CHARS) for _ in range(rng.choice([0, 0, 1, 3, 12])))
        return f"<![CDATA[{text}]]>" if rng.random() < 0.5 else text

    def element() -> str:
        name = pick(NAMES)
        close = name.split()[0] if rng.random() > hostility else pick(NAMES)
        return f"{pick(SPACE)}<{name}>{value()}</{close}>"

    text = "".join(element() for _ in range(rng.randrange(8)))
    text = f"{pick(SPACE)}<xml>{text}{pick(SPACE)}</xml>{pick(SPACE)}"
    while rng.random() < hostility:  # a stray edit: an insertion, a cut, or both
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(EDITS) + text[at + rng.choice([0, 0, 1, 3]) :]
    return text


def test_fast_path_agrees_with_expat_on_generated_documents() -> None:
    rng = random.Random(20240601)
    taken = sum(assert_same_as_expat(random_document(rng)) for _ in range(20_000))
    assert 6_000 < taken < 14_000  # both paths were well exercised


ADVERSARIAL = {
    "openings": "<xml>" + "<a>" * 21_000,
    "cdata-openings": "<xml><a>" + "<![CDATA[" * 7_000,
    "unterminated-cdata": "<xml><a><![CDATA[" + "x" * 65_000,
    "brackets-in-cdata": "<xml><a><![CDATA[" + "]" * 65_000,
    "unclosed-text": "<xml><a>" + "x" * 65_000,
    "long-names": "<xml>" + ("<" + "a" * 63) * 1_000,
    "whitespace": "<xml>" + " \n\t" * 21_000,
    "half-closed": "<xml>" + "<a></a" * 10_000,
    "late-failure": "<xml>" + "<a>x</a>" * 8_000 + "<",
    "late-failure-cdata": "<xml>" + "<a><![CDATA[x]]></a>" * 3_000 + "<a><![CDATA[&",
    "flat-and-valid": "<xml>" + "<a>x</a>\n" * 7_000 + "</xml>",
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_fast_path_is_linear_on_hostile_bodies(text: str) -> None:
    assert len(text.encode()) <= MAX_WEBHOOK_BYTES
    taken = _FLAT_DOCUMENT.fullmatch(text) is not None
    assert _parse_or_none(text) == ({"a": "x"} if taken else None)
    # The best of three: a garbage collection in the middle of a run is not the parser's.
    assert min(timeit.repeat(lambda: _FLAT_DOCUMENT.fullmatch(text), number=1, repeat=3)) < 0.005
    assert min(timeit.repeat(lambda: _parse_or_none(text), number=1, repeat=3)) < 0.05


def _parse_or_none(text: str) -> dict[str, Any] | None:
    try:
        return parse_xml(text)
    except BadXml:
        return None
