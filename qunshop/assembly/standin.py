"""A stand-in for WeChat's, WeCom's and WeChat Pay's APIs, for development with no internet.

In development mode, every API base the operator did not set points here (``create_app``
mounts it under ``/__dev/wechat``), so prepay, mini-program codes, refunds and messages
complete offline; ``qunshop chat`` serves the same stand-in on its own port and prints what
arrives. It answers as the documented protocol does: access tokens, ``{errcode, errmsg}``
for sends, signed XML for WeChat Pay (checked against the merchant key), a PNG for
``getwxacodeunlimit``, and, after a refund, the encrypted refund notify WeChat Pay posts
to the refund's ``notify_url``. It checks signatures but keeps no state worth testing
against: tests use tests/support/fake_wechat.py, which does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import struct
import zlib
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from qunshop.tasks import TaskTracker
from wechat import pay, security

if TYPE_CHECKING:
    from qunshop.config import Settings

logger = logging.getLogger(__name__)

PREFIX = "/__dev/wechat"
URLLINK_PAGE = "/urllink"  # what the stand-in's URL links open (urllink_page)
SHANGHAI = ZoneInfo("Asia/Shanghai")
Sink = Callable[[str], None]
ACTIVITY_SECONDS = 24 * 3600  # an updatable card's id lives a day by default
REFUND_NOTIFY_DELAY = 0.2  # seconds: WeChat Pay notifies after it answered, never before


def _png(size: int = 8) -> bytes:
    """A small grey square: a valid PNG, so a page showing the 'mini-program code' renders."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


