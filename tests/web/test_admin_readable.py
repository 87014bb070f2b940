"""The operator's pages read as a person reads: an order's buyer, product and status in
Chinese; the audit log's actions by name and its values as written; a listing under review
with its title, prices, supplier and images."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.user import Role, User
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.templates import order_state
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order
from tests.web.test_admin import _admin, _post


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


async def test_an_order_shows_its_buyer_product_and_status_in_chinese(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    _, cookies = await _admin(web_client)
    community = await make_community(name="幸福里社区")
    buyer = await User.create(openid="o-no-name", nickname="")
    order = await paid_order(settings, wechat, buyer, community)
    await order.fetch_related("sku__product")
    page = await web_client.get(
        f"/admin/orders?q={order.out_trade_no}", headers={"Cookie": cookies}
    )
    html = await page.text()
    assert page.status == 200 and "找到 1 个订单" in html
    buyer_name = f"顾客（单号尾号 {order.out_trade_no[-4:]}）"  # a buyer with no nickname
    # Its only SKU's placeholder name (默认) is not shown after the product's title.
    assert f"{buyer_name} · {order.sku.product.title} ×1" in html
    assert f'<td data-label="状态"><span>{order_state(order.status, order.kind)}</span>' in html
    assert f"<td>{order.status.value}</td>" not in html
    # A text longer than an order number, but still an openid's length, finds the buyer's
    # orders or none: it was a 500 (Tortoise refuses to compare it with out_trade_no).
    for q in ("x" * 33, "x" * 64, buyer.openid):
        page = await web_client.get(f"/admin/orders?q={q}", headers={"Cookie": cookies})
        assert page.status == 200, q
    assert "找到 1 个订单" in await page.text()


async def test_the_audit_log_names_actions_and_shows_chinese_as_written(
    web_client: TestClient,
) -> None:
    _, cookies = await _admin(web_client)
    await _post(web_client, cookies, "/admin/words/add", "/admin/words", words="假货")
    html = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "加敏感词" in html and "假货" in html
    assert "\\u5047" not in html  # not escaped JSON


async def test_the_audit_log_shows_money_in_yuan_and_states_in_words(
    web_client: TestClient,
) -> None:
    """An approved after-sale reads 状态：待处理 … 金额：¥19.90, not its stored keys and fen."""
    admin, cookies = await _admin(web_client)
    await AuditEntry.create(
        actor_id=admin.id,
        actor_name="运营小张",
        action="after_sale.approve",
        target="after_sale:1",
        before={"status": "pending", "amount": 1990},
        after={"status": "approved", "refunded": 1990, "note": ""},
        at=datetime.now(tz=UTC),
    )
    html = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "状态：待处理，金额：¥19.90 → 状态：已同意，退款：¥19.90，备注：无" in html
    assert "1990" not in html and "pending" not in html


async def test_the_users_page_names_roles_in_chinese(web_client: TestClient) -> None:
    _, cookies = await _admin(web_client)
    await make_community(name="幸福里社区")  # and its leader
    await make_user(Role.ADMIN)  # another operator (one's own row has no role forms)
    html = await (await web_client.get("/admin/users", headers={"Cookie": cookies})).text()
    for name in ("顾客", "团长", "管理员"):
        assert f">{name}</option>" in html
    assert "撤销团长" in html and "撤销管理员" in html
    for key in ("shopper", "leader", "admin"):
        assert f">{key}</option>" not in html and f"撤销 {key}" not in html
