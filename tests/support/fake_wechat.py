"""A fake WeChat API server: records what was sent and answers as the documented protocol does.

Later issues add endpoints; each handler appends ``(path, query, body)`` to ``calls``.
WeChat Pay v2 endpoints check signatures with ``api_key`` and answer signed XML; the
``payment_notify`` and ``refund_notify`` builders make the bodies WeChat Pay posts to a
merchant's notify_url.
"""

from __future__ import annotations

import hmac
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from wechat import pay

SHANGHAI = ZoneInfo("Asia/Shanghai")

UNIFIED_ORDER_REQUIRED = (
    "appid",
    "mch_id",
    "nonce_str",
    "sign",
    "body",
    "out_trade_no",
    "total_fee",
    "spbill_create_ip",
    "notify_url",
    "trade_type",
)
REFUND_REQUIRED = (
    "appid",
    "mch_id",
    "nonce_str",
    "sign",
    "out_refund_no",
    "total_fee",
    "refund_fee",
)


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class FakeWeChat:
    calls: list[Call] = field(default_factory=list)
    # js_code -> the JSON answer of jscode2session
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The merchant, as in tests/conftest.py TEST_SECRETS.
    appid: str = "wx1234567890test"
    mch_id: str = "1230000109"
    api_key: str = "192006250b4c09247ec02edce69f6a2d"
    # out_trade_no -> the order's request fields plus prepay_id
    pay_orders: dict[str, dict[str, str]] = field(default_factory=dict)
    # out_refund_no -> the refund's request fields plus refund_id
    refunds: dict[str, dict[str, str]] = field(default_factory=dict)
    # The next N refund calls answer result_code FAIL, err_code SYSTEMERROR.
    refund_failures: int = 0
    _serial: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1), init=False, repr=False
    )

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def _record(self, request: web.Request) -> Call:
        call = Call(request.path, dict(request.query), await request.read())
        self.calls.append(call)
        return call

    def _unique(self, prefix: str, width: int) -> str:
        stamp = datetime.now(tz=SHANGHAI).strftime("%Y%m%d%H%M%S")
        return f"{prefix}{stamp}{next(self._serial):0{width}d}"

    async def jscode2session(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        answer = self.sessions.get(call.query.get("js_code", ""))
        if answer is None:
            answer = {"errcode": 40029, "errmsg": "invalid code"}
        # WeChat answers 200 with text/plain even on errors.
        return web.json_response(answer, content_type="text/plain")

    # WeChat Pay v2 -------------------------------------------------------------------------

    def _pay_answer(self, sign_type: str, fields: dict[str, object]) -> web.Response:
        answer: dict[str, object] = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": self.appid,
            "mch_id": self.mch_id,
            "nonce_str": pay.nonce(),
            **fields,
        }
        answer["sign"] = pay.sign(answer, self.api_key, sign_type)
        return web.Response(body=pay.to_xml(answer), content_type="text/xml")

    def _pay_fail(self, sign_type: str, err_code: str, err_code_des: str) -> web.Response:
        return self._pay_answer(
            sign_type,
            {"result_code": "FAIL", "err_code": err_code, "err_code_des": err_code_des},
        )

    def _parse_pay_request(
        self, call: Call, required: tuple[str, ...]
    ) -> tuple[dict[str, str], str, web.Response | None]:
        """The request fields, the sign_type to answer with, and an error answer if any."""
        try:
            params = pay.parse_xml(call.body)
        except pay.PayProtocolError:
            fail = web.Response(body=pay.fail_reply("XML_FORMAT_ERROR"), content_type="text/xml")
            return {}, pay.MD5, fail
        sign_type = params.get("sign_type") or pay.MD5
        if sign_type not in pay.SIGN_TYPES:
            return params, pay.MD5, self._pay_fail(pay.MD5, "SIGNERROR", "签名类型错误")
        # As WeChat does: the request's sign_type (MD5 when absent) decides the algorithm.
        expected = pay.sign(params, self.api_key, sign_type)
        if not hmac.compare_digest(expected.encode(), params.get("sign", "").encode()):
            return params, sign_type, self._pay_fail(sign_type, "SIGNERROR", "签名错误")
        missing = [name for name in required if not params.get(name)]
        if missing:
            return params, sign_type, self._pay_fail(sign_type, "LACK_PARAMS", ",".join(missing))
        if params["appid"] != self.appid:
            return params, sign_type, self._pay_fail(sign_type, "APPID_NOT_EXIST", "appid")
        if params["mch_id"] != self.mch_id:
            return params, sign_type, self._pay_fail(sign_type, "MCHID_NOT_EXIST", "mch_id")
        return params, sign_type, None

    async def unified_order(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        params, sign_type, fail = self._parse_pay_request(call, UNIFIED_ORDER_REQUIRED)
        if fail is not None:
            return fail
        if params["trade_type"] == "JSAPI" and not params.get("openid"):
            return self._pay_fail(sign_type, "LACK_PARAMS", "openid")
        if not params["total_fee"].isdigit() or int(params["total_fee"]) <= 0:
            return self._pay_fail(sign_type, "INVALID_REQUEST", "total_fee")
        out_trade_no = params["out_trade_no"]
        known = self.pay_orders.get(out_trade_no)
        if known is not None:
            if known["total_fee"] != params["total_fee"]:
                return self._pay_fail(sign_type, "OUT_TRADE_NO_USED", "商户订单号重复")
            prepay_id = known["prepay_id"]
        else:
            prepay_id = self._unique("wx", 10)
            self.pay_orders[out_trade_no] = {**params, "prepay_id": prepay_id}
        return self._pay_answer(
            sign_type,
            {"result_code": "SUCCESS", "trade_type": params["trade_type"], "prepay_id": prepay_id},
        )

    async def refund(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        params, sign_type, fail = self._parse_pay_request(call, REFUND_REQUIRED)
        if fail is not None:
            return fail
        if not params.get("out_trade_no") and not params.get("transaction_id"):
            return self._pay_fail(sign_type, "LACK_PARAMS", "out_trade_no")
        if self.refund_failures > 0:
            self.refund_failures -= 1
            return self._pay_fail(sign_type, "SYSTEMERROR", "系统超时")
        fees = (params["total_fee"], params["refund_fee"])
        if not all(fee.isdigit() and int(fee) > 0 for fee in fees):
            return self._pay_fail(sign_type, "INVALID_REQUEST", "fee")
        if int(params["refund_fee"]) > int(params["total_fee"]):
            return self._pay_fail(sign_type, "INVALID_REQUEST", "退款金额大于支付金额")
        out_refund_no = params["out_refund_no"]
        known = self.refunds.get(out_refund_no)
        if known is None:
            known = {**params, "refund_id": self._unique("50000", 8)}
            self.refunds[out_refund_no] = known
        return self._pay_answer(
            sign_type,
            {
                "result_code": "SUCCESS",
                "out_trade_no": known.get("out_trade_no"),
                "out_refund_no": out_refund_no,
                "refund_id": known["refund_id"],
                "refund_fee": known["refund_fee"],
                "total_fee": known["total_fee"],
                "cash_fee": known["total_fee"],
            },
        )

    # Notify builders -----------------------------------------------------------------------

    def payment_notify(
        self,
        *,
        out_trade_no: str,
        total_fee: int,
        openid: str,
        transaction_id: str | None = None,
        sign_type: str = "MD5",
        include_sign_type: bool = True,
        result_code: str = "SUCCESS",
        appid: str | None = None,
        mch_id: str | None = None,
    ) -> bytes:
        """The XML WeChat Pay posts to notify_url, signed as WeChat signs it."""
        fields: dict[str, object] = {
            "return_code": "SUCCESS",
            "result_code": result_code,
            "appid": self.appid if appid is None else appid,
            "mch_id": self.mch_id if mch_id is None else mch_id,
            "nonce_str": pay.nonce(),
            "openid": openid,
            "trade_type": "JSAPI",
            "bank_type": "OTHERS",
            "total_fee": total_fee,
            "cash_fee": total_fee,
            "fee_type": "CNY",
            "transaction_id": transaction_id or self._unique("4200", 10),
            "out_trade_no": out_trade_no,
            "time_end": datetime.now(tz=SHANGHAI).strftime("%Y%m%d%H%M%S"),
        }
        if result_code != "SUCCESS":
            fields["err_code"] = "PAYERROR"
            fields["err_code_des"] = "支付失败"
        if include_sign_type:
            fields["sign_type"] = sign_type
        fields["sign"] = pay.sign(fields, self.api_key, sign_type)
        return pay.to_xml(fields)

    def refund_notify(
        self,
        *,
        out_refund_no: str,
        out_trade_no: str,
        refund_fee: int,
        total_fee: int,
        refund_id: str | None = None,
        refund_status: str = "SUCCESS",
    ) -> bytes:
        """The XML WeChat Pay posts to a refund's notify_url, ``req_info`` encrypted.

        ``refund_id`` defaults to the one this fake gave ``out_refund_no``, or a new one.
        """
        if refund_id is None:
            known = self.refunds.get(out_refund_no)
            refund_id = known["refund_id"] if known else self._unique("50000", 8)
        now = datetime.now(tz=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        info: dict[str, object] = {
            "out_refund_no": out_refund_no,
            "out_trade_no": out_trade_no,
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_fee": refund_fee,
            "refund_id": refund_id,
            "refund_recv_accout": "支付用户零钱",
            "refund_request_source": "API",
            "refund_status": refund_status,
            "settlement_refund_fee": refund_fee,
            "settlement_total_fee": total_fee,
            "total_fee": total_fee,
            "transaction_id": self._unique("4200", 10),
        }
        if refund_status == "SUCCESS":
            info["success_time"] = now
        return pay.to_xml(
            {
                "return_code": "SUCCESS",
                "appid": self.appid,
                "mch_id": self.mch_id,
                "nonce_str": pay.nonce(),
                "req_info": pay.encrypt_refund_info(info, self.api_key),
            }
        )

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/sns/jscode2session", self.jscode2session)
        app.router.add_post("/pay/unifiedorder", self.unified_order)
        app.router.add_post("/secapi/pay/refund", self.refund)
        return app
