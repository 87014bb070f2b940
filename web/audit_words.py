"""The audit log's before and after, as an operator reads them: every stored key by its
Chinese name, fen as ¥, rates as percent, states and kinds in words, a missing value as 无 or
不限, and an id as the thing's name (services/audit_names.py) or shortened.

One table, ``FIELDS``: a key the services write (grep ``audit.record``) and how its value
reads. A key not in it still reads in Chinese (字段), never as the stored key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from qunshop.templates import fen
from web.labels import ROLES, local_time, percent

Say = Callable[[Any, Mapping[str, str]], str]

STATES = {
    "pending": "待处理",
    "approved": "已同意",
    "rejected": "已驳回",
    "closed": "已关闭",
    "refunded": "已退款",
    "review": "待审核",
    "waiting": "等待检测",
    "done": "已发送",
    "dead": "已放弃",
    "requested": "待审核",
    "paid": "已到账",
    "failed": "付款失败",
}
KINDS = {
    "amount": "满减",
    "percent": "折扣",
    "listing": "新商品上架",
    "price": "改价",
    "refund.submit": "提交退款",
    "refund.query": "查询退款",
    "chat.send": "发送消息",
    "news.publish": "发布上新",
    "bargain.news": "砍价通知",
    "follows.campaign": "关注提醒",
    "reconcile.bill": "下载对账单",
    "card.update": "更新分享卡片",
    "account.unionid": "关联账号",
    "withdrawal.transfer": "提现付款",
    "withdrawal.news": "提现通知",
}
SCOPES = {"all": "全店", "product": "指定商品", "category": "指定品类", "community": "指定社区"}
GRANTS = {
    "none": "不自动发放",
    "invite": "邀请好友成功时",
    "first_order": "首单付款后",
    "winback": "召回久未下单的人",
    "tier_upgrade": "会员升级时",
}
BINDING = {"any": "所有人", "new_users": "仅新用户"}
PERSONAL = {"phone": "手机号", "real_name": "真实姓名", "recipient": "收件人"}


def state(status: Any) -> str:
    """A request's or record's state (after-sale, claim, review) in words."""
    key = str(getattr(status, "value", status))
    return STATES.get(key, key)


def short_id(value: str, names: Mapping[str, str]) -> str:
    """An id by the thing's name, else its first 8 characters (enough to find it again)."""
    return names.get(value) or (f"{value[:8]}…" if len(value) > 12 else value)


def _text(value: Any, names: Mapping[str, str]) -> str:
    return str(value) if value not in (None, "") else "无"


def _money(value: Any, names: Mapping[str, str]) -> str:
    return f"¥{fen(value)}" if isinstance(value, int) else _text(value, names)


def _threshold(value: Any, names: Mapping[str, str]) -> str:
    return "无门槛" if value == 0 else _money(value, names)


def _bps(value: Any, names: Mapping[str, str]) -> str:
    return f"{percent(value)}%" if isinstance(value, int) else _text(value, names)


def _count(unit: str, none: str = "无") -> Say:
    return lambda value, names: f"{value} {unit}" if isinstance(value, int) else none


def _words(table: Mapping[str, str], none: str = "无") -> Say:
    return lambda value, names: table.get(str(value), str(value)) if value else none


def _yes(value: Any, names: Mapping[str, str]) -> str:
    return "是" if value else "否"


def _thing(none: str = "无") -> Say:
    return lambda value, names: short_id(str(value), names) if value else none


def _when(value: Any, names: Mapping[str, str]) -> str:
    try:
        return local_time(datetime.fromisoformat(str(value)), "%Y-%m-%d %H:%M")
    except ValueError:
        return _text(value, names)


def _each(say: Say, none: str = "无") -> Say:
    return lambda value, names: "、".join(say(v, names) for v in value or ()) or none


def _level(value: Any, names: Mapping[str, str]) -> str:
    if not isinstance(value, dict):
        return _text(value, names)
    rest = {k: v for k, v in value.items() if k != "name"}
    return f"{value.get('name', '')}（{values(rest, names, separator='，')}）"


