"""What a person reads instead of a stored key: order statuses, roles and audit actions in
Chinese.

One mapping each, registered as Jinja filters (web/render.py) so every page that shows an
order status or an audit action reads the same words; an unknown key shows as itself.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

ORDER_STATES = {
    "pending_payment": "待支付",
    "paid_awaiting_team": "已付款，等成团",
    "confirmed": "已成团，待到货",
    "ready_for_pickup": "已到货，待自提",
    "picked_up": "已自提",
    "completed": "已完成",
    "cancelled": "已取消",
    "refunding": "退款中",
    "refunded": "已退款",
}

ROLES = {"shopper": "顾客", "leader": "团长", "admin": "管理员"}  # the chat says 管理员 too

AUDIT_ACTIONS = {
    "user.role": "改角色",
    "leader.approve": "批准团长",
    "leader.reject": "驳回团长",
    "sku.update": "改价格库存",
    "growth.rules": "改成长规则",
    "tiers.ladder": "改等级阶梯",
    "outbox.retry": "重发消息",
    "personal.read": "查看个人信息",
    "coupon_template.create": "新建优惠券",
    "coupon_template.close": "停发优惠券",
    "bargain_offer.open": "开砍价",
    "bargain_offer.close": "关砍价",
    "moderation.words.add": "加敏感词",
    "moderation.words.remove": "删敏感词",
    "moderation.approved": "内容通过",
    "moderation.rejected": "内容驳回",
    "supplier.approve": "通过供应商",
    "supplier.reject": "驳回供应商",
    "listing_review.approve": "通过商品审核",
    "listing_review.reject": "驳回商品审核",
    "after_sale.approve": "同意售后",
    "after_sale.reject": "驳回售后",
    "claim.approve": "批准理赔",
    "claim.reject": "驳回理赔",
}


def order_state(status: Any) -> str:
    key = getattr(status, "value", status)
    return ORDER_STATES.get(key, str(key))


def role_name(role: Any) -> str:
    key = getattr(role, "value", role)
    return ROLES.get(key, str(key))


def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)


def plain_json(value: Any) -> Markup:
    """JSON as a person reads it: Chinese as written, not ``\\u5047``. As Jinja's ``tojson``
    does, the characters that could end the element are escaped inside the JSON itself."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return Markup(text)  # noqa: S704 - every markup character is escaped above
