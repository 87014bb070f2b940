"""What a person reads instead of a stored key: order and team statuses, roles and audit
actions in Chinese.

One mapping each, registered as Jinja filters (web/render.py) so every page that shows an
order status or an audit action reads the same words; an unknown key shows as itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from services.campaign_board import state_of

if TYPE_CHECKING:
    from datetime import datetime

    from models.groupbuy import Campaign

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEAM_STATES = {"open": "拼团中", "succeeded": "已成团", "failed": "未成团"}
# services/campaign_board.CampaignState, in the order the filter offers them
CAMPAIGN_STATES = {"upcoming": "未开始", "running": "进行中", "paused": "已暂停", "ended": "已结束"}

# models.activity.ActivityKind: every kind a leader can schedule (chat, API or console)
ACTIVITY_KINDS = {
    "announcement": "群公告",
    "checkin": "签到",
    "flash_sale": "秒杀",
    "earnings_statement": "收益周报",
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
    "withdrawal.approve": "同意提现",
    "withdrawal.reject": "驳回提现",
    "community.leader": "换团长",
    "flash_sale.stop": "停止秒杀",
}


def team_state(status: Any) -> str:
    key = getattr(status, "value", status)
    return TEAM_STATES.get(key, str(key))


def campaign_state(campaign: Campaign, now: datetime) -> str:
    """Where the campaign is in its life (services/campaign_board.state_of), in words."""
    return CAMPAIGN_STATES[state_of(campaign, now)]


def activity_kind(kind: Any) -> str:
    key = getattr(kind, "value", kind)
    return ACTIVITY_KINDS.get(key, str(key))


def role_name(role: Any) -> str:
    key = getattr(role, "value", role)
    return ROLES.get(key, str(key))


def local_time(value: datetime, fmt: str = "%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt)


def percent(bps: int) -> str:
    """A rate stored in 万分之一 as the percent a person types: 1250 -> 12.5, 200 -> 2."""
    return f"{bps / 100:g}"


def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)


def plain_json(value: Any) -> Markup:
    """JSON as a person reads it: Chinese as written, not ``\\u5047``. As Jinja's ``tojson``
    does, the characters that could end the element are escaped inside the JSON itself."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return Markup(text)  # noqa: S704 - every markup character is escaped above


# What a form's field is called on the page, for the error page's "what to fix" line.
FIELDS = {
    "group_price": "拼团价",
    "team_size": "成团人数",
    "stock_cap": "活动库存",
    "starts_at": "开始",
    "ends_at": "结束时间",
    "per_user_limit": "每人限购",
    "title": "标题",
    "at": "时间",
    "run_at": "时间",
    "week": "周",
    "price": "价格",
    "stock": "库存",
    "delivery_fee": "配送费",
    "floor_price": "底价",
    "helpers_needed": "需要几人帮砍",
    "hours": "每次砍价有效小时数",
    "threshold": "门槛",
    "amount_off": "减多少",
    "percent_off": "减百分之几",
    "max_off": "最多减",
    "stock_total": "总量",
    "valid_days": "有效天数",
    "rows": "等级数",
    "window_days": "成长值窗口（天）",
    "leader_share_bps": "团长分成",
    "invite1_bps": "一级邀请佣金",
    "invite2_bps": "二级邀请佣金",
    "binding_days": "绑定天数",
    "reason": "原因",
    "text": "内容",
    "name": "名称",
    "date": "日期",
    "code": "提货码",
    "sku_id": "SKU 编号",
    "words": "违禁词",
    "note": "备注",
    "q": "查找",
    "detail": "说明",
}
NUMBERED = {"threshold": "成长值门槛", "discount_bps": "拼团价折扣", "multiplier": "积分倍数"}


def field_name(field: str) -> str:
    """A form field's label (``threshold_2`` reads 成长值门槛（第 3 级）); unknown: as it is."""
    stem, _, index = field.rpartition("_")
    if stem in NUMBERED and index.isdecimal():
        return f"{NUMBERED[stem]}（第 {int(index) + 1} 级）"
    return FIELDS.get(field, field)
