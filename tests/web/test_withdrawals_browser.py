"""提现 in Chromium at 375 px: the leader asks on /console/earnings, the operator approves on
/admin/withdrawals through the confirm page; each page fits a phone with no browser error."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from models.chat import ChatIdentity
from models.growth import Withdrawal, WithdrawalStatus
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import earnings
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order
from tests.web import browser
from tests.web.admin_world import operator
from tests.web.test_consoles_browser import _check, _login

pytestmark = browser.NEEDED


async def test_a_withdrawal_asked_and_approved_on_a_phone(
    chromium: Browser,
    web_client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    order = await paid_order(settings, wechat, await make_user(), community, price=100_000)
    await earnings.on_completed(order, now=clock.now())
    await operator("ops")

    liu = await _login(chromium, web_client, "liu")
    await liu.page.goto(str(web_client.make_url("/console/earnings")))
    await _check(liu)
    await liu.page.fill("#wd-amount", "12.5")
    await liu.page.click("text=申请提现")
    await liu.page.wait_for_load_state("load")
    main = await liu.page.inner_text("main")
    assert "已申请提现 ¥12.50" in main and "提现 ¥12.50 等待运营审核" in main, main
    await _check(liu)
    await liu.screenshot("withdrawal-console-375")

    ops = await _login(chromium, web_client, "ops")
    await ops.page.goto(str(web_client.make_url("/admin/withdrawals")))
    assert "待审核的提现（1）" in await ops.page.inner_text("main")
    await _check(ops)
    await ops.page.click("text=同意并付款")
    await ops.page.wait_for_load_state("load")
    assert "同意提现 ¥12.50？" in await ops.page.inner_text("main")
    await _check(ops)
    await ops.page.click("text=确认同意并付款")
    await ops.page.wait_for_load_state("load")
    main = await ops.page.inner_text("main")
    assert "正在付到团长的微信零钱" in main and "付款中（1）" in main, main
    await _check(ops)
    await ops.screenshot("withdrawal-admin-375")
    (made,) = await Withdrawal.all()
    assert (made.amount, made.status) == (1_250, WithdrawalStatus.APPROVED)
