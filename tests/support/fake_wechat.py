"""A fake WeChat API server: records what was sent and answers as the documented protocol does.

Later issues add endpoints; each handler appends ``(path, query, body)`` to ``calls``.
WeChat Pay v2 endpoints check signatures with ``api_key`` and answer signed XML; the
``payment_notify`` and ``refund_notify`` builders make the bodies WeChat Pay posts to a
merchant's notify_url. The messaging endpoints (stable_token, gettoken, custom/subscribe/WeCom
app sends, the group robot webhook, the aibot response_url) answer {errcode, errmsg} and are
scripted through the fields under "Messaging" (``_add_messaging_routes``).
``/wxa/generate_urllink`` answers ``https://wxaurl.cn/<serial>`` for a released page (or any
page when ``env_version`` is not release), records the link in ``url_links`` and can be
scripted to fail through ``messaging_failures``.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from qunshop.assembly.standin import refund_query_answer, transfer_answer
from wechat import bill, pay, security

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


# The fake mini-program's released pages, and what its codes look like.
WXA_PAGES = frozenset(
    {
        "pages/index/index",
        "pages/campaign/index",
        "pages/team/index",
        "pages/flash/index",
        "pages/link/index",
        "pages/bargain/index",
    }
)
WXA_SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
WXA_PNG = b"\x89PNG\r\n\x1a\n"


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


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
    # Awaited as a unified order arrives (a test looks at the database meanwhile).
    on_unified_order: Callable[[], Awaitable[None]] | None = None
    # out_refund_no -> the refund's request fields plus refund_id
    refunds: dict[str, dict[str, str]] = field(default_factory=dict)
    # The next N refund calls answer result_code FAIL, err_code SYSTEMERROR.
    refund_failures: int = 0
    # out_refund_no -> the refund_status refundquery answers (SUCCESS when not set).
    refund_statuses: dict[str, str] = field(default_factory=dict)
    # 企业付款到零钱: partner_trade_no -> the transfer's request fields plus payment_no, for
    # those paid; ``transfer_failures``: err_codes the next transfer calls answer, first first.
    transfers: dict[str, dict[str, str]] = field(default_factory=dict)
    transfer_failures: list[str] = field(default_factory=list)
    # Bills (downloadbill): every successful payment notify built here is a trade of the day
    # it was paid, every refund asked for a refund of its day. Tests plant differences by
    # editing these; ``bill_failures`` are return_msg refusals the next calls answer.
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)  # transaction_id -> trade
    bill_clock: Callable[[], datetime] = field(default_factory=lambda: _utc_now)
    bill_failures: list[str] = field(default_factory=list)
    # Messaging: access tokens, customer service, subscribe, WeCom app, robot, response_url.
    wechat_secret: str = "test-wechat-app-secret-value"
    wecom_corp_id: str = "wx5823bf96d3bd56c7"
    wecom_secret: str = "test-wecom-app-secret"
    token_fetches: int = 0  # stable_token answers that carried a token
    wecom_token_fetches: int = 0  # gettoken answers that carried a token
    token_delay: float = 0.0  # seconds a token fetch takes, to widen races
    wechat_token: str | None = None  # the current stable token; None: the next fetch makes one
    wecom_token: str | None = None
    # Tokens answered 40001 even while current (a force_refresh is the only way out).
    revoked_tokens: set[str] = field(default_factory=set)
    out_of_window: set[str] = field(default_factory=set)  # openids answered 45015
    custom_quota: int = 5  # customer-service messages per openid per window, then 45047
    custom_sent: Counter[str] = field(default_factory=Counter)
    custom_messages: list[dict[str, Any]] = field(default_factory=list)
    subscribe_refused: set[str] = field(default_factory=set)  # openids answered 43101
    subscribe_messages: list[dict[str, Any]] = field(default_factory=list)
    wecom_app_messages: list[dict[str, Any]] = field(default_factory=list)
    unionids: dict[str, str] = field(default_factory=dict)  # OA openid -> unionid (user/info)
    robot_limit: int = 20  # messages per robot key per clock minute, then 45009
    robot_clock: Callable[[], datetime] = field(default_factory=lambda: _utc_now)
    robot_messages: dict[str, list[tuple[datetime, dict[str, Any]]]] = field(default_factory=dict)
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # response_code -> body
    # path -> errcodes the next calls to it answer, first first (then the normal answer).
    messaging_failures: dict[str, list[int]] = field(default_factory=dict)
    # url_link -> the generate_urllink body that made it
    url_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Updatable messages (动态消息): activity_id -> {"expires_at", "state", "params"}.
    activity_clock: Callable[[], datetime] = field(default_factory=lambda: _utc_now)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    updatable_messages: list[dict[str, Any]] = field(default_factory=list)  # accepted updates
    # Content security (wechat/security.py): a text containing a key of ``risky_words`` or
    # ``review_words`` gets that verdict and label, an image URL in ``media_verdicts`` its
    # (suggest, label) in the push; everything else passes. ``media_checks``: trace_id -> body.
    risky_words: dict[str, int] = field(default_factory=dict)
    review_words: dict[str, int] = field(default_factory=dict)
    media_verdicts: dict[str, tuple[str, int]] = field(default_factory=dict)
    sec_checks: list[dict[str, Any]] = field(default_factory=list)
    media_checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    _issued_tokens: set[str] = field(default_factory=set, init=False, repr=False)
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
        if self.on_unified_order is not None:
            await self.on_unified_order()
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
            known["time"] = self.bill_clock().astimezone(SHANGHAI)
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

    async def refund_query(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        params, sign_type, fail = self._parse_pay_request(call, ("out_refund_no",))
        if fail is not None:
            return fail
        known = self.refunds.get(params["out_refund_no"])
        if known is None:
            return self._pay_fail(sign_type, "REFUNDNOTEXIST", "退款订单查询失败")
        status = self.refund_statuses.get(params["out_refund_no"], "SUCCESS")
        return self._pay_answer(
            sign_type, refund_query_answer(params["out_refund_no"], known, status)
        )

    async def transfer(self, request: web.Request) -> web.Response:
        """企业付款到零钱 as WeChat Pay answers it: MD5 over ``mch_appid``/``mchid``, an
        unsigned answer, the same ``partner_trade_no`` answering its first payment."""
        call = await self._record(request)

        def answer(**kw: str) -> web.Response:
            body = pay.to_xml(transfer_answer(params, **kw))
            return web.Response(body=body, content_type="text/xml")

        params = pay.parse_xml(call.body)
        if not hmac.compare_digest(
            pay.sign(params, self.api_key, pay.MD5).encode(), params.get("sign", "").encode()
        ):
            return answer(err_code="SIGNERROR")
        if (params.get("mch_appid"), params.get("mchid")) != (self.appid, self.mch_id):
            return answer(err_code="MCHID_APPID_NOT_MATCH")
        missing = [n for n in ("partner_trade_no", "openid", "amount", "desc") if not params.get(n)]
        if missing or params.get("check_name") not in ("NO_CHECK", "FORCE_CHECK"):
            return answer(err_code="PARAM_ERROR")
        known = self.transfers.get(params["partner_trade_no"])
        if known is not None:
            return answer(payment_no=known["payment_no"])  # paid before: the same answer
        if self.transfer_failures:
            return answer(err_code=self.transfer_failures.pop(0))
        if not params["amount"].isdigit() or int(params["amount"]) < 100:
            return answer(err_code="AMOUNT_LIMIT")
        paid = {**params, "payment_no": self._unique("10100", 8)}
        self.transfers[params["partner_trade_no"]] = paid
        return answer(payment_no=paid["payment_no"])

    def bill_rows(self, bill_date: str) -> list[bill.BillRow]:
        """The ALL bill of ``bill_date`` (yyyyMMdd): the day's trades, then its refunds."""
        rows = []
        by_order = {t["out_trade_no"]: tid for tid, t in self.trades.items()}
        for tid, trade in self.trades.items():
            if trade["time"].strftime("%Y%m%d") == bill_date:
                rows.append(
                    bill.BillRow(
                        trade_time=trade["time"].strftime("%Y-%m-%d %H:%M:%S"),
                        transaction_id=tid,
                        out_trade_no=trade["out_trade_no"],
                        trade_state="SUCCESS",
                        total_fee=int(trade["total_fee"]),
                    )
                )
        for out_refund_no, asked in self.refunds.items():
            if "time" not in asked or asked["time"].strftime("%Y%m%d") != bill_date:
                continue
            rows.append(
                bill.BillRow(
                    trade_time=asked["time"].strftime("%Y-%m-%d %H:%M:%S"),
                    transaction_id=by_order.get(asked.get("out_trade_no", ""), ""),
                    out_trade_no=asked.get("out_trade_no", ""),
                    trade_state="REFUND",
                    total_fee=int(asked["total_fee"]),
                    refund_id=asked["refund_id"],
                    out_refund_no=out_refund_no,
                    refund_fee=int(asked["refund_fee"]),
                    refund_status="SUCCESS",
                )
            )
        return rows

    async def download_bill(self, request: web.Request) -> web.Response:
        """POST /pay/downloadbill: the bill as text, or ``<xml>`` FAIL with a return_msg."""
        call = await self._record(request)
        params, _, fail = self._parse_pay_request(
            call, ("appid", "mch_id", "nonce_str", "sign", "bill_date")
        )
        if fail is not None:
            return web.Response(body=pay.fail_reply("签名错误"), content_type="text/xml")
        if self.bill_failures:
            message = self.bill_failures.pop(0)
            return web.Response(body=pay.fail_reply(message), content_type="text/xml")
        rows = self.bill_rows(params["bill_date"])
        if not rows:
            return web.Response(body=pay.fail_reply("No Bill Exist"), content_type="text/xml")
        text = bill.render(rows, appid=self.appid, mch_id=self.mch_id)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

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
        else:
            paid = self.bill_clock().astimezone(SHANGHAI)
            fields["time_end"] = paid.strftime("%Y%m%d%H%M%S")
            self.trades[str(fields["transaction_id"])] = {
                "out_trade_no": out_trade_no,
                "total_fee": total_fee,
                "time": paid,
            }
        if include_sign_type:
            fields["sign_type"] = sign_type
        fields["sign"] = pay.sign(fields, self.api_key, sign_type)
        return pay.to_xml(fields)

    def refund_done(self, out_refund_no: str) -> bytes:
        """The success notify of a refund this fake was asked for, as WeChat Pay sends it."""
        asked = self.refunds[out_refund_no]
        return self.refund_notify(
            out_refund_no=out_refund_no,
            out_trade_no=asked["out_trade_no"],
            refund_fee=int(asked["refund_fee"]),
            total_fee=int(asked["total_fee"]),
        )

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

    # Messaging -----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """The current access tokens stop working (42001); the next fetch issues new ones."""
        self.wechat_token = None
        self.wecom_token = None

    def user_spoke(self, openid: str) -> None:
        """The user wrote to the account: a new 48-hour window with a fresh quota."""
        self.out_of_window.discard(openid)
        self.custom_sent[openid] = 0

    def robot_sent_in_minute(self, key: str, minute: datetime) -> int:
        start = minute.replace(second=0, microsecond=0)
        return sum(1 for at, _ in self.robot_messages.get(key, []) if _minute(at) == start)

    def _new_token(self) -> str:
        token = f"ACCESS_TOKEN_{next(self._serial):06d}"
        self._issued_tokens.add(token)
        return token

    @staticmethod
    def _error(errcode: int, errmsg: str) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _scripted(self, path: str) -> web.Response | None:
        queued = self.messaging_failures.get(path)
        if not queued:
            return None
        return self._error(queued.pop(0), "scripted failure")

    def _token_error(self, call: Call, current: str | None) -> web.Response | None:
        token = call.query.get("access_token", "")
        if not token:
            return self._error(41001, "access_token missing")
        if token in self.revoked_tokens:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if current is not None and hmac.compare_digest(token, current):
            return None
        if token in self._issued_tokens:
            return self._error(42001, "access_token expired")
        return self._error(40001, "invalid credential, access_token is invalid or not latest")

    @staticmethod
    def _json(call: Call) -> dict[str, Any] | None:
        try:
            body = json.loads(call.body)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def stable_token(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        body = self._json(call) or {}
        if body.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if body.get("appid") != self.appid:
            return self._error(40013, "invalid appid")
        if not hmac.compare_digest(str(body.get("secret", "")), self.wechat_secret):
            return self._error(40125, "invalid appsecret")
        await asyncio.sleep(self.token_delay)
        if self.wechat_token is None or body.get("force_refresh") is True:
            self.wechat_token = self._new_token()
        self.token_fetches += 1
        return web.json_response({"access_token": self.wechat_token, "expires_in": 7200})

    async def gettoken(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if call.query.get("corpid") != self.wecom_corp_id:
            return self._error(40013, "invalid corpid")
        if not hmac.compare_digest(call.query.get("corpsecret", ""), self.wecom_secret):
            return self._error(40001, "invalid secret")
        await asyncio.sleep(self.token_delay)
        if self.wecom_token is None:
            self.wecom_token = self._new_token()
        self.wecom_token_fetches += 1
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": self.wecom_token, "expires_in": 7200}
        )

    async def custom_send(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        body = self._json(call)
        if body is None or not body.get("touser") or not body.get("msgtype"):
            return self._error(40003, "invalid openid or msgtype")
        openid = body["touser"]
        if openid in self.out_of_window:
            return self._error(45015, "response out of time limit or subscription is canceled")
        if self.custom_sent[openid] >= self.custom_quota:
            return self._error(45047, "out of response count limit")
        self.custom_sent[openid] += 1
        self.custom_messages.append(body)
        return self._error(0, "ok")

    async def subscribe_send(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        body = self._json(call)
        if body is None or not body.get("touser"):
            return self._error(40003, "invalid openid")
        if not body.get("template_id"):
            return self._error(40037, "invalid template_id")
        if body["touser"] in self.subscribe_refused:
            return self._error(43101, "user refuse to accept the msg")
        self.subscribe_messages.append(body)
        return self._error(0, "ok")

    async def user_info(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        openid = call.query.get("openid", "")
        answer: dict[str, Any] = {"subscribe": 1, "openid": openid, "language": "zh_CN"}
        if openid in self.unionids:
            answer["unionid"] = self.unionids[openid]
        return web.json_response(answer)

    async def wecom_message_send(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        refused = self._token_error(call, self.wecom_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        body = self._json(call)
        if body is None or not body.get("touser") or not body.get("msgtype"):
            return self._error(40003, "invalid userid or msgtype")
        if not body.get("agentid"):
            return self._error(40056, "invalid agentid")
        self.wecom_app_messages.append(body)
        msgid = f"msg{next(self._serial):08d}"
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid})

    async def webhook_send(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        key = call.query.get("key", "")
        if not key:
            return self._error(93000, "invalid webhook url")
        scripted = self._scripted(call.path)
        if scripted is not None:
            return scripted
        now = self.robot_clock()
        if self.robot_sent_in_minute(key, now) >= self.robot_limit:
            return self._error(45009, "api freq out of limit")
        body = self._json(call)
        if body is None or not body.get("msgtype"):
            return self._error(40008, "invalid message type")
        self.robot_messages.setdefault(key, []).append((now, body))
        return self._error(0, "ok")

    async def aibot_response(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        code = call.query.get("response_code", "")
        if not code or code in self.responses:
            # A response_url works once; the platform's errcode for a spent one is undocumented.
            return self._error(40029, "invalid response_code")
        body = self._json(call)
        if body is None or body.get("msgtype") not in ("markdown", "template_card"):
            return self._error(40008, "invalid message type")
        self.responses[code] = body
        return self._error(0, "ok")

    # Updatable messages ---------------------------------------------------------------------

    async def create_activity_id(self, request: web.Request) -> web.Response:
        """GET activityid/create: an id that expires 24 hours after now (the activity clock)."""
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        activity_id = f"ACT{next(self._serial):08d}"
        expires = int(self.activity_clock().timestamp()) + 24 * 3600
        self.activities[activity_id] = {"expires_at": expires, "state": 0, "params": {}}
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "activity_id": activity_id, "expiration_time": expires}
        )

    async def set_updatable_msg(self, request: web.Request) -> web.Response:
        """POST updatablemsg/send: 44002 empty body, 47001 malformed (or unknown, expired or
        final id: the documentation names no code for those), else the card changes."""
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        if not call.body.strip():
            return self._error(44002, "empty post data")
        body = self._json(call)
        if body is None:
            return self._error(47001, "data format error")
        activity = self.activities.get(str(body.get("activity_id")))
        state = body.get("target_state")
        info = body.get("template_info")
        items = info.get("parameter_list") if isinstance(info, dict) else None
        if activity is None or state not in (0, 1) or not isinstance(items, list):
            return self._error(47001, "data format error")
        if activity["state"] == 1 or self.activity_clock().timestamp() >= activity["expires_at"]:
            return self._error(47001, "data format error")
        params = {item.get("name"): item.get("value") for item in items if isinstance(item, dict)}
        if not all(isinstance(v, str) for v in params.values()):
            return self._error(47001, "data format error")
        needed = ("member_count", "room_limit") if state == 0 else ("path", "version_type")
        if not all(params.get(name) for name in needed):
            return self._error(47001, "data format error")
        if state == 1 and params["version_type"] not in ("develop", "trial", "release"):
            return self._error(47001, "data format error")
        activity["state"], activity["params"] = state, params
        self.updatable_messages.append(body)
        return self._error(0, "ok")

    # Content security ------------------------------------------------------------------------

    def _sec_body(self, call: Call) -> tuple[dict[str, Any] | None, web.Response | None]:
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return None, refused
        body = self._json(call)
        if body is None:
            return None, self._error(47001, "data format error")
        if body.get("version") != security.VERSION or body.get("scene") not in security.SCENES:
            return None, self._error(40003, "invalid version or scene")
        if not body.get("openid"):
            return None, self._error(40003, "invalid openid")
        return body, None

    async def msg_sec_check(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        body, refused = self._sec_body(call)
        if refused is not None or body is None:
            return refused or self._error(47001, "data format error")
        content = str(body.get("content", ""))
        self.sec_checks.append(body)
        suggest, label = security.PASS, security.NORMAL
        for words, verdict in (
            (self.review_words, security.REVIEW),
            (self.risky_words, security.RISKY),
        ):
            for word, word_label in words.items():
                if word in content:
                    suggest, label = verdict, word_label
        trace = self._unique("trace", 8)
        return web.json_response(
            security.check_answer(suggest=suggest, label=label, trace_id=trace)
        )

    async def media_check_async(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        body, refused = self._sec_body(call)
        if refused is not None or body is None:
            return refused or self._error(47001, "data format error")
        if not body.get("media_url") or body.get("media_type") not in (1, 2):
            return self._error(40003, "invalid media_url or media_type")
        trace = self._unique("trace", 8)
        self.media_checks[trace] = body
        return web.json_response({"errcode": 0, "errmsg": "ok", "trace_id": trace})

    def media_check_push(self, trace_id: str, created: int) -> str:
        """The XML WeChat pushes with the verdict on the image ``trace_id`` named. A re-push
        repeats the event as it was, CreateTime included, so the caller gives the time."""
        url = self.media_checks[trace_id]["media_url"]
        suggest, label = self.media_verdicts.get(url, (security.PASS, security.NORMAL))
        fields = security.media_check_event(
            appid=self.appid,
            trace_id=trace_id,
            suggest=suggest,
            label=label,
            created=created,
        )
        return security.event_xml(fields)

    def _add_messaging_routes(self, app: web.Application) -> None:
        app.router.add_post(security.MSG_SEC_CHECK, self.msg_sec_check)
        app.router.add_post(security.MEDIA_CHECK_ASYNC, self.media_check_async)
        app.router.add_get("/cgi-bin/message/wxopen/activityid/create", self.create_activity_id)
        app.router.add_post("/cgi-bin/message/wxopen/updatablemsg/send", self.set_updatable_msg)
        app.router.add_post("/cgi-bin/stable_token", self.stable_token)
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_get("/cgi-bin/user/info", self.user_info)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/cgi-bin/message/subscribe/send", self.subscribe_send)
        app.router.add_post("/cgi-bin/message/send", self.wecom_message_send)
        app.router.add_post("/cgi-bin/webhook/send", self.webhook_send)
        app.router.add_post("/cgi-bin/aibot/response", self.aibot_response)

    # Mini-program codes -------------------------------------------------------------------

    async def wxacode_unlimited(self, request: web.Request) -> web.Response:
        """POST /wxa/getwxacodeunlimit: a PNG on success, JSON errcode otherwise."""
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        body = self._json(call)
        if body is None:
            return self._error(47001, "data format error")
        scene, page = body.get("scene"), body.get("page", "pages/index/index")
        if not isinstance(scene, str) or not WXA_SCENE.fullmatch(scene):
            return self._error(40097, "invalid scene")
        if not isinstance(page, str) or page.startswith("/") or "?" in page:
            return self._error(40097, "invalid page")
        if body.get("check_path", True) and page not in WXA_PAGES:
            return self._error(41030, "invalid page rid")
        image = WXA_PNG + json.dumps({"scene": scene, "page": page}).encode()
        return web.Response(body=image, content_type="image/png")

    async def generate_urllink(self, request: web.Request) -> web.Response:
        """POST /wxa/generate_urllink: {errcode: 0, url_link} or a JSON errcode."""
        call = await self._record(request)
        refused = self._token_error(call, self.wechat_token) or self._scripted(call.path)
        if refused is not None:
            return refused
        body = self._json(call)
        if body is None:
            return self._error(47001, "data format error")
        path, query = body.get("path", ""), body.get("query", "")
        if not isinstance(path, str) or path.startswith("/") or "?" in path:
            return self._error(40165, "invalid weapp pagepath")
        if body.get("env_version", "release") == "release" and path and path not in WXA_PAGES:
            return self._error(40165, "invalid weapp pagepath")
        if not isinstance(query, str) or len(query) > 1024:
            return self._error(40212, "invalid query")
        interval = body.get("expire_interval", 30)
        if body.get("expire_type") == 1 and not (isinstance(interval, int) and 1 <= interval <= 30):
            return self._error(40097, "invalid args")
        link = f"https://wxaurl.cn/{self._unique('L', 10)}"
        self.url_links[link] = body
        return web.json_response({"errcode": 0, "errmsg": "ok", "url_link": link})

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/sns/jscode2session", self.jscode2session)
        app.router.add_post("/pay/unifiedorder", self.unified_order)
        app.router.add_post("/secapi/pay/refund", self.refund)
        app.router.add_post("/pay/refundquery", self.refund_query)
        app.router.add_post("/pay/downloadbill", self.download_bill)
        app.router.add_post("/mmpaymkttransfers/promotion/transfers", self.transfer)
        self._add_messaging_routes(app)
        app.router.add_post("/wxa/getwxacodeunlimit", self.wxacode_unlimited)
        app.router.add_post("/wxa/generate_urllink", self.generate_urllink)
        return app


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
