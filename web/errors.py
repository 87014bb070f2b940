"""Errors under the web door's paths answer as pages, not problem+json.

The app's one middleware (``qunshop.assembly.middlewares``) hands this module the errors of
these paths (a service's, or a 404 from the router); the other paths' become problem+json.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from aiohttp import web

from qunshop.errors import ErrorCode, QunshopError
from qunshop.keys import request_id_of
from services import health
from web.labels import field_name
from web.render import render

logger = logging.getLogger(__name__)

PREFIXES = ("/h5/", "/h5", "/console", "/admin")
MACHINE_PREFIXES = ("/api/", "/bot/", "/pay/")  # their callers read problem+json codes
HAN = re.compile(r"[\u4e00-\u9fff]")  # a detail a person can read here is written in Chinese

# What a person is told, by the error's stable code; anything else by its status.
MESSAGES: dict[str, str] = {
    ErrorCode.TEAM_NOT_FOUND: "没有找到这个团，可能链接有误。",
    ErrorCode.CAMPAIGN_NOT_FOUND: "没有找到这个拼团活动。",
    ErrorCode.FLASH_SALE_NOT_FOUND: "没有找到这场秒杀。",
    ErrorCode.PRODUCT_NOT_FOUND: "没有找到这个商品，可能已经下架。",
    ErrorCode.SKU_NOT_FOUND: "没有找到这个商品规格。",
    ErrorCode.COMMUNITY_NOT_FOUND: "没有找到这个社区，或你不是它的团长。",
    ErrorCode.ORDER_NOT_FOUND: "没有找到这个订单。",
    ErrorCode.AFTER_SALE_NOT_FOUND: "没有找到这个售后申请。",
    ErrorCode.REVIEW_NOT_FOUND: "没有找到这条评价或审核记录。",
    ErrorCode.SUPPLIER_NOT_FOUND: "没有找到这个供应商。",
    ErrorCode.CLAIM_NOT_FOUND: "没有找到这份理赔申请。",
    ErrorCode.BILL_DIFFERENCE_NOT_FOUND: "没有找到这条对账差异。",
    ErrorCode.BATCH_NOT_FOUND: "没有找到这个配送批次。",
    ErrorCode.BARGAIN_OFFER_NOT_FOUND: "没有找到这个砍价活动。",
    ErrorCode.BARGAIN_NOT_FOUND: "没有找到这个砍价，可能链接有误。",
    ErrorCode.BARGAIN_OFFER_CLOSED: "这个砍价活动已经结束了。",
    ErrorCode.COUPON_TEMPLATE_NOT_FOUND: "没有找到这个优惠券。",
    ErrorCode.OUTBOX_MESSAGE_NOT_FOUND: "没有找到这条待处理的消息。",
    ErrorCode.MODERATION_ITEM_NOT_FOUND: "没有找到这条待审核的内容。",
    ErrorCode.WORD_NOT_FOUND: "没有这个违禁词。",
    ErrorCode.USER_NOT_FOUND: "没有找到邀请你的人。",
    ErrorCode.SHARE_CODE_INVALID: "这个邀请链接无效。",
    ErrorCode.LINK_TOKEN_INVALID: "这个关联链接无效，请在聊天中重新获取。",
    ErrorCode.LINK_TOKEN_EXPIRED: "这个关联链接已过期（30 分钟内有效），请在聊天中重新获取。",
    ErrorCode.SHARE_CODE_EXPIRED: "这个邀请链接已过期。",
    ErrorCode.UNAUTHENTICATED: "请先登录：在与机器人的私聊中发送「后台」获取登录链接。",
    ErrorCode.TOKEN_EXPIRED: "这个登录链接已经用过或已过期：请在与机器人的私聊中重新发送「后台」。",
    ErrorCode.EXPORT_LINK_EXPIRED: (
        "这个下载链接已经用过或已过期：请在与机器人的私聊中重新发送「我的数据」。"
    ),
    ErrorCode.ACCOUNT_ERASED: "这个账号已经注销。",
    ErrorCode.FORBIDDEN: "你没有权限查看这个页面。",
    ErrorCode.NOT_COMMUNITY_LEADER: "只有本社区的团长可以这样做。",
    ErrorCode.PICKUP_CODE_NOT_FOUND: "没有这个提货码。",
    ErrorCode.PICKUP_CODE_USED: "这个提货码已经核销过了。",
    ErrorCode.PICKUP_CODE_NOT_YOURS: "这个提货码不属于你的社区。",
    ErrorCode.ORDER_NOT_READY_FOR_PICKUP: (  # a code exists once paid: the goods are not here
        "这个订单待到货：货还没到，不能提货。货到后先确认到货，再核销。"
    ),
    ErrorCode.ORDER_REFUNDED_NO_PICKUP: "这个订单已经退款了，没有可以提的货。",
    ErrorCode.ORDER_CANCELLED: "这个订单已经取消了，没有可以提的货。",
    ErrorCode.ORDER_REFUNDED_NO_REVIEW: "这个订单已经全额退款并关闭，不能评价。",
    ErrorCode.ORDER_USE_AFTERSALES: "这个订单已付款，不能取消；想退款请申请售后。",
    ErrorCode.OWN_ROLE: "运营人员不能修改自己的角色。",
    ErrorCode.OWN_AFTER_SALE: "自己的售后申请由运营处理，不能自己审批。",
    ErrorCode.AFTER_SALE_DECIDED: "这个售后申请已经处理过了（别人刚处理，或已超时自动同意）。",
    ErrorCode.REFUND_EXCEEDS_PAID: "这个订单剩下能退的钱不够这次申请（已有别的退款），申请已关闭。",
    ErrorCode.ORDER_ALREADY_REFUNDED: "这个订单已经全额退款，申请已关闭。",
    ErrorCode.APPLICATION_DECIDED: "这份申请已经处理过了。",
    ErrorCode.APPLICATION_NOT_FOUND: "没有找到这份申请。",
    ErrorCode.CAMPAIGN_INVALID: "活动设置有误，请检查后重试。",
    ErrorCode.PRICE_ABOVE_LIST: (
        "活动价不能高于商品原价：拼团价、秒杀价、砍价底价都要不高于商品的标价。"
    ),
    ErrorCode.INVALID_CURSOR: "这个翻页链接无效，请回到第一页重新翻。",
    ErrorCode.REVIEW_REASON_REQUIRED: "驳回时请写明原因。",
    ErrorCode.DELIVERY_PLAN_INVALID: "配送设置有误：配送费请填写 0 或不超过上限的金额。",
    ErrorCode.BILL_DAY_NOT_OVER: "这一天还没过完，账单要到第二天才有。",
    ErrorCode.BILL_RUN_NOT_FOUND: (
        "没有这一天的对账记录：对账每天 10 点后进行，日期请按 2026-12-07 这样写。"
    ),
    ErrorCode.ACTIVITY_NOT_FOUND: "没有找到这个活动安排。",
    ErrorCode.DELIVERY_PLAN_NOT_FOUND: "这个社区还没有设置截单时间：请先在「截单时间」里设置。",
    ErrorCode.ADDRESS_NOT_FOUND: "没有找到这个收货地址，可能已经删除。",
    ErrorCode.HOME_DELIVERY_NOT_FOUND: "这个订单是到自提点提货，没有送货上门的信息。",
    ErrorCode.IDENTITY_NOT_FOUND: "还没有提交实名认证。",
    ErrorCode.COUPON_NOT_FOUND: "没有找到这张券，可能已经用掉或过期。",
    ErrorCode.REPORT_TARGET_NOT_FOUND: "要举报的内容已经不在了，可能已被删除。",
    ErrorCode.POST_NOT_FOUND: "没有找到这条帖子，可能已经删除。",
    ErrorCode.COMMENT_NOT_FOUND: "没有找到这条评论，可能已经删除。",
    ErrorCode.FOLLOW_NOT_FOUND: "你没有关注过这位团长或这个社区。",
    ErrorCode.QUESTION_NOT_FOUND: "没有找到这个提问，可能已经删除。",
    ErrorCode.ANSWER_NOT_FOUND: "没有找到这条回答，可能已经删除。",
    ErrorCode.SEGMENT_NOT_FOUND: "没有找到这个人群分组。",
    ErrorCode.SIMULATION_DISABLED: "只有开发模式下可以这样登录：请在与机器人的私聊中发送「后台」。",
    ErrorCode.WITHDRAWAL_AMOUNT_INVALID: "提现金额请写元，如 50 或 12.5；不填是全部。",
    ErrorCode.WITHDRAWAL_BELOW_MINIMUM: "每次提现至少 ¥1.00（微信零钱的最低金额）。",
    ErrorCode.WITHDRAWAL_EXCEEDS_AVAILABLE: "提现金额超过了可提现余额，请看收益页上的可提现金额。",
    ErrorCode.WITHDRAWAL_PENDING: "你有一笔提现还在处理中，处理完（到账或退回）才能再申请。",
    ErrorCode.WITHDRAWAL_NEEDS_MINIAPP: "提现付到微信零钱，需要先在小程序里登录一次。",
    ErrorCode.WITHDRAWAL_NOT_FOUND: "没有找到这笔提现。",
    ErrorCode.WITHDRAWAL_DECIDED: "这笔提现已经处理过了（可能别的运营刚处理）。",
    ErrorCode.RATE_LIMITED: "操作太频繁，请稍后再试。",
    ErrorCode.SERVICE_UNAVAILABLE: "服务暂时不可用，请稍后再试。",
}
BY_STATUS = {
    400: "请求有误。",
    401: MESSAGES[ErrorCode.UNAUTHENTICATED],
    403: MESSAGES[ErrorCode.FORBIDDEN],
    404: "页面不存在。",
    405: "不支持这种请求。",
    409: "现在不能这样做。",
    413: "提交的内容太大了。",
    422: "填写的内容有误。",
    429: MESSAGES[ErrorCode.RATE_LIMITED],
    503: MESSAGES[ErrorCode.SERVICE_UNAVAILABLE],
}
GENERIC = "出错了，请稍后再试。"
# A service's field error kinds (its ``errors[].type``), as a person is told them.
PROBLEMS = {
    "in_the_past": "已经过去了，请选一个将来的时间",
    "text_required": "请填写内容",
    "too_long": "太长了，请删减一些",
    "schedule_required": "请选择时间",
    "price_above_list": "不能高于商品原价",
}


def _said(errors: object) -> str:
    """A service's first field error (``{"loc": [field], "type": kind}``) in a person's
    words, when its kind is one this page knows; else nothing."""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    first = errors[0]
    problem = PROBLEMS.get(str(first.get("type", "")))
    loc = first.get("loc") or [""]
    return f"{field_name(str(loc[-1]))}：{problem}" if problem else ""


def form_problem(exc: QunshopError) -> str:
    """What to fix in a form, in a person's words: a validation error's own detail when it
    is written for a person (in Chinese), else its first field error's kind when known."""
    fix = exc.detail if exc.code is ErrorCode.VALIDATION_FAILED else ""
    if not HAN.search(fix):  # a service's words for the API's callers, not for a person
        fix = _said(exc.extra.get("errors"))
    return fix