class StandIn:
    def __init__(self, settings: Settings, *, sink: Sink | None = None) -> None:
        self.appid = settings.wechat_appid
        self.mch_id = settings.pay_mch_id
        self.api_key = settings.pay_api_key.get_secret_value()
        self.sink = sink or (lambda line: logger.info("%s", line))
        self._serial = itertools.count(1)
        # out_refund_no -> what refundquery answers of it: the one state the protocol needs.
        self.refunds: dict[str, dict[str, str]] = {}
        # out_trade_no -> (total_fee, prepay_id): WeChat Pay answers an order asked again with
        # its prepay_id, and refuses the same number with another amount.
        self.prepays: dict[str, tuple[str, str]] = {}
        # partner_trade_no -> (amount, payment_no): a transfer asked again is the first one.
        self.transfers: dict[str, tuple[str, str]] = {}
        self.tasks = TaskTracker()  # refund notifies and media-check pushes in flight
        self.push_token = settings.wechat_token.get_secret_value()
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        self.push_url = f"http://{host}:{settings.port}/bot/wechat"  # the message push server

    def _unique(self, prefix: str) -> str:
        return f"{prefix}{datetime.now(tz=SHANGHAI):%Y%m%d%H%M%S}{next(self._serial):08d}"

    # Tokens and sign-in ---------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": "STANDIN_TOKEN", "expires_in": 7200}
        )

    async def jscode2session(self, request: web.Request) -> web.Response:
        """Any code signs in, and the code is the openid: ``{"code": "demo-shopper"}`` is the
        demo's ``demo-shopper``, the person the chat sender of that name is, as
        ``/api/v1/dev/session {"openid": "demo-shopper"}`` is. No WeChat openid has a colon
        (``services.chat_users.shell_openid``): a code with one is refused, so no sign-in
        becomes a chat-only user."""
        code = request.query.get("js_code", "")
        if not code or ":" in code:
            return web.json_response({"errcode": 40029, "errmsg": "invalid code"})
        key = base64.b64encode(hashlib.sha256(code.encode()).digest()[:16]).decode()
        body = {"openid": code[:64], "session_key": key}
        return web.json_response(body, content_type="text/plain")

    # Messages and codes ---------------------------------------------------------------------

    async def sent(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            shown = json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            shown = raw
        self.sink(f"server sent {request.path.removeprefix(PREFIX)}: {shown}")
        body: dict[str, object] = {"errcode": 0, "errmsg": "ok"}
        if request.path.endswith("/cgi-bin/message/send"):
            body.update(invaliduser="", msgid=self._unique("msg"))
        return web.json_response(body)

    async def wxacode(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"errcode": 47001, "errmsg": "data format error"})
        if not isinstance(body, dict) or not isinstance(body.get("scene"), str):
            return web.json_response({"errcode": 40097, "errmsg": "invalid scene"})
        return web.Response(body=PNG, content_type="image/png")

    async def urllink(self, request: web.Request) -> web.Response:
        """A URL link, so an H5 page on a phone offers its 参团 button. WeChat's own
        (``https://wxaurl.cn/…``) cannot be reached offline: this one is this stand-in's page
        (``urllink_page``), at the base the server reached it on (wechat.wxa accepts a link
        on the API base it asked)."""
        raw = await request.text()
        self.sink(f"server sent /wxa/generate_urllink: {raw}")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return web.json_response({"errcode": 40165, "errmsg": "invalid weapp pagepath"})
        wanted = {"path": body["path"], "query": str(body.get("query") or "")}
        base = f"{request.url.origin()}{request.path.removesuffix('/wxa/generate_urllink')}"
        link = f"{base}{URLLINK_PAGE}?{urlencode(wanted)}"
        return web.json_response({"errcode": 0, "errmsg": "ok", "url_link": link})

    async def urllink_page(self, request: web.Request) -> web.Response:
        """What a URL link opens in development: a page saying which mini-program page it
        stands for, and the API calls that do what that page would."""
        path = request.query.get("path", "")
        query = request.query.get("query", "")
        page = urllink_html(path, query, site=str(request.url.origin()))
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def activity_id(self, request: web.Request) -> web.Response:
        """activityid/create (WECHAT.md 11): a new id for an updatable card, 24 hours long."""
        expires = int(datetime.now(tz=SHANGHAI).timestamp()) + ACTIVITY_SECONDS
        activity_id = self._unique("activity")
        self.sink(f"stand-in activity id {activity_id}")
        body = {"errcode": 0, "errmsg": "ok", "activity_id": activity_id}
        return web.json_response({**body, "expiration_time": expires})

    async def updatable_msg(self, request: web.Request) -> web.Response:
        """updatablemsg/send: a body with an activity_id and a target_state, else 47001."""
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            body = None
        if not body:
            return web.json_response({"errcode": 44002, "errmsg": "empty post data"})
        if not isinstance(body, dict) or body.get("target_state") not in (0, 1):
            return web.json_response({"errcode": 47001, "errmsg": "data format error"})
        self.sink(f"server sent /cgi-bin/message/wxopen/updatablemsg/send: {json.dumps(body)}")
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # Content security (wechat/security.py) -------------------------------------------------

    async def msg_sec_check(self, request: web.Request) -> web.Response:
        """Every text passes here: the operators' word list is what a demo exercises."""
        self.sink(f"stand-in msg_sec_check: {(await request.text())[:200]}")
        trace = self._unique("trace")
        answer = security.check_answer(suggest=security.PASS, label=security.NORMAL, trace_id=trace)
        return web.json_response(answer)

    async def media_check_async(self, request: web.Request) -> web.Response:
        """Answers a trace_id, then pushes a pass for it to /bot/wechat as WeChat would."""
        trace = self._unique("trace")
        self.sink(f"stand-in media_check_async {trace}: {(await request.text())[:200]}")
        self.tasks.spawn(self._push_media_verdict(trace), name=f"standin-{trace}")
        return web.json_response({"errcode": 0, "errmsg": "ok", "trace_id": trace})

    async def _push_media_verdict(self, trace: str) -> None:
        await asyncio.sleep(REFUND_NOTIFY_DELAY)
        now = int(datetime.now(tz=SHANGHAI).timestamp())
        fields = security.media_check_event(
            appid=self.appid,
            trace_id=trace,
            suggest=security.PASS,
            label=security.NORMAL,
            created=now,
        )
        nonce = f"{next(self._serial)}"
        parts = sorted([self.push_token, str(now), nonce])
        signature = hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeChat's)
        query = {"signature": signature, "timestamp": str(now), "nonce": nonce}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
                http.post(
                    self.push_url,
                    params=query,
                    data=security.event_xml(fields).encode(),
                    headers={"Content-Type": "text/xml"},
                ) as resp,
            ):
                self.sink(f"stand-in wxa_media_check {trace}: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("stand-in media-check push to %s failed: %r", self.push_url, exc)

    # WeChat Pay v2 -------------------------------------------------------------------------

    def _answer(self, sign_type: str, fields: dict[str, object]) -> web.Response:
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

    async def _pay_request(self, request: web.Request) -> tuple[dict[str, str], str, str | None]:
        """The fields, the sign type, and the err_code when the request is refused."""
        try:
            params = pay.parse_xml(await request.read())
        except pay.PayProtocolError:
            return {}, pay.MD5, "XML_FORMAT_ERROR"
        sign_type = params.get("sign_type") or pay.MD5
        if sign_type not in pay.SIGN_TYPES:
            return params, pay.MD5, "SIGNERROR"
        expected = pay.sign(params, self.api_key, sign_type)
        if not hmac.compare_digest(expected.encode(), params.get("sign", "").encode()):
            return params, sign_type, "SIGNERROR"
        if params.get("appid") != self.appid or params.get("mch_id") != self.mch_id:
            return params, sign_type, "APPID_MCHID_NOT_MATCH"
        return params, sign_type, None

    def _refused(self, sign_type: str, err_code: str) -> web.Response:
        return self._answer(
            sign_type, {"result_code": "FAIL", "err_code": err_code, "err_code_des": err_code}
        )

    async def unified_order(self, request: web.Request) -> web.Response:
        params, sign_type, refused = await self._pay_request(request)
        if refused:
            return self._refused(sign_type, refused)
        out_trade_no, total_fee = params.get("out_trade_no", ""), params.get("total_fee", "")
        known = self.prepays.get(out_trade_no)
        if known is not None and known[0] != total_fee:
            return self._refused(sign_type, "OUT_TRADE_NO_USED")
        prepay_id = known[1] if known else self._unique("wx")
        self.prepays[out_trade_no] = (total_fee, prepay_id)
        fee = int(total_fee or 0) if total_fee.isdigit() else 0
        self.sink(
            f"stand-in prepay {params.get('out_trade_no')} ¥{fee // 100}.{fee % 100:02d}"
            f": {prepay_id} (pay it with POST /api/v1/dev/orders/<id>/simulate-payment)"
        )
        return self._answer(
            sign_type,
            {
                "result_code": "SUCCESS",
                "trade_type": params.get("trade_type", "JSAPI"),
                "prepay_id": prepay_id,
            },
        )

    async def refund(self, request: web.Request) -> web.Response:
        params, sign_type, refused = await self._pay_request(request)
        if refused:
            return self._refused(sign_type, refused)
        known = self.refunds.get(params.get("out_refund_no", ""))
        refund_id = known["refund_id"] if known else self._unique("50000")
        self.refunds.setdefault(
            params.get("out_refund_no", ""),
            {
                "refund_id": refund_id,
                "out_trade_no": params.get("out_trade_no", ""),
                "refund_fee": params.get("refund_fee", "0"),
                "total_fee": params.get("total_fee", "0"),
            },
        )
        self.sink(f"stand-in refund {params.get('out_refund_no')}: {params.get('refund_fee')} fen")
        if params.get("notify_url"):
            self.tasks.spawn(self._notify_refund(params, refund_id), name=f"standin-{refund_id}")
        return self._answer(
            sign_type,
            {
                "result_code": "SUCCESS",
                "out_trade_no": params.get("out_trade_no", ""),
                "out_refund_no": params.get("out_refund_no", ""),
                "refund_id": refund_id,
                "refund_fee": params.get("refund_fee", "0"),
                "total_fee": params.get("total_fee", "0"),
                "cash_fee": params.get("total_fee", "0"),
            },
        )

    async def refund_query(self, request: web.Request) -> web.Response:
        """refundquery by out_refund_no: a refund asked for here has reached the buyer."""
        params, sign_type, refused = await self._pay_request(request)
        if refused:
            return self._refused(sign_type, refused)
        out_refund_no = params.get("out_refund_no", "")
        known = self.refunds.get(out_refund_no)
        if known is None:
            return self._refused(sign_type, "REFUNDNOTEXIST")
        return self._answer(sign_type, refund_query_answer(out_refund_no, known))

    async def transfer(self, request: web.Request) -> web.Response:
        """企业付款到零钱: its own field names (``mch_appid``, ``mchid``), MD5, an unsigned
        answer. The same ``partner_trade_no`` answers its first ``payment_no`` (another
        amount under it is PARAM_ERROR); under 100 fen is AMOUNT_LIMIT, as WeChat Pay says."""
        try:
            params = pay.parse_xml(await request.read())
        except pay.PayProtocolError:
            return web.Response(body=pay.fail_reply("XML_FORMAT_ERROR"), content_type="text/xml")
        expected = pay.sign(params, self.api_key, pay.MD5)
        if not hmac.compare_digest(expected.encode(), params.get("sign", "").encode()):
            return self._transfer_answer(params, err_code="SIGNERROR")
        if params.get("mch_appid") != self.appid or params.get("mchid") != self.mch_id:
            return self._transfer_answer(params, err_code="MCHID_APPID_NOT_MATCH")
        amount, number = params.get("amount", ""), params.get("partner_trade_no", "")
        if not amount.isdigit() or int(amount) < 100:
            return self._transfer_answer(params, err_code="AMOUNT_LIMIT")
        known = self.transfers.get(number)
        if known is not None and known[0] != amount:
            return self._transfer_answer(params, err_code="PARAM_ERROR")
        payment_no = known[1] if known else self._unique("10100")
        self.transfers[number] = (amount, payment_no)
        fee = int(amount)
        self.sink(
            f"stand-in transfer {number} ¥{fee // 100}.{fee % 100:02d} "
            f"to {params.get('openid')}: {payment_no}"
        )
        return self._transfer_answer(params, payment_no=payment_no)

    def _transfer_answer(
        self, params: dict[str, str], *, payment_no: str = "", err_code: str = ""
    ) -> web.Response:
        return web.Response(
            body=pay.to_xml(transfer_answer(params, payment_no=payment_no, err_code=err_code)),
            content_type="text/xml",
        )

    async def download_bill(self, request: web.Request) -> web.Response:
        """downloadbill: the stand-in keeps no trades, so every day is one without a bill
        (``No Bill Exist``); reconciliation then lists the day's payments as unknown to it."""
        _, _, refused = await self._pay_request(request)
        message = "签名错误" if refused else "No Bill Exist"
        return web.Response(body=pay.fail_reply(message), content_type="text/xml")

    def refund_notify(self, params: dict[str, str], refund_id: str) -> bytes:
        """The body WeChat Pay posts once a refund has reached the buyer."""
        info = {
            "out_refund_no": params.get("out_refund_no", ""),
            "out_trade_no": params.get("out_trade_no", ""),
            "refund_id": refund_id,
            "refund_fee": params.get("refund_fee", "0"),
            "total_fee": params.get("total_fee", "0"),
            "settlement_refund_fee": params.get("refund_fee", "0"),
            "settlement_total_fee": params.get("total_fee", "0"),
            "refund_status": "SUCCESS",
            "success_time": datetime.now(tz=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "refund_recv_accout": "支付用户零钱",
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_request_source": "API",
        }
        return pay.to_xml(
            {
                "return_code": "SUCCESS",
                "appid": self.appid,
                "mch_id": self.mch_id,
                "nonce_str": pay.nonce(),
                "req_info": pay.encrypt_refund_info(info, self.api_key),
            }
        )

    async def _notify_refund(self, params: dict[str, str], refund_id: str) -> None:
        await asyncio.sleep(REFUND_NOTIFY_DELAY)
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
                http.post(
                    params["notify_url"],
                    data=self.refund_notify(params, refund_id),
                    headers={"Content-Type": "text/xml"},
                ) as resp,
            ):
                self.sink(f"stand-in refund notify {refund_id}: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("stand-in refund notify to %s failed: %r", params["notify_url"], exc)

    async def close(self, app: web.Application | None = None) -> None:
        await self.tasks.drain(timeout=2.0)

    def build(self) -> web.Application:
        app = web.Application()
        for path in ("/cgi-bin/stable_token", "/cgi-bin/token", "/cgi-bin/gettoken"):
            app.router.add_route("*", path, self.token)
        app.router.add_get("/sns/jscode2session", self.jscode2session)
        app.router.add_post("/wxa/getwxacodeunlimit", self.wxacode)
        app.router.add_post("/wxa/generate_urllink", self.urllink)
        app.router.add_get(URLLINK_PAGE, self.urllink_page)
        app.router.add_get("/cgi-bin/message/wxopen/activityid/create", self.activity_id)
        app.router.add_post("/cgi-bin/message/wxopen/updatablemsg/send", self.updatable_msg)
        app.router.add_post(security.MSG_SEC_CHECK, self.msg_sec_check)
        app.router.add_post(security.MEDIA_CHECK_ASYNC, self.media_check_async)
        app.router.add_post("/pay/unifiedorder", self.unified_order)
        app.router.add_post("/secapi/pay/refund", self.refund)
        app.router.add_post("/pay/refundquery", self.refund_query)
        app.router.add_post("/pay/downloadbill", self.download_bill)
        app.router.add_post("/mmpaymkttransfers/promotion/transfers", self.transfer)
        app.router.add_post("/{tail:.*}", self.sent)  # every send: logged, answered ok
        app.on_cleanup.append(self.close)
        return app


_SIGN_IN = (
    "TOKEN=$(curl -s -XPOST $QS/api/v1/session -H 'Content-Type: application/json' \\\n"
    '  -d \'{"code": "dev-neighbour"}\' '
    "| python3 -c 'import sys, json; print(json.load(sys.stdin)[\"token\"])')"
)
_AUTH = '-H "Authorization: Bearer $TOKEN"'
_JSON = "-H 'Content-Type: application/json' -d '{}'"
_ORDER = 'python3 -c \'import sys, json; print(json.load(sys.stdin)["order"]["id"])\''
_PAY = f"curl -s -XPOST $QS/api/v1/dev/orders/$ORDER/simulate-payment {_AUTH}"
# What each mini-program page does, as API calls: (what it is, the calls after signing in).
_PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages/team/index": (
        "拼团的团页：参团并付款",
        (
            f"ORDER=$(curl -s -XPOST $QS/api/v1/teams/<code>/join {_AUTH} {_JSON} | {_ORDER})",
            _PAY,
        ),
    ),
    "pages/campaign/index": (
        "拼团活动页：开一个新团并付款",
        (
            f"ORDER=$(curl -s -XPOST $QS/api/v1/campaigns/<id>/teams {_AUTH} {_JSON} | {_ORDER})",
            _PAY,
        ),
    ),
    "pages/bargain/index": (
        "砍价页：帮 TA 砍一刀",
        (f"curl -s -XPOST $QS/api/v1/bargains/<code>/cuts {_AUTH}",),
    ),
    "pages/flash/index": (
        "秒杀页：抢购并付款",
        (
            f"ORDER=$(curl -s -XPOST $QS/api/v1/flash-sales/<id>/buy {_AUTH} "
            f"-H 'Idempotency-Key: buy-1' {_JSON} "
            "| python3 -c 'import sys, json; print(json.load(sys.stdin)[\"id\"])')",
            _PAY,
        ),
    ),
}


