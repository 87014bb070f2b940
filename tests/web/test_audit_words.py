"""The audit log reads in Chinese: every key the services write by its name, money as ¥,
kinds and states in words, nothing missing as null, ids as the thing's name or shortened."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.coupon import CouponKind, CouponTemplate
from models.user import Role
from qunshop.clock import FrozenClock
from tests.support.factories import make_community, make_sku, make_user
from tests.web.test_admin import _admin, _post

SERVICES = Path(__file__).parents[2] / "services"
ASCII_WORD = re.compile(r"[A-Za-z_]{3,}")  # a stored key, an enum's value, a null
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
SHORT_ID = re.compile(r"[0-9a-f]{8}…")  # a gone thing's id, shortened


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


def _written_actions() -> set[str]:
    """Every action the services record (``action="..."`` near ``audit.record``)."""
    found: set[str] = set()
    for path in SERVICES.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"audit\.record\((.{0,400}?)\n\s*\)", text, flags=re.S):
            found |= set(re.findall(r'"([a-z_]+\.[a-z_.]+)"', call.group(1)))
            if 'f"moderation.{' in call.group(1):
                found |= {"moderation.approved", "moderation.rejected"}
        if "action=action" in text:  # leaders.py passes its action in
            found |= set(re.findall(r'"(leader\.[a-z]+)"', text))
    return found


def _cells(page: str) -> list[str]:
    rows = re.findall(r'<tr class="audit">(.*?)</tr>', page, flags=re.S)
    return [re.sub(r'<span title="[^"]*">|<[^>]+>', " ", row) for row in rows]


async def test_every_audit_entry_the_services_write_reads_in_chinese(
    web_client: TestClient, clock: FrozenClock
) -> None:
    operator, cookies = await _admin(web_client)
    leader = await make_user(Role.LEADER, nickname="李团长")
    community = await make_community(leader, name="阳光花园")
    sku = await make_sku(community)
    buyer = await make_user(nickname="王阿姨")
    gift = await CouponTemplate.create(
        name="银卡月礼",
        kind=CouponKind.AMOUNT,
        amount_off=500,
        stock_total=10,
        stock_left=10,
        valid_days=30,
        created_by=operator,
        created_at=clock.now(),
    )
    coupon = str(gift.id)
    order = str(uuid.uuid4())  # gone: shown shortened
    draft = {
        "name": "满20减5",
        "kind": "amount",
        "stock_total": 100,
        "threshold": 2000,
        "amount_off": 500,
        "percent_off": 0,
        "max_off": 0,
        "new_user_only": False,
        "scope": "all",
        "scope_ref": "",
        "per_user_limit": 1,
        "valid_from": None,
        "valid_until": "2026-03-09T16:00:00+00:00",
        "valid_days": None,
        "claimable": True,
        "points_price": None,
        "grant_rule": "none",
        "rule_days": None,
        "community_id": None,
    }
    level = {
        "name": "银卡",
        "threshold": 50000,
        "discount_bps": 250,
        "points_multiplier_pct": 150,
        "coupon_template_ids": [coupon],
    }
    ladder = {"window_days": 365, "lower_mid_month": False, "timezone": "Asia/Shanghai"}
    samples: dict[str, tuple[str, dict, dict]] = {
        "user.role": (f"user:{buyer.id}", {"role": "shopper"}, {"role": "leader"}),
        "leader.approve": (
            f"leader_application:{uuid.uuid4()}",
            {"status": "pending", "user": str(buyer.id)},
            {"status": "approved", "community": str(community.id)},
        ),
        "leader.reject": (
            f"leader_application:{uuid.uuid4()}",
            {"status": "pending", "user": str(buyer.id)},
            {"status": "rejected", "reason": "资料不全"},
        ),
        "sku.update": (f"sku:{sku.id}", {"price": 1990, "stock": 10}, {"price": 1890, "stock": 9}),
        "growth.rules": (
            "growth:global",
            {
                "leader_share_bps": 1000,
                "invite_bps": [300, 100],
                "binding_scope": "any",
                "binding_days": None,
            },
            {
                "leader_share_bps": 1250,
                "invite_bps": [300, 100],
                "binding_scope": "new_users",
                "binding_days": 30,
            },
        ),
        "tiers.ladder": ("tiers", {**ladder, "levels": []}, {**ladder, "levels": [level]}),
        "outbox.retry": (
            f"outbox:{uuid.uuid4()}",
            {"status": "dead", "attempts": 8, "last_error": "超时"},
            {"status": "pending", "attempts": 0, "kind": "refund.submit"},
        ),
        "personal.read": (
            f"user:{buyer.id}",
            {},
            {"fields": ["recipient", "phone"], "home_delivery": str(uuid.uuid4())},
        ),
        "coupon_template.create": (f"coupon_template:{coupon}", {}, draft),
        "coupon_template.close": (f"coupon_template:{coupon}", {"active": True}, {"active": False}),
        "bargain_offer.open": (
            f"bargain_offer:{uuid.uuid4()}",
            {},
            {
                "sku_id": str(sku.id),
                "floor_price": 990,
                "helpers_needed": 5,
                "hours": 24,
                "new_users_only": False,
            },
        ),
        "bargain_offer.close": (
            f"bargain_offer:{uuid.uuid4()}",
            {"active": True},
            {"active": False, "bargains_ended": 2},
        ),
        "moderation.words.add": ("banned_words:广告", {}, {"words": ["加微信"]}),
        "moderation.words.remove": ("banned_words:-", {"word": "加微信"}, {}),
        "moderation.approved": (
            f"post:{uuid.uuid4()}",
            {"status": "review", "reason": "举报"},
            {"status": "approved", "reason": ""},
        ),
        "moderation.rejected": (
            f"nickname:{buyer.id}",
            {"status": "review", "reason": "举报"},
            {"status": "rejected", "reason": "不文明"},
        ),
        "supplier.approve": (
            f"supplier:{uuid.uuid4()}",
            {"status": "pending", "name": "好果园"},
            {"status": "approved", "reason": ""},
        ),
        "supplier.reject": (
            f"supplier:{uuid.uuid4()}",
            {"status": "pending", "name": "好果园"},
            {"status": "rejected", "reason": "执照过期"},
        ),
        "listing_review.approve": (
            f"review:{uuid.uuid4()}",
            {"status": "pending", "kind": "listing"},
            {"status": "approved", "reason": ""},
        ),
        "listing_review.reject": (
            f"review:{uuid.uuid4()}",
            {"status": "pending", "kind": "price"},
            {"status": "rejected", "reason": "价格过高"},
        ),
        "after_sale.approve": (
            f"after_sale:{uuid.uuid4()}",
            {"status": "pending", "order": order, "amount": 2690},
            {"status": "approved", "refunded": 2690, "note": ""},
        ),
        "after_sale.reject": (
            f"after_sale:{uuid.uuid4()}",
            {"status": "pending", "order": order, "amount": 2690},
            {"status": "rejected", "refunded": 0, "note": "已提货"},
        ),
        "claim.approve": (
            f"claim:{uuid.uuid4()}",
            {"status": "pending", "lines": 3},
            {"status": "approved", "refunded": 5970, "note": ""},
        ),
        "claim.reject": (
            f"claim:{uuid.uuid4()}",
            {"status": "pending", "lines": 3},
            {"status": "rejected", "refunded": 0, "note": "照片不清"},
        ),
        "withdrawal.approve": (
            f"withdrawal:{uuid.uuid4()}",
            {"status": "requested", "amount": 3000},
            {"status": "approved", "amount": 3000, "reason": ""},
        ),
        "withdrawal.reject": (
            f"withdrawal:{uuid.uuid4()}",
            {"status": "requested", "amount": 3000},
            {"status": "rejected", "amount": 3000, "reason": "收款账号需先实名"},
        ),
        "flash_sale.stop": (
            f"flash_sale:{uuid.uuid4()}",
            {"stock_left": 7, "ends_at": "2026-03-02T03:00:00+00:00"},
            {"stock_left": 0, "ends_at": "2026-03-02T02:00:00+00:00"},
        ),
        "community.leader": (
            f"community:{community.id}",
            {"leader_id": str(community.leader_id)},
            {"leader_id": str(buyer.id)},
        ),
    }
    assert _written_actions() <= set(samples), _written_actions() - set(samples)
    for action, (target, before, after) in samples.items():
        await AuditEntry.create(
            actor_id=operator.id,
            actor_name="运营小张",
            action=action,
            target=target,
            before=before,
            after=after,
            at=clock.now(),
        )
    page = await (await web_client.get("/admin/audit?size=200", headers={"Cookie": cookies})).text()
    cells = _cells(page)
    assert len(cells) == len(samples)
    for cell in cells:
        assert not ASCII_WORD.search(SHORT_ID.sub("", cell)), cell
        assert not UUID_TEXT.search(cell), cell
    text = " ".join(cells)
    for said in (
        "类型：满减",
        "门槛：¥20.00",
        "减多少：¥5.00",
        "生效时间：不限",
        "自动发放：不自动发放",
        "社区：全店",
        "商品：",
        "商品 测试商品",  # its only SKU: the product's title alone, never 默认
        "团长分成：12.5%",
        "用户：王阿姨",
        "团长：李团长 → 团长：王阿姨",
        "社区 阳光花园",
        "等级：银卡（",
        "拼团价折扣：2.5%",
        "每月券包：银卡月礼",
        "查看的信息：收件人、手机号",
        "类型：提交退款",
        f"订单：{order[:8]}…",
        "剩余库存：7 件，结束时间：2026-03-02 11:00 → 剩余库存：0 件，结束时间：2026-03-02 10:00",
    ):
        assert said in text, said


async def test_a_coupon_made_through_the_form_reads_in_chinese_in_the_log(
    web_client: TestClient, clock: FrozenClock
) -> None:
    _, cookies = await _admin(web_client)
    fields = {"name": "满20减5", "kind": "amount", "threshold": "20", "amount_off": "5"}
    fields |= {"stock_total": "100", "per_user_limit": "1", "valid_days": "7"}
    await _post(web_client, cookies, "/admin/coupons", "/admin/coupons", **fields)
    home = await (await web_client.get("/admin", headers={"Cookie": cookies})).text()
    (cell,) = _cells(home)
    assert "优惠券 满20减5" in cell and "新建优惠券" in cell
    assert "门槛：¥20.00" in cell and "领取后有效：7 天" in cell and "截止时间：不限" in cell
    assert not ASCII_WORD.search(cell), cell