def message_of(status: int, code: str) -> str:
    return MESSAGES.get(code) or BY_STATUS.get(status, GENERIC)


def is_page_path(path: str) -> bool:
    return path == "/" or path.startswith(PREFIXES)


def answers_as_page(request: web.Request, exc: Exception) -> bool:
    """Whether this error leaves as a page: everything under the web door's paths, and an
    address nobody serves asked for by a browser (a mistyped ``/consol``), outside the
    paths of the API, the webhooks and the payment notifies, whose callers read codes."""
    if is_page_path(request.path):
        return True
    return (
        isinstance(exc, web.HTTPNotFound)
        and not request.path.startswith(MACHINE_PREFIXES)
        and _prefers_html(request.headers.get("Accept", ""))
    )


def _prefers_html(accept: str) -> bool:
    """A browser's Accept names text/html above JSON; ``*/*`` alone (curl) is not one."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[kind.lower()] = max(weight, weights.get(kind.lower(), 0.0))
    html = weights.get("text/html", 0.0)
    data = max(weights.get("application/json", 0.0), weights.get("application/problem+json", 0.0))
    return html > 0 and html > data


def back_link(request: web.Request, status: int, home: str = "") -> str:
    """Where the page's 返回 link goes: the page the person came from on this site (a form
    they can fix, the browser keeping what they typed), else their console's home; none for
    a shopper's page or when signing in is what is missing. Refused (403), not back to the
    refused page itself but to ``home``, the pages that are theirs when a whole console is
    not (web/auth.py), else as any other error."""
    if status == 401:
        return ""
    came = urlsplit(request.headers.get("Referer", ""))
    refused_here = status == 403 and came.path == request.path
    if came.netloc == request.host and is_page_path(came.path) and not refused_here:
        return came.path + (f"?{came.query}" if came.query else "")
    if status == 403 and home:
        return home
    for console in ("/console", "/admin"):
        if request.path.startswith(console) and request.path != console:
            return console
    return ""


def error_page(
    request: web.Request, status: int, code: str, detail: str = "", home: str = ""
) -> web.Response:
    """``detail``: what to fix in a form (a validation error's field and rule), else nothing;
    ``home``: where a person refused a whole console goes back to (``back_link``)."""
    message = message_of(status, code)
    rid = request_id_of(request)
    values = {
        "status": status,
        "code": code,
        "message": message,
        "detail": detail,
        "request_id": rid,
        "back": back_link(request, status, home),
        # A shopper's page has no console to go back to: the group chat is where deals are.
        "to_the_group": status == 404 and request.path.startswith("/h5/"),
        # An address nobody serves: the front page says where each door is.
        "to_the_front": status == 404 and not is_page_path(request.path),
    }
    return render(request.config_dict, "error.html", values, status=status)


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """An error under the web door's paths as a page (a redirect is not an error)."""
    if isinstance(exc, QunshopError):
        home = str(exc.extra.get("home", ""))
        return error_page(request, exc.status, exc.code.value, form_problem(exc), home)
    if isinstance(exc, web.HTTPException):
        return error_page(request, exc.status, f"http_{exc.status}")
    rid = request_id_of(request)
    if health.is_outage(exc):
        logger.warning(
            "dependency down on %s %s (request %s): %s", request.method, request.path, rid, exc
        )
        return error_page(request, 503, ErrorCode.SERVICE_UNAVAILABLE.value)
    logger.error(
        "unhandled error on %s %s (request %s)", request.method, request.path, rid, exc_info=exc
    )
    return error_page(request, 500, ErrorCode.INTERNAL_ERROR.value)