def urllink_html(path: str, query: str, *, site: str) -> str:
    """The stand-in URL link's page: the mini-program page it stands for, and the calls (with
    a neighbour, ``dev-neighbour``: the stand-in signs in any code) that continue offline."""
    args = {k: v[0] for k, v in parse_qs(query).items()}
    what, calls = _PAGES.get(path, ("小程序页面", ()))
    steps = []
    for call in calls:
        for key in ("code", "id"):
            call = call.replace(f"<{key}>", args.get(key, f"<{key}>"))
        steps.append(call)
    script = "\n".join([f"QS={site}", _SIGN_IN, *steps])
    target = f"{path}?{query}" if query else path
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>开发环境：打开小程序</title></head><body>"
        "<h1>开发环境：这里代替打开小程序</h1>"
        f"<p>在真机上，这个链接会打开小程序的「{escape(what)}」：<code>{escape(target)}</code>。"
        "开发环境没有微信，所以停在这里。</p>"
        "<p>用接口继续（与小程序做的一样）：</p>"
        f"<pre>{escape(script)}</pre>"
        '<p>接口说明见 <a href="/openapi.json">/openapi.json</a>；'
        "这个页面只在开发模式（QUNSHOP_MODE=development）下存在。</p>"
        "</body></html>"
    )


