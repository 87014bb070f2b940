"""Async WeChat API clients over the caller's ``aiohttp.ClientSession``.

Every call passes its own timeout. Failures surface as two exception types: ``WeChatError``
for the JSON APIs (``errcode`` -1 when the network or the body failed) and ``PayError`` for
WeChat Pay v2, whose ``retryable`` says whether the same request may simply be sent again.
"""

from __future__ import annotations

import hmac
import json
import logging
import ssl as ssl_module
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from wechat import pay

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BODY_MAX_CHARS = 127
ATTACH_MAX_CHARS = 127

# Failures where sending the identical request again is the documented remedy.
ORDER_RETRYABLE = frozenset({"SYSTEMERROR"})
REFUND_RETRYABLE = frozenset({"SYSTEMERROR", "NOTENOUGH", "FREQUENCY_LIMITED"})
REFUND_QUERY_RETRYABLE = frozenset({"SYSTEMERROR"})
# downloadbill: a day with no trade, and a bill still being made (ask again later).
NO_BILL = "No Bill Exist"
BILL_RETRYABLE = frozenset({"Bill Creating", "SYSTEMERROR"})
# 企业付款到零钱: WeChat Pay's remedy for these is the same partner_trade_no again, later
# (SYSTEMERROR and SEND_FAILED: the result is unknown; the others: not paid, not yet).
TRANSFER_RETRYABLE = frozenset({"SYSTEMERROR", "SEND_FAILED", "NOTENOUGH", "FREQ_LIMIT"})
TRANSFER_PATH = "/mmpaymkttransfers/promotion/transfers"
DESC_MAX_CHARS = 100

XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}

NETWORK_ERROR = "NETWORK_ERROR"
BAD_RESPONSE = "BAD_RESPONSE"
BAD_RESPONSE_SIGNATURE = "BAD_RESPONSE_SIGNATURE"


class WeChatError(Exception):
    """A WeChat JSON API answered ``errcode != 0``, or could not be reached (``errcode`` -1)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class PayError(Exception):
    """WeChat Pay refused or failed a call.

    ``code`` is the ``err_code`` (or the ``return_msg`` of a communication failure, or one of
    ``NETWORK_ERROR``, ``BAD_RESPONSE``, ``BAD_RESPONSE_SIGNATURE``).
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"WeChat Pay {code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