FIELDS: dict[str, tuple[str, Say]] = {
    "status": ("状态", _words(STATES)),
    "order": ("订单", _thing()),
    "amount": ("金额", _money),
    "refunded": ("退款", _money),
    "note": ("备注", _text),
    "reason": ("原因", _text),
    "role": ("角色", _words(ROLES)),
    "active": ("发放中", _yes),
    "bargains_ended": ("结束的砍价", _count("个")),
    "lines": ("涉及订单", _count("笔")),
    "user": ("用户", _thing()),
    "leader_id": ("团长", _thing()),
    "community": ("社区", _thing()),
    "community_id": ("社区", _thing("全店")),
    "kind": ("类型", _words(KINDS)),
    "attempts": ("已试次数", _count("次")),
    "last_error": ("上次出错", _text),
    "fields": ("查看的信息", _each(_words(PERSONAL))),
    "home_delivery": ("送货上门记录", _thing()),
    "name": ("名称", _text),
    "words": ("违禁词", _each(_text)),
    "word": ("违禁词", _text),
    "price": ("价格", _money),
    "stock": ("库存", _count("件")),
    "stock_left": ("剩余库存", _count("件")),
    "ends_at": ("结束时间", _when),
    "leader_share_bps": ("团长分成", _bps),
    "invite_bps": ("邀请佣金（一级、二级）", _each(_bps)),
    "binding_scope": ("谁可以被绑定", _words(BINDING)),
    "binding_days": ("绑定天数", _count("天", "不限")),
    "window_days": ("成长值窗口", _count("天")),
    "lower_mid_month": ("月中可降级", _yes),
    "timezone": ("时区", _words({"Asia/Shanghai": "北京时间"})),
    "levels": ("等级", _each(_level)),
    "threshold": ("门槛", _threshold),
    "discount_bps": ("拼团价折扣", _bps),
    "points_multiplier_pct": ("积分倍数", lambda v, n: f"{v / 100:g} 倍"),
    "coupon_template_ids": ("每月券包", _each(_thing())),
    "sku_id": ("商品", _thing()),
    "floor_price": ("底价", _money),
    "helpers_needed": ("需要几人帮砍", _count("人")),
    "hours": ("每次砍价有效", _count("小时")),
    "new_users_only": ("仅限新人", _yes),
    "new_user_only": ("新人专享", _yes),
    "amount_off": ("减多少", lambda v, n: _money(v, n) if v else "无"),
    "percent_off": ("减", lambda v, n: f"{v}%" if v else "无"),
    "max_off": ("最多减", lambda v, n: _money(v, n) if v else "不限"),
    "stock_total": ("总量", _count("张")),
    "per_user_limit": ("每人限领", _count("张")),
    "scope": ("适用范围", _words(SCOPES)),
    "scope_ref": ("适用对象", _thing("不限")),
    "valid_from": ("生效时间", lambda v, n: _when(v, n) if v else "不限"),
    "valid_until": ("截止时间", lambda v, n: _when(v, n) if v else "不限"),
    "valid_days": ("领取后有效", _count("天", "不限")),
    "claimable": ("可以领取", _yes),
    "points_price": ("积分兑换价", _count("积分", "不可兑换")),
    "grant_rule": ("自动发放", _words(GRANTS)),
    "rule_days": ("多少天没下单算久未下单", _count("天", "不限")),
}
FIRST = ("status", "name", "kind")  # what the change is about reads first
ORDER = {key: i for i, key in enumerate(FIELDS)}  # then as the table lists them


def values(value: Any, names: Mapping[str, str], *, separator: str = "，") -> str:
    """An audit entry's before or after: ``状态：待处理，金额：¥26.90``; empty: 无."""
    if not isinstance(value, dict):
        return _text(value, names)
    keys = sorted(
        value,
        key=lambda k: (FIRST.index(k) if k in FIRST else len(FIRST), ORDER.get(k, len(ORDER)), k),
    )
    said = []
    for key in keys:
        label, say = FIELDS.get(key, ("字段", _text))
        said.append(f"{label}：{say(value[key], names)}")
    return separator.join(said) or "无"


TARGETS = {
    "user": "用户",
    "sku": "商品",
    "coupon_template": "优惠券",
    "bargain_offer": "砍价",
    "after_sale": "售后",
    "claim": "理赔",
    "withdrawal": "提现",
    "community": "社区",
    "outbox": "消息",
    "leader_application": "团长申请",
    "supplier": "供应商",
    "review": "审核",
    "growth": "增长规则",
    "tiers": "会员等级",
    "banned_words": "违禁词",
    "announcement": "公告",
    "activity": "活动安排",
    "nickname": "昵称",
    "reply": "团长回复",
    "post": "帖子",
    "comment": "评论",
    "question": "提问",
    "answer": "回答",
    "flash_sale": "秒杀",
}


def target(value: str, names: Mapping[str, str]) -> str:
    """What an entry is about: ``优惠券 满20减5``; a kind nobody named reads 记录."""
    kind, _, ref = value.partition(":")
    if kind == "growth":
        return TARGETS[kind]
    if kind == "banned_words":
        return f"违禁词 {'' if ref in ('', '-') else ref}".strip()
    shown = short_id(ref, names) if ref else ""
    return f"{TARGETS.get(kind, '记录')} {shown}".strip()