def refund_query_answer(
    out_refund_no: str, known: dict[str, str], status: str = "SUCCESS"
) -> dict[str, object]:
    """The fields of a refundquery answer listing one refund (the ``_0`` suffix: the first)."""
    return {
        "result_code": "SUCCESS",
        "out_trade_no": known.get("out_trade_no", ""),
        "total_fee": known.get("total_fee", "0"),
        "cash_fee": known.get("total_fee", "0"),
        "refund_count": 1,
        "out_refund_no_0": out_refund_no,
        "refund_id_0": known.get("refund_id", ""),
        "refund_fee_0": known.get("refund_fee", "0"),
        "refund_status_0": status,
        "refund_recv_accout_0": "支付用户零钱",
        "refund_success_time_0": datetime.now(tz=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
    }


def transfer_answer(
    params: dict[str, str], *, payment_no: str = "", err_code: str = ""
) -> dict[str, object]:
    """企业付款到零钱's answer (unsigned): ``payment_no`` on success, else ``err_code``."""
    answer: dict[str, object] = {
        "return_code": "SUCCESS",
        "return_msg": err_code,
        "mch_appid": params.get("mch_appid", ""),
        "mchid": params.get("mchid", ""),
        "nonce_str": pay.nonce(),
        "result_code": "FAIL" if err_code else "SUCCESS",
        "partner_trade_no": params.get("partner_trade_no", ""),
    }
    if err_code:
        return {**answer, "err_code": err_code, "err_code_des": err_code}
    paid_at = datetime.now(tz=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return {**answer, "payment_no": payment_no, "payment_time": paid_at}


API_BASES = ("wechat_api_base", "wecom_api_base", "pay_api_base")


def unset_bases(settings: Settings) -> list[str]:
    """The API bases a development server sends to the stand-in: those the operator left out."""
    from qunshop.config import Mode

    if settings.mode is not Mode.DEVELOPMENT:
        return []
    return [name for name in API_BASES if name not in settings.model_fields_set]


def route_to_standin(settings: Settings) -> Settings:
    """``settings`` with each unset API base pointing at this server's own stand-in."""
    names = unset_bases(settings)
    if not names:
        return settings
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base = f"http://{host}:{settings.port}{PREFIX}"
    return settings.model_copy(update=dict.fromkeys(names, base))