async def code_to_session(
    http: aiohttp.ClientSession,
    *,
    base: str,
    appid: str,
    secret: str,
    js_code: str,
    timeout: float = 5.0,
) -> dict[str, str]:
    """Exchange a ``wx.login`` code for ``openid``, ``session_key`` and maybe ``unionid``."""
    params = {
        "appid": appid,
        "secret": secret,
        "js_code": js_code,
        "grant_type": "authorization_code",
    }
    try:
        async with http.get(
            f"{base}/sns/jscode2session",
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            raw = await response.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        logger.warning("jscode2session unreachable: %r", exc)
        raise WeChatError(-1, f"network error: {exc!r}") from exc
    if status != 200:
        raise WeChatError(-1, f"HTTP {status}")
    # WeChat answers 200 with text/plain even for errors: parse the body whatever its type.
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise WeChatError(-1, "response is not JSON") from exc
    if not isinstance(data, dict):
        raise WeChatError(-1, "response is not a JSON object")
    errcode = data.get("errcode") or 0
    if errcode != 0:
        errmsg = str(data.get("errmsg", ""))
        logger.info("jscode2session refused: %s %s", errcode, errmsg)
        raise WeChatError(_int(errcode), errmsg)
    openid, session_key = data.get("openid"), data.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
        raise WeChatError(-1, "response lacks openid or session_key")
    result = {"openid": openid, "session_key": session_key}
    if isinstance(data.get("unionid"), str) and data["unionid"]:
        result["unionid"] = data["unionid"]
    return result


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


@dataclass
class PayClient:
    """WeChat Pay v2 for one merchant. ``ssl`` carries the client certificate refunds need."""

    http: aiohttp.ClientSession
    base: str
    appid: str
    mch_id: str
    api_key: str
    sign_type: str = pay.HMAC_SHA256
    ssl: ssl_module.SSLContext | None = None
    timeout: float = 10.0

    async def unified_order(
        self,
        *,
        out_trade_no: str,
        body: str,
        total_fee: int,
        openid: str,
        notify_url: str,
        client_ip: str,
        time_expire: datetime | None = None,
        attach: str | None = None,
    ) -> dict[str, str]:
        """Place a JSAPI order; the answer carries ``prepay_id``."""
        _check_fee("total_fee", total_fee)
        if attach is not None and len(attach) > ATTACH_MAX_CHARS:
            raise ValueError(f"attach is longer than {ATTACH_MAX_CHARS} characters")
        params: dict[str, object] = {
            "body": body[:BODY_MAX_CHARS],
            "out_trade_no": out_trade_no,
            "total_fee": total_fee,
            "spbill_create_ip": client_ip,
            "notify_url": notify_url,
            "trade_type": "JSAPI",
            "openid": openid,
            "attach": attach,
        }
        if time_expire is not None:
            if time_expire.tzinfo is None:
                raise ValueError("time_expire must be timezone-aware")
            params["time_expire"] = time_expire.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")
        return await self._call("/pay/unifiedorder", params, ORDER_RETRYABLE)

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        total_fee: int,
        refund_fee: int,
        notify_url: str,
    ) -> dict[str, str]:
        """Refund part or all of a paid order; idempotent by ``out_refund_no``."""
        _check_fee("total_fee", total_fee)
        _check_fee("refund_fee", refund_fee)
        params: dict[str, object] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "total_fee": total_fee,
            "refund_fee": refund_fee,
            "notify_url": notify_url,
        }
        return await self._call(
            "/secapi/pay/refund", params, REFUND_RETRYABLE, ssl_context=self.ssl
        )

    async def refund_query(self, *, out_refund_no: str) -> dict[str, str]:
        """``/pay/refundquery`` of one refund: ``refund_status_0`` is SUCCESS, PROCESSING,
        REFUNDCLOSE or CHANGE. An unknown number raises ``PayError("REFUNDNOTEXIST")``."""
        return await self._call(
            "/pay/refundquery", {"out_refund_no": out_refund_no}, REFUND_QUERY_RETRYABLE
        )

    async def download_bill(self, *, bill_date: date, bill_type: str = "ALL") -> str:
        """``/pay/downloadbill``: the day's bill as text (wechat.bill reads it).

        A day without a trade answers ``No Bill Exist``, which is an empty bill, not an error.
        A bill not made yet (WeChat Pay makes them from 09:00 the next day) is retryable.
        """
        params: dict[str, object] = {
            "appid": self.appid,
            "mch_id": self.mch_id,
            "nonce_str": pay.nonce(),
            "sign_type": self.sign_type,
            "bill_date": bill_date.strftime("%Y%m%d"),
            "bill_type": bill_type,
        }
        params["sign"] = pay.sign(params, self.api_key, self.sign_type)
        path = "/pay/downloadbill"
        try:
            async with self.http.post(
                f"{self.base}{path}",
                data=pay.to_xml(params),
                headers=XML_HEADERS,
                timeout=aiohttp.ClientTimeout(total=self.timeout * 3),
            ) as response:
                status = response.status
                raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("WeChat Pay %s unreachable: %r", path, exc)
            raise PayError(NETWORK_ERROR, f"{exc!r}", retryable=True) from exc
        if status != 200:
            raise PayError(BAD_RESPONSE, f"HTTP {status}", retryable=status >= 500)
        if raw.lstrip().startswith(b"<xml"):  # a refusal; a bill is plain text
            try:
                answer = pay.parse_xml(raw)
            except pay.PayProtocolError as exc:
                raise PayError(BAD_RESPONSE, str(exc), retryable=True) from exc
            message = answer.get("return_msg") or answer.get("error_code") or "FAIL"
            if message == NO_BILL:
                return ""
            logger.warning("WeChat Pay %s refused: %s", path, message)
            raise PayError(message, message, retryable=message in BILL_RETRYABLE)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PayError(BAD_RESPONSE, "the bill is not UTF-8", retryable=True) from exc

    async def transfer(
        self, *, partner_trade_no: str, openid: str, amount: int, desc: str
    ) -> dict[str, str]:
        """企业付款到零钱: pay ``amount`` fen into ``openid``'s 零钱; idempotent by
        ``partner_trade_no`` (the same number again answers the first result).

        Its own shape: ``mch_appid`` and ``mchid``, MD5 only (no ``sign_type``), the client
        certificate, and an answer WeChat Pay does not sign (``payment_no`` on success)."""
        _check_fee("amount", amount)
        params: dict[str, object] = {
            "mch_appid": self.appid,
            "mchid": self.mch_id,
            "nonce_str": pay.nonce(),
            "partner_trade_no": partner_trade_no,
            "openid": openid,
            "check_name": "NO_CHECK",
            "amount": amount,
            "desc": desc[:DESC_MAX_CHARS],
        }
        params["sign"] = pay.sign(params, self.api_key, pay.MD5)
        answer = await self._post(TRANSFER_PATH, params, ssl_context=self.ssl)
        if answer.get("return_code") != "SUCCESS" or answer.get("result_code") != "SUCCESS":
            code = answer.get("err_code") or answer.get("return_msg") or "FAIL"
            message = answer.get("err_code_des") or answer.get("return_msg") or code
            logger.warning("WeChat Pay transfer %s failed: %s %s", partner_trade_no, code, message)
            raise PayError(code, message, retryable=code in TRANSFER_RETRYABLE)
        if answer.get("partner_trade_no") != partner_trade_no or not answer.get("payment_no"):
            # Unsigned: an answer about another transfer is not taken as this one's success.
            raise PayError(BAD_RESPONSE, "the answer names another transfer", retryable=True)
        return answer

    async def _call(
        self,
        path: str,
        fields: dict[str, object],
        retryable_codes: frozenset[str],
        *,
        ssl_context: ssl_module.SSLContext | None = None,
    ) -> dict[str, str]:
        params: dict[str, object] = {
            "appid": self.appid,
            "mch_id": self.mch_id,
            "nonce_str": pay.nonce(),
            "sign_type": self.sign_type,
            **fields,
        }
        params["sign"] = pay.sign(params, self.api_key, self.sign_type)
        return self._check(
            path, await self._post(path, params, ssl_context=ssl_context), retryable_codes
        )

    async def _post(
        self,
        path: str,
        params: dict[str, object],
        *,
        ssl_context: ssl_module.SSLContext | None = None,
    ) -> dict[str, str]:
        """Post signed ``params`` as XML; the answer's fields. Network trouble, an HTTP
        error or an unreadable body is a ``PayError`` (retryable but a 4xx)."""
        extra: dict[str, Any] = {} if ssl_context is None else {"ssl": ssl_context}
        try:
            async with self.http.post(
                f"{self.base}{path}",
                data=pay.to_xml(params),
                headers=XML_HEADERS,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                **extra,
            ) as response:
                status = response.status
                raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("WeChat Pay %s unreachable: %r", path, exc)
            raise PayError(NETWORK_ERROR, f"{exc!r}", retryable=True) from exc
        if status != 200:
            raise PayError(BAD_RESPONSE, f"HTTP {status}", retryable=status >= 500)
        try:
            return pay.parse_xml(raw)
        except pay.PayProtocolError as exc:
            raise PayError(BAD_RESPONSE, str(exc), retryable=True) from exc

    def _check(
        self, path: str, answer: dict[str, str], retryable_codes: frozenset[str]
    ) -> dict[str, str]:
        if answer.get("return_code") != "SUCCESS":
            message = answer.get("return_msg") or "FAIL"
            logger.warning("WeChat Pay %s return_code FAIL: %s", path, message)
            raise PayError(message, message, retryable=message in retryable_codes)
        # WeChat signs its answer with the algorithm of the request.
        given = answer.get("sign", "")
        expected = pay.sign(answer, self.api_key, self.sign_type)
        signed = hmac.compare_digest(given.encode(), expected.encode())
        if answer.get("result_code") != "SUCCESS":
            code = answer.get("err_code") or "FAIL"
            message = answer.get("err_code_des") or code
            # A failure is never acted on as success, so an answer whose sign does not check
            # (SIGNERROR comes signed with the key we do not have) is still reported as is.
            logger.warning(
                "WeChat Pay %s failed: %s %s (signature %s)",
                path,
                code,
                message,
                "ok" if signed else "unverified",
            )
            raise PayError(code, message, retryable=code in retryable_codes)
        if not signed:
            logger.error("WeChat Pay %s answered SUCCESS with a bad signature", path)
            raise PayError(BAD_RESPONSE_SIGNATURE, "response signature does not verify")
        return answer


def _check_fee(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer number of fen, got {value!r}")
