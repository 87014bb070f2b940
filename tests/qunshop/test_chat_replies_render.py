"""Every chat template renders with realistic values, and reads like a person wrote it.

A backstop beside the behaviour tests (tests/handlers, tests/bot): a template added without
a case here fails ``test_every_template_has_a_case``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.activity import ActivityKind
from models.coupon import CouponKind, CouponStatus
from models.order import OrderStatus
from models.user import Role
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from qunshop.templates import chat_environment
from services.groupchat import Deal
from services.storefront import Brief, OrderLine, SkuLine

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
ENV = chat_environment()

community = NS(name="阳光花园社区团", robot_key="robot-1", timezone="Asia/Shanghai")
campaign = NS(
    title="赣南脐橙 三人团",
    team_size=3,
    group_price=2990,
    guaranteed=False,
    reservation_minutes=15,
)
team = NS(code="MNTR4DCR", size=3, seats_held=1, deadline_at=NOW + timedelta(hours=23))
orange = Brief(
    product_id=uuid.uuid4(),
    sku_id=uuid.uuid4(),
    title="赣南脐橙",
    sku_name="5斤装",
    image=None,
    price=3990,
)
order = NS(
    amount=2990,
    member_off=0,
    quantity=1,
    kind=NS(value="group"),
    status=OrderStatus.PENDING_PAYMENT,
    created_at=NOW,
)
mine = NS(
    amount=2990,
    quantity=1,
    kind=NS(value="group"),
    status=OrderStatus.CANCELLED,
    paid_at=None,
)
bargain_order = NS(**{**vars(order), "amount": 2325, "kind": NS(value="bargain")})
ready = NS(**{**vars(order), "id": uuid.uuid4(), "status": OrderStatus.READY_FOR_PICKUP})
formed = NS(**{**vars(ready), "status": OrderStatus.CONFIRMED})
picked = NS(**{**vars(ready), "status": OrderStatus.PICKED_UP})
# A paid order with no team (bargain, direct, flash) was never 成团.
paid_bargain = NS(**{**vars(formed), "amount": 2325, "kind": NS(value="bargain")})
daily = NS(
    kind=ActivityKind.CHECKIN,
    cron="0 8 * * *",
    next_run_at=NOW + timedelta(hours=18),
    payload={"text": ""},
    title="",
)
weekly = NS(
    kind=ActivityKind.EARNINGS_STATEMENT,
    cron="0 9 * * mon",
    next_run_at=NOW + timedelta(days=2),
    payload={},
    title="",
)
flash = NS(
    kind=ActivityKind.FLASH_SALE,
    cron=None,
    next_run_at=NOW + timedelta(hours=6),
    payload={"text": "新鲜鸡蛋"},
    title="土鸡蛋秒杀",
)
eggs = NS(price=1590, name="30枚", product=NS(title="土鸡蛋"))
sale = NS(
    id=uuid.uuid4(),
    price=990,
    stock=50,
    stock_left=50,
    per_user_limit=2,
    starts_at=NOW + timedelta(hours=6),
    ends_at=NOW + timedelta(hours=6, minutes=30),
    sku=eggs,
)
running = NS(
    id=uuid.uuid4(),
    price=990,
    stock=50,
    stock_left=7,
    per_user_limit=2,
    starts_at=NOW - timedelta(minutes=5),
    ends_at=NOW + timedelta(minutes=25),
    sku=eggs,
)
statement = NS(
    first_day=date(2026, 11, 23),
    last_day=date(2026, 11, 29),
    orders=12,
    gmv=35880,
    refunded=0,
    earnings=NS(
        accrued=1794,
        released=900,
        reversed=0,
        available_balance=2300,
        frozen=0,
        frozen_balance=1794,
    ),
)
pickup_line = NS(buyer="小李", item="赣南脐橙 5斤装", order=NS(quantity=2))
after_sale = NS(
    order_id=ready.id,
    kind=NS(value="refund_only"),
    amount=500,
    status=NS(value="pending"),
    note="",
    created_at=NOW,
)
bill_run = NS(bill_date=date(2026, 12, 4), error="", differences=1)
bill_item = NS(
    subject="payment",
    kind=NS(value="amount_mismatch"),
    out_trade_no="QS1",
    out_refund_no="",
    bill_amount=1900,
    our_amount=1990,
)

bargain = NS(
    code="7K3MXQ2A",
    start_price=9900,
    floor_price=990,
    price_now=5990,
    cuts_needed=5,
    cuts_made=2,
    deadline_at=NOW + timedelta(hours=20),
)
bargain_view = NS(
    bargain=bargain, title="赣南脐橙 5斤装", cuts_left=3, state="open", cut_so_far=3910
)
bargain_ordered = NS(
    bargain=bargain,
    title="赣南脐橙 5斤装",
    state="ordered",
    order=NS(**{**vars(ready), "reserved_until": NOW + timedelta(minutes=15)}),
)
bargain_offer = NS(
    sku=NS(name="5斤装", price=9900, product=NS(title="赣南脐橙")),
    helpers_needed=5,
    floor_price=990,
    new_users_only=True,
)
BARGAIN_VALUES: dict[str, Any] = {
    "bargain": bargain,
    "view": bargain_view,
    "cut": NS(amount=1520, seq=2),
    "helper": "小王",
    "link": "https://shop.example.com/h5/bargains/7K3MXQ2A",
}
BARGAIN_CASES = {
    "bargains/cut.j2": "你帮忙砍掉了 ¥15.20！现价 ¥59.90，还差 3 刀到底价 ¥9.90。",
    "bargains/news_cut.j2": "小王帮你砍了 ¥15.20！「赣南脐橙 5斤装」现价 ¥59.90，还差 3 刀",
    "bargains/news_reached.j2": "「砍价购买 7K3MXQ2A」",
    "bargains/news_closed.j2": (
        "「赣南脐橙 5斤装」的砍价活动已经结束了，你的砍价 7K3MXQ2A（已砍到 ¥59.90）随之关闭"
    ),
    "bargains/started.j2": "好友在群里或私聊我发送「帮砍 7K3MXQ2A」就能帮你砍一刀",
    "bargains/ordered.j2": "请在 15 分钟内到小程序「我的订单」支付",
    "bargains/running.j2": "你已经在砍这件商品了，不用重新发起：赣南脐橙 5斤装，原价 ¥99.00，"
    "现价 ¥59.90（已有 2 位好友帮砍）。\n还差 3 刀到底价 ¥9.90",
    "cards/bargain_title.j2": "帮我砍一刀！赣南脐橙 5斤装 最低 ¥9.90",
}
silver = NS(name="银卡", threshold=10000)
tier_standing = NS(
    level=silver, growth=12000, window_days=365, next_level=NS(name="金卡"), to_next=38000
)
tier_perks = NS(discount_bps=200, points_multiplier_pct=120, monthly_coupon_template_ids=("c1",))

BASE: dict[str, Any] = {
    "plan": None,
    "cards": [],
    "base": "http://127.0.0.1:8080",
    "staff": False,  # a shopper: leaders' hints are left out
    "more": False,  # a list's first page was all of it
    "community": community,
    "campaign": campaign,
    "team": team,
    "order": order,
    "seats_left": 2,
    "minutes": 15,
    "team_url": "http://127.0.0.1:8080/h5/teams/MNTR4DCR",
    "deadline": "12-06 13:00",
    "sharer": "王团长",
    "tz": TZ,
    "now": NOW,
    "text": "明早九点到货，记得来拿",
    "body": "明早九点到货",
    "command": "收益",
    "usage": "参团 <团码>",
    "example": "参团 7K3MXQ2A",
    "is_leader": True,
    "returning": False,
    "user": NS(nickname="小李"),
    "number": 1,
    "kind": "in_the_past",
    "error": Conflict(ErrorCode.TEAM_FULL, "this team is full"),
    "view": NS(activity=daily, flash_sale=None),
    "views": [NS(activity=daily, flash_sale=None), NS(activity=weekly, flash_sale=None)],
    "result": NS(created=True, checkin=NS(streak=3), points=3, balance=12),
    "firing": NS(activity=flash, statement=statement),
    "sale": sale,
    "ends": "20:30",
    "summary": NS(
        balance=NS(frozen=1794, available=2300),
        week_start=date(2026, 11, 30),
        week=NS(accrued=1794, orders=12, released=900, reversed=-150),
    ),
    "day": NS(
        community=community,
        day=date(2026, 12, 5),
        pickup_point=NS(name="门口小店", address="1 号楼"),
        waiting=[pickup_line],
        arriving=[pickup_line],
        picked_up=[pickup_line],
        waiting_count=1,
        arriving_count=1,
        picked_up_count=1,
    ),
    "line": pickup_line,
    "stats": NS(day="2026-12-05", orders=3, gmv=8970, refunded=0, new_members=2),
    "deals": [Deal(number=1, campaign=campaign, open_teams=[team])],
    "groups": [(community, [Deal(number=1, campaign=campaign, open_teams=[team])])],
    "lines": [],
    "url": "https://shop.example.com/console/login?token=abc",
    "days": 7,
    "after_sale_days": 7,
    "words": "这个团已经满员了，看看其他团吧。",
    "has_flash": False,
    "said": "",
    "in_group": True,
    "numbers": {},
    "delivery": NS(
        community=community,
        orders=3,
        batch=None,
        shortages=[],
        group_told=True,
        buyers=3,
        buyers_told=2,
    ),
    "sheet": None,
    "states": {"dispatched": "配送中", "arrived": "已到货", "closed": "已结束"},
    "offer": NS(
        path="pages/link/index?token=T0K3N", url="https://shop.example.com/h5/link?token=T0K3N"
    ),
    "already": False,
    "withdrawal": NS(
        amount=5000, payment_no="10101000000000000001", reason="收款人身份待核实", fail_code=""
    ),
    "available": 2300,
}

coupon_amount = NS(
    name="满20减5",
    kind=CouponKind.AMOUNT,
    threshold=2000,
    amount_off=500,
    percent_off=0,
    max_off=0,
    new_user_only=False,
    stock_total=100,
    stock_left=42,
    per_user_limit=1,
)
coupon_percent = NS(
    name="新人八五折",
    kind=CouponKind.PERCENT,
    threshold=0,
    amount_off=0,
    percent_off=15,
    max_off=1000,
    new_user_only=True,
    stock_total=100,
    stock_left=100,
    per_user_limit=1,
)
held = NS(
    template=coupon_amount,
    coupon=NS(status=CouponStatus.AVAILABLE, valid_until=NOW + timedelta(days=7)),
    usable=True,
)
used = NS(
    template=coupon_percent,
    coupon=NS(status=CouponStatus.USED, valid_until=NOW + timedelta(days=7)),
    usable=False,
)
points_summary = NS(
    balance=120,
    expiring=20,
    expiring_by=NOW + timedelta(days=30),
    entries=[
        NS(created_at=NOW, reason="checkin", delta=3),
        NS(created_at=NOW, reason="checkout", delta=-100),
    ],
)

# Per template: the cases it is rendered in (overrides of BASE), each with text it must show.
CASES: dict[str, list[tuple[dict[str, Any], str]]] = {
    "withdrawals/requested.j2": [({}, "已申请提现 ¥50.00")],
    "withdrawals/news_paid.j2": [({}, "¥50.00 已付到你的微信零钱")],
    "withdrawals/news_rejected.j2": [({}, "没有通过审核：收款人身份待核实")],
    "withdrawals/news_failed.j2": [({}, "这笔钱已退回可提现余额，现在可提现 ¥23.00")],
    "errors/withdrawal_exceeds_available.j2": [
        ({"error": Invalid(ErrorCode.WITHDRAWAL_EXCEEDS_AVAILABLE, "x", available=2300)}, "¥23.00")
    ],
    "errors/withdrawal_below_minimum.j2": [
        ({"error": Invalid(ErrorCode.WITHDRAWAL_BELOW_MINIMUM, "x", available=50)}, "¥0.50")
    ],
    "coupons/_what.j2": [
        ({"template": coupon_amount}, "满¥20.00减¥5.00"),
        ({"template": coupon_percent}, "打8.5折（最多减¥10.00） · 新人专享"),
    ],
    "coupons/card.j2": [({"template": coupon_amount}, "在群里发送「领券」查看")],
    "coupons/claimable.j2": [
        ({"templates": [coupon_amount]}, "1. 满20减5 · 满¥20.00减¥5.00 · 剩 42 张"),
        ({"templates": [coupon_amount], "more": True}, "还有更多可领的券，打开小程序可以看到全部"),
        ({"templates": []}, "现在没有可以领的券"),
    ],
    "coupons/claimed.j2": [
        (
            {"template": coupon_amount, "coupon": held.coupon},
            "🎉 领到了：满20减5（满¥20.00减¥5.00）",
        )
    ],
    "coupons/mine.j2": [
        ({"held": [held, used]}, "1. 满20减5 · 满¥20.00减¥5.00 · 可用，12-12 到期"),
        ({"held": [held, used], "more": True}, "只列出了前 2 张，全部的券打开小程序可以看到"),
        ({"held": []}, "你还没有券"),
    ],
    "coupons/points.j2": [({"summary": points_summary}, "其中 20 积分将在 01-04 前过期")],
    "privacy/erased.j2": [
        ({"keep_until": NOW + timedelta(days=3 * 365)}, "保留到 2029-12-04，之后也会清除"),
    ],
    "privacy/erase_ask.j2": [({}, "确定要注销，请发送「注销账号 确认」")],
    "privacy/export_link.j2": [
        (
            {"url": "https://shop.example.com/h5/my-data?token=abc"},
            "（10 分钟内有效，只能使用一次，请勿转发）：\nhttps://shop.example.com/h5/my-data?token=abc",
        ),
    ],
    "joined.j2": [
        ({}, "还差 2 人。\n请在 15 分钟内到小程序支付 ¥29.90"),
        (
            {},
            "超时座位会释放。\n付款入口（在手机微信里打开）：http://127.0.0.1:8080/h5/teams/MNTR4DCR",
        ),
        ({"seats_left": 0, "minutes": 30}, "你是最后一位，人齐了，大家付款后就成团！"),
        (
            {"order": NS(amount=2930, member_off=60)},
            "请在 15 分钟内到小程序支付 ¥29.30（会员已减 ¥0.60）",
        ),
    ],
    "cards/team_description.j2": [
        ({}, "团码 MNTR4DCR · 还差 2 人成团 · 12-06 13:00 截止 · 王团长开的团"),
        (
            {"seats_left": 0, "sharer": ""},
            "团码 MNTR4DCR · 人已凑齐，付款后成团 · 12-06 13:00 截止",
        ),
    ],
    "cards/campaign_title.j2": [({"sharer": NS(nickname="王团长")}, "王团长推荐：赣南脐橙")],
    "orders.j2": [
        ({}, "你还没有订单"),
        (
            {
                "lines": [
                    OrderLine(order=order, product=orange, pickup_code=None),
                    OrderLine(order=ready, product=orange, pickup_code="K7M2Q9"),
                ]
            },
            "1. 赣南脐橙（5斤装） ×1 ¥29.90 · 待支付 · 12-05\n"
            "2. 赣南脐橙（5斤装） ×1 ¥29.90 · 已到货，待自提 · 提货码 K7M2Q9 · 12-05\n"
            "待支付的订单请到小程序「我的订单」付款，超时座位会释放；不要了发「取消订单 序号」。",
        ),
        (  # a bargain (or direct, flash) order has no seat to release
            {"lines": [OrderLine(order=bargain_order, product=orange, pickup_code=None)]},
            "1. 赣南脐橙（5斤装） ×1 ¥23.25 · 待支付 · 12-05\n"
            "待支付的订单请到小程序「我的订单」付款，超时未付会自动取消；"
            "不要了发「取消订单 序号」。",
        ),
        (
            {
                "lines": [
                    OrderLine(order=formed, product=orange, pickup_code=None),
                    OrderLine(order=paid_bargain, product=orange, pickup_code=None),
                ]
            },
            "1. 赣南脐橙（5斤装） ×1 ¥29.90 · 已成团，待到货 · 12-05\n"
            "2. 赣南脐橙（5斤装） ×1 ¥23.25 · 已付款，待到货 · 12-05",
        ),
    ],
    "products_private.j2": [
        ({"shelves": []}, "你还没有加入社区"),
        (
            {
                "shelves": [
                    (NS(name="阳光花园社区团"), [SkuLine(number=1, product=orange, stock=80)])
                ]
            },
            "「阳光花园社区团」的商品：\n1. 赣南脐橙（5斤装） ¥39.90，库存 80",
        ),
    ],
    "products.j2": [
        ({}, "还没有上架商品"),
        (
            {"lines": [SkuLine(number=1, product=orange, stock=80)]},
            "1. 赣南脐橙（5斤装） ¥39.90，库存 80",
        ),
        (
            {"lines": [SkuLine(number=1, product=orange, stock=80)], "staff": True},
            "例如「活动 秒杀 明天 20:00 1 9.9 50 限购2」",
        ),
    ],
    "coupons/no_such_coupon.j2": [
        ({"number": 99, "count": 2}, "没有第 99 张券（现在共 2 张可领），发送「领券」看看列表。"),
        ({"number": 9, "count": 0}, "现在没有可以领的券"),
    ],
    "activities/created.j2": [
        ({}, "已安排签到：每天 08:00，下次 2026-12-06 08:00"),
        (
            {"view": NS(activity=flash, flash_sale=sale)},
            "土鸡蛋 30枚 秒杀价 ¥9.90，50 件，每人限购 2 件",
        ),
    ],
    "activities/flash_sales.j2": [
        ({"cards": [], "staff": True}, "团长可以在群里发「活动 秒杀 明天 20:00"),
        ({"cards": []}, "现在没有进行中或即将开始的秒杀，团长安排后会在群里通知大家。"),
        (
            {"cards": [NS(sale=running, sku=eggs), NS(sale=sale, sku=eggs)], "base": "http://x"},
            "1. 土鸡蛋 30枚 秒杀价 ¥9.90（原价 ¥15.90），每人限购 2 件\n"
            "   进行中，还剩 7 件，14:25 结束\n"
            f"   http://x/h5/flash-sales/{running.id}\n\n"
            "2. 土鸡蛋 30枚 秒杀价 ¥9.90（原价 ¥15.90），每人限购 2 件\n"
            "   今天 20:00 开始，限量 50 件\n",
        ),
    ],
    "team_ended.j2": [
        ({"code": "MNTR4DCR", "state": "succeeded"}, "已经满员成团了"),
        ({"code": "MNTR4DCR", "state": "succeeded", "staff": True}, "发「开团 序号」再开一个"),
        ({"code": "MNTR4DCR", "state": "failed"}, "团 MNTR4DCR 没拼成，已经结束了"),
        ({"code": "MNTR4DCR", "state": "ended"}, "团 MNTR4DCR 没拼成，已经结束了"),
    ],
    "activities/list.j2": [
        ({}, "1. 签到 每天 08:00，下次 2026-12-06 08:00"),
        ({"views": [NS(activity=weekly, flash_sale=None)]}, "1. 周报 每周一 09:00"),
        (
            {"views": [NS(activity=flash, flash_sale=sale)]},
            "1. 秒杀 2026-12-05 20:00 一次 · 土鸡蛋 30枚 ¥9.90",
        ),
        ({"views": []}, "本群还没有安排活动"),
    ],
    "activities/refused.j2": [
        ({"kind": kind}, "")
        for kind in (
            "invalid_cron",
            "in_the_past",
            "text_required",
            "flash_sale_once",
            "flash_sale_started",
            "flash_sale_overlap",
            "invalid_flash_sale",
            "too_long",
            "other",
        )
    ],
    "activities/checked_in.j2": [
        ({}, "签到成功！已连续签到 3 天"),
        (
            {"result": NS(created=False, checkin=NS(streak=3), points=0, balance=12)},
            "今天已经签到过了",
        ),
    ],
    "errors/sku_not_found.j2": [
        (
            {"error": NotFound(ErrorCode.SKU_NOT_FOUND, "x", number=7, listed=2)},
            "没有编号 7 的商品（本群共 2 个），发送「商品」查看编号。",
        ),
        ({"error": NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")}, "没有找到这个商品"),
    ],
    "errors/price_above_list.j2": [
        (
            {"error": Invalid(ErrorCode.PRICE_ABOVE_LIST, "x", list_price=3580)},
            "活动价不能高于商品原价（¥35.80）",
        ),
    ],
    "errors/after_sale_window_closed.j2": [
        ({"after_sale_days": 3}, "自提后 3 天内可以申请售后"),
    ],
    "errors/order_not_found.j2": [
        (
            {
                "error": NotFound(ErrorCode.ORDER_NOT_FOUND, "x", number=6, listed=2),
                "in_group": False,
            },
            "没有第 6 个订单（最近只有 2 个）。发送「我的订单」看订单序号。",
        ),
        (  # in a group 我的订单 answers only privately: the refusal says so
            {"error": NotFound(ErrorCode.ORDER_NOT_FOUND, "x", number=6, listed=2)},
            "没有第 6 个订单（最近只有 2 个）。私聊我发送「我的订单」看订单序号。",
        ),
        (
            {"error": NotFound(ErrorCode.ORDER_NOT_FOUND, "x", number=1, listed=0)},
            "没有第 1 个订单：你还没有订单",
        ),
        ({"error": NotFound(ErrorCode.ORDER_NOT_FOUND, "no such order")}, "没有找到这个订单"),
    ],
    "errors/order_not_ready_for_pickup.j2": [
        (
            {"error": Conflict(ErrorCode.ORDER_NOT_READY_FOR_PICKUP, "x", status_now=now_is)},
            shows,
        )
        for now_is, shows in (
            ("pending_payment", "这笔订单还没付款，还没有提货码"),
            ("paid_awaiting_team", "正在等成团：成团后才有提货码"),
            ("confirmed", "这笔订单待到货（货还没到），还不能提货"),
            ("", "货到自提点后请先发「到货」"),
        )
    ]
    + [
        (  # a bargain, direct or flash order has no team to wait for
            {
                "error": Conflict(
                    ErrorCode.ORDER_NOT_READY_FOR_PICKUP,
                    "x",
                    status_now="pending_payment",
                    order_kind="bargain",
                )
            },
            "请先到小程序「我的订单」付款，到货后凭提货码取货。",
        ),
        (
            {
                "error": Conflict(
                    ErrorCode.ORDER_NOT_READY_FOR_PICKUP,
                    "x",
                    status_now="pending_payment",
                    order_kind="group",
                )
            },
            "请先到小程序「我的订单」付款，成团、到货后凭提货码取货。",
        ),
    ],
    "orders/cancelled.j2": [
        (
            {
                "line": OrderLine(order=order, product=orange, pickup_code=None),
                "order": mine,
                "in_group": False,
            },
            "已取消订单：赣南脐橙（5斤装） ×1 ¥29.90，你在团里的座位已经释放。\n"
            "这笔订单还没付款，不会扣款，也不用退款",
        ),
        (  # the group reads that it was done, not what or how much
            {"line": OrderLine(order=order, product=orange, pickup_code=None), "order": mine},
            "已取消你在「我的订单」里的第 1 个订单：它还没付款，不会扣款，也不用退款。"
            "订单详情请私聊我发送「我的订单」查看。",
        ),
    ],
    "orders/pickup_code.j2": [
        (
            {
                "line": OrderLine(order=ready, product=orange, pickup_code="K7M2Q9"),
                "ticket": NS(order=state, code="K7M2Q9", pickup_point=point),
                "number": "2",
            },
            shows,
        )
        for state, point, shows in (
            (
                ready,
                NS(name="门口小店", address="1 号楼", hours=""),
                "请到「门口小店」（1 号楼）出示",
            ),
            (
                NS(quantity=1, status=OrderStatus.CONFIRMED),
                None,
                "待到货：还没到货，到货后会通知你",
            ),
            (NS(quantity=1, status=OrderStatus.PICKED_UP), None, "已经取过货了"),
        )
    ],
    "orders/pickup_codes.j2": [
        ({}, "你现在没有待提货的订单：订单付款后才有提货码（拼团的要等成团）。"),
        (  # picked up: not told that codes come with payment
            {"lines": [OrderLine(order=picked, product=orange, pickup_code=None)]},
            "你现在没有待提货的订单：取过的货不用再出示提货码。",
        ),
        (
            {"lines": [OrderLine(order=ready, product=orange, pickup_code="K7M2Q9")]},
            "待提货 1 单（已到货，可以来取）：\n"
            "1. 赣南脐橙（5斤装） ×1 · 提货码 K7M2Q9 · 已到货，可以来取",
        ),
    ],
    "orders/which.j2": [
        ({"command": "取消订单", "in_group": False}, "例如「取消订单 1」。发送「我的订单」看看。"),
        ({"command": "取消订单"}, "例如「取消订单 1」。私聊我发送「我的订单」看看。"),
        ({"command": "取消订单", "staff": True}, "团长取消定时活动请发「活动 取消 序号」"),
    ],
    "errors/order_cancelled.j2": [
        (
            {"error": Conflict(ErrorCode.ORDER_CANCELLED, "x", asked="pickup")},
            "这个订单已经取消了，没有可以提的货，也没有提货码。",
        ),
        (
            {"error": Conflict(ErrorCode.ORDER_CANCELLED, "x", asked="cancel")},
            "这个订单已经取消了，不用再取消：它没有付款，不会扣款。",
        ),
    ],
    "errors/order_numbers_changed.j2": [
        (
            {"error": Conflict(ErrorCode.ORDER_NUMBERS_CHANGED, "x", number=2, shown=True)},
            "第 2 个可能已经不是你看到的那个订单了。为免弄错，这次没有处理：请私聊我发「我的订单」",
        ),
        (
            {
                "error": Conflict(ErrorCode.ORDER_NUMBERS_CHANGED, "x", number=2, shown=True),
                "in_group": False,
            },
            "这次没有处理：请发「我的订单」看最新的序号",
        ),
        (
            {"error": Conflict(ErrorCode.ORDER_NUMBERS_CHANGED, "x", number=2, shown=False)},
            "请先私聊我发「我的订单」看看订单的序号",
        ),
        (
            {
                "error": Conflict(ErrorCode.ORDER_NUMBERS_CHANGED, "x", number=2, shown=False),
                "in_group": False,
            },
            "请先发「我的订单」看看订单的序号",
        ),
    ],
    "deals.j2": [
        ({}, "1. 赣南脐橙 三人团 3人团 ¥29.90\n   团码 MNTR4DCR：还差 2 人，剩 23 小时 0 分"),
        ({"deals": []}, "现在没有进行中的团购"),
        ({"has_flash": True}, "发送「参团 团码」加入。\n⚡ 还有秒杀在进行或即将开始，发送「秒杀」"),
        ({"deals": [], "has_flash": True}, "。\n⚡ 还有秒杀在进行或即将开始"),
    ],
    "deals_private.j2": [
        ({}, "· 赣南脐橙 三人团 3人团 ¥29.90，团码 MNTR4DCR"),
        ({"groups": []}, "还没有加入社区"),
        ({"has_flash": True}, "发送「参团 团码」加入。\n⚡ 还有秒杀在进行或即将开始"),
    ],
    "arrived.j2": [
        ({}, "3 份订单可以提货了"),
        ({}, "提货码会私信发给 2 位买家；另 1 位没有可用的私信渠道"),
        (
            {
                "delivery": NS(
                    community=community,
                    orders=1,
                    batch=NS(),
                    shortages=[],
                    group_told=True,
                    buyers=1,
                    buyers_told=0,
                )
            },
            "这位买家没有可用的私信渠道，收不到提货码，请提醒对方在小程序",
        ),
        (
            {"delivery": NS(community=community, orders=0, batch=None, shortages=[])},
            "没有等待到货的订单",
        ),
        (
            {
                "delivery": NS(
                    community=community,
                    orders=2,
                    batch=NS(),
                    shortages=[(NS(short=2, ordered=4, refunded_orders=2), "赣南脐橙 5斤装")],
                    group_told=False,
                    buyers=2,
                    buyers_told=2,
                )
            },
            "缺货：赣南脐橙 5斤装 缺 2 件（共 4 件），2 份订单原路退款，已通知买家。",
        ),
    ],
    "batch.j2": [
        ({}, "还没有配送批次：在后台设定截单时间后"),
        (
            {"plan": NS(cutoff="21:00", next_cutoff_at=NOW + timedelta(hours=7))},
            "还没有配送批次：每天 21:00 截单时自动生成，下次截单 12-05 21:00。",
        ),
        (
            {
                "sheet": NS(
                    stop=NS(community=community),
                    batch=NS(
                        delivery_date=date(2026, 12, 8),
                        status=NS(value="dispatched"),
                        orders=2,
                        units=3,
                    ),
                    picks=[
                        NS(
                            number=1,
                            title="赣南脐橙 5斤装",
                            quantity=3,
                            orders=[
                                NS(buyer="小李", quantity=2, short=False),
                                NS(buyer="老王", quantity=1, short=True),
                            ],
                        )
                    ],
                )
            },
            "1. 赣南脐橙 5斤装 ×3（小李×2、老王×1·缺货退款）",
        ),
    ],
    "stats.j2": [
        ({}, "订单 3 笔，成交 ¥89.70，新成员 2 人"),
        (
            {"stats": NS(day="2026-12-05", orders=3, gmv=6980, refunded=1990, new_members=2)},
            "成交 ¥69.80（已扣退款 ¥19.90）",
        ),
    ],
    "console_link.j2": [
        ({"operator": False}, "https://shop.example.com/console/login?token=abc"),
        ({"operator": True}, "https://shop.example.com/console/login?token=abc"),
    ],
    "verified.j2": [({}, "核销成功：小李 · 赣南脐橙 5斤装 ×2 已取货")],
    "account/leader_verified.j2": [
        (
            {"user": NS(nickname="王团长", role=Role.LEADER)},
            "认证成功！以后你在群里就是王团长的身份。",
        ),
        ({"user": NS(nickname="王团长", role=Role.LEADER), "already": True}, "你已经认证过了"),
        (
            {"user": NS(nickname=None, role=Role.ADMIN)},
            "就是运营的身份。你是运营：私聊我发送「后台」",
        ),
    ],
    "account/link.j2": [({}, "小程序打开：pages/link/index?token=T0K3N")],
    "help.j2": [({}, "团长命令"), ({"is_leader": False}, "参团 <团码> (join)")],
    "aftersales/asked.j2": [
        (
            {
                "sale": after_sale,
                "line": OrderLine(order=ready, product=orange, pickup_code=None),
                "hours": 48,
                "due": "12-07 14:00",
                "in_group": False,
            },
            "已提交售后申请：赣南脐橙，仅退款 ¥5.00。\n团长会在 48 小时内处理，12-07 14:00 前",
        ),
        (
            {
                "sale": after_sale,
                "line": OrderLine(order=ready, product=orange, pickup_code=None),
                "hours": 48,
                "due": "12-07 14:00",
                "number": 2,
            },
            "已提交你第 2 个订单的售后申请（仅退款）。团长会在 48 小时内处理，12-07 14:00 前",
        ),
    ],
    "aftersales/why.j2": [
        (
            {
                "line": OrderLine(order=ready, product=orange, pickup_code=None),
                "number": 2,
                "in_group": False,
            },
            "第 2 个订单 赣南脐橙（5斤装） ×1：请写上原因再提交，例如「售后 2 有几个坏了」。",
        ),
        (
            {"line": OrderLine(order=ready, product=orange, pickup_code=None), "number": 2},
            "你的第 2 个订单：请写上原因再提交，例如「售后 2 有几个坏了」。",
        ),
    ],
    "aftersales/list.j2": [
        ({"requests": []}, "你还没有可以申请售后的订单"),
        (
            {
                "lines": [OrderLine(order=ready, product=orange, pickup_code=None)],
                "requests": [after_sale],
            },
            "· 赣南脐橙 · 仅退款 ¥5.00 · 待处理 · 12-05",
        ),
        (
            {
                "lines": [OrderLine(order=ready, product=orange, pickup_code=None)],
                "requests": [after_sale],
            },
            "1. 赣南脐橙 ×1 ¥29.90 · 12-05 · 售后申请处理中，不用再申请",
        ),
        *(
            (
                {"lines": [], "requests": [NS(**{**vars(after_sale), **approved})]},
                f"· 仅退款 ¥5.00 · {shows} · 12-05",
            )
            for approved, shows in (
                ({"status": NS(value="approved"), "refund": None}, "已同意，退款中"),
                (
                    {"status": NS(value="approved"), "refund": NS(status=NS(value="submitted"))},
                    "已同意，退款中",
                ),
                (
                    {
                        "status": NS(value="approved"),
                        "refund": NS(status=NS(value="succeeded"), amount=500),
                    },
                    "已同意，已退款 ¥5.00",
                ),
                (
                    {"status": NS(value="approved"), "refund": NS(status=NS(value="failed"))},
                    "已同意，退款失败，客服会重新发起",
                ),
            )
        ),
        (  # a request for an order the list no longer shows: no goods to name
            {"lines": [], "requests": [after_sale]},
            "你的售后申请：\n· 仅退款 ¥5.00 · 待处理 · 12-05",
        ),
    ],
    "alerts/reconciliation.j2": [
        (
            {"run": bill_run, "items": [bill_item]},
            "⚠️ 对账提醒：2026-12-04 的微信支付账单有 1 处差异。\n"
            "· 支付 金额不一致：QS1 账单 ¥19.00 我们 ¥19.90",
        ),
        (
            {
                "run": NS(bill_date=date(2026, 12, 4), error="SYSTEMERROR", differences=0),
                "items": [],
            },
            "没能取到",
        ),
    ],
    "welcome.j2": [({}, "欢迎来到群团购"), ({"returning": True}, "欢迎回来")],
    **{name: [(BARGAIN_VALUES, shows)] for name, shows in BARGAIN_CASES.items()},
    "bargains/running.j2": [
        (BARGAIN_VALUES, BARGAIN_CASES["bargains/running.j2"]),
        (
            {
                **BARGAIN_VALUES,
                "view": NS(
                    **vars(bargain_view)
                    | {"state": "reached", "bargain": NS(**vars(bargain) | {"price_now": 990})}
                ),
            },
            "已经砍到底价啦，请在 ",
        ),
        # Its order lapsed before the floor: cutting stopped, it may be bought again as is.
        (
            {**BARGAIN_VALUES, "view": NS(**vars(bargain_view) | {"state": "reached"})},
            "砍价已停止（上次下的单没付款，已取消），可以按现价再下单",
        ),
    ],
    # A card invites a cut only while friends may cut.
    "cards/bargain_title.j2": [
        (BARGAIN_VALUES, BARGAIN_CASES["cards/bargain_title.j2"]),
        (
            {"view": NS(**vars(bargain_view) | {"state": "closed"})},
            "砍价活动已结束 · 赣南脐橙 5斤装",
        ),
        ({"view": NS(**vars(bargain_view) | {"state": "expired"})}, "砍价已结束 · 赣南脐橙 5斤装"),
        ({"view": NS(**vars(bargain_view) | {"state": "purchased"})}, "已砍到 ¥59.90 · 赣南脐橙"),
    ],
    "errors/bargain_not_yours.j2": [
        (
            {"error": Forbidden(ErrorCode.BARGAIN_NOT_YOURS, "x", bargain_code="7K3MXQ2A")},
            "这个砍价 7K3MXQ2A 是别人发起的，只有发起人才能按砍后价购买。\n还没帮砍的话，可以"
            "发送「帮砍 7K3MXQ2A」帮TA砍一刀；想自己买，发送「砍价」发起你自己的砍价。",
        ),
        ({"error": Forbidden(ErrorCode.BARGAIN_NOT_YOURS, "x")}, "还没帮砍的话，可以帮TA砍一刀；"),
    ],
    "bargains/offers.j2": [
        ({"offers": [bargain_offer], "mine": [bargain_view]}, "1. 赣南脐橙（5斤装） ¥99.00，找 5"),
        ({"offers": [], "mine": [bargain_view]}, "你的砍价 7K3MXQ2A：赣南脐橙 5斤装 现价 ¥59.90"),
        ({"offers": [], "mine": []}, "现在没有可以砍价的商品"),
        (  # its order waits for payment: said so, alone with the amount and its number
            {"offers": [], "mine": [bargain_ordered], "numbers": {ready.id: 2}, "in_group": False},
            "你的砍价 7K3MXQ2A：赣南脐橙 5斤装 已按 ¥29.90 下单，待付款：请在 12-05 14:15 前"
            "到小程序「我的订单」付款，超时订单会取消。发送「我的订单」能看到它（第 2 个订单）。",
        ),
        (  # bought early and the order lapsed: stopped short of the floor, not "cut to it"
            {"offers": [], "mine": [NS(**{**vars(bargain_view), "state": "reached"})]},
            "你的砍价 7K3MXQ2A：赣南脐橙 5斤装 现价 ¥59.90，"
            "砍价已停止（上次下的单没付款，已取消），发送「砍价购买 7K3MXQ2A」下单",
        ),
        (
            {"offers": [], "mine": [bargain_ordered]},
            "你的砍价 7K3MXQ2A 已下单，待付款：请在 12-05 14:15 前到小程序「我的订单」付款",
        ),
    ],
    "bargains/no_such_offer.j2": [({"number": 3, "count": 1}, "没有第 3 个砍价商品（共 1 个）")],
    "tier.j2": [
        ({"tier": tier_standing, "perks": tier_perks}, "你是「银卡」，近 365 天成长值 120.00"),
        (
            {
                "tier": NS(level=None, growth=0, window_days=365, next_level=silver, to_next=10000),
                "perks": NS(
                    discount_bps=0, points_multiplier_pct=100, monthly_coupon_template_ids=()
                ),
            },
            "再消费 ¥100.00 升级为「银卡」",
        ),
    ],
    "digest.j2": [
        (
            {
                "digest": NS(
                    community=community,
                    questions=[NS(text="几号到货？")],
                    reports=[(NS(kind="review"), 2)],
                ),
                "base_url": "https://shop.example.com",
            },
            "新提问 1 条：\n1. 几号到货？\n被举报的内容 1 条，等待运营处理：\n1. 评价（2 人举报）",
        ),
    ],
    "notice_held.j2": [({"reason": "微信内容安全建议人工复核（广告）"}, "运营通过后会发到群里")],
    "errors/user_muted.j2": [
        (
            {"error": Forbidden(ErrorCode.USER_MUTED, "x", until="2026-12-06T06:00:00+00:00")},
            "2026-12-06 06:00（UTC）后可以再发言",
        ),
        ({"error": Forbidden(ErrorCode.USER_MUTED, "x")}, "被暂时禁言。"),
    ],
    "reviews/list.j2": [
        ({"orders": []}, "没有待评价的订单"),
        (
            {
                "orders": [
                    NS(
                        sku=NS(name="5斤装", product=NS(title="赣南脐橙")),
                        quantity=1,
                        picked_up_at=NOW,
                    )
                ],
                "tz": TZ,
            },
            "1. 赣南脐橙 5斤装 ×1 · 12-05 取货\n发送「评价 序号 星级 内容」",
        ),
    ],
    "reviews/written.j2": [
        (
            {
                "written": NS(held=False, review=NS(rating=4), reason=""),
                "order": NS(sku=NS(product=NS(title="赣南脐橙"))),
            },
            "谢谢你的评价！「赣南脐橙」★★★★，已展示在商品页。",
        ),
        (
            {"written": NS(held=True, reason="图片等待微信内容安全结果"), "order": None},
            "评价已提交（图片等待微信内容安全结果），审核通过后展示。",
        ),
    ],
}


def cases() -> list[tuple[str, dict[str, Any], str]]:
    found = []
    for name in ENV.list_templates():
        if name.endswith("_when.j2"):  # macros, rendered through created.j2 and list.j2
            continue
        if name.startswith("news/"):  # rendered from real news facts in test_news_words.py
            continue
        for overrides, shows in CASES.get(name, [({}, "")]):
            found.append((name, overrides, shows))
    return found


@pytest.mark.parametrize(("name", "overrides", "shows"), cases())
def test_every_reply_renders_and_reads_well(
    name: str, overrides: dict[str, Any], shows: str
) -> None:
    text = ENV.get_template(name).render(**{**BASE, **overrides}).strip()
    assert text, name
    assert shows in text, text
    for wrong in ("None", "还差 0 人", "{{", "Undefined"):
        assert wrong not in text, (name, text)
    if name in ("activities/created.j2", "activities/list.j2"):  # schedules echo in words
        assert "* *" not in text, text
