"""The operator console over HTTP: login from chat, roles, parked refunds, stock, growth rules,
orders, and the audit log each change leaves (which the database keeps append-only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tortoise.exceptions import OperationalError

from models.audit import AuditEntry
from models.catalog import Sku
from models.chat import ChatIdentity
from models.community import Community
from models.outbox import OutboxStatus
from models.payment import Refund, RefundStatus
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from services import catalog, leaders, outbox
from services.auth import Principal
from tests.support.factories import auth, make_user
from tests.web.admin_world import operator, parked_refund, refund_handlers
from tests.web.test_console import _login, _say


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _admin(client: TestClient) -> tuple[User, str]:
    admin = await operator()
    reply = await _say(client, "后台", "ops")
    assert reply.startswith("运营后台")  # an operator's link says where it leads
    link = re.search(r"http\S+/console/login\?token=\S+", reply).group(0)
    return admin, await _login(client, link, home="/admin")


async def _post(client: TestClient, cookies: str, path: str, page: str, **data: str) -> str:
    form = await client.get(page, headers={"Cookie": cookies})
    response = await client.post(
        path, data={"csrf_token": _csrf(await form.text()), **data}, headers={"Cookie": cookies}
    )
    assert response.status == 200, await response.text()
    return await response.text()


async def test_an_operators_login_page_says_operators_console(web_client: TestClient) -> None:
    await operator()
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "ops"))
    page = await (await web_client.get(link.group(0).split("8080", 1)[1])).text()
    assert "<title>运营后台登录" in page and "<h1>运营后台</h1>" in page, page
    assert "团长后台" not in page
    leader = await make_user(Role.LEADER)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="li", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(web_client, "后台", "li"))
    page = await (await web_client.get(link.group(0).split("8080", 1)[1])).text()
    assert "<h1>团长后台</h1>" in page and "运营后台" not in page


async def test_an_operator_changes_a_role_and_the_change_is_audited(
    web_client: TestClient,
) -> None:
    admin, cookies = await _admin(web_client)
    shopper = await make_user(nickname="刘阿姨")
    html = await _post(
        web_client,
        cookies,
        "/admin/users/role",
        "/admin/users",
        user_id=str(shopper.id),
        role="leader",
    )
    assert "刘阿姨 现在是团长" in html
    assert (await User.get(id=shopper.id)).role is Role.LEADER
    (entry,) = await AuditEntry.all()
    assert (entry.actor_id, entry.actor_name, entry.action) == (admin.id, "运营小张", "user.role")
    assert (entry.before, entry.after) == ({"role": "shopper"}, {"role": "leader"})
    audit = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "user.role" in audit and "运营小张" in audit
    # The change as an operator reads it, not as the database keeps it.
    assert "角色：顾客 → 角色：团长" in audit and '"role"' not in audit
    own = await web_client.post(
        "/admin/users/role",
        data={"csrf_token": _csrf(html), "user_id": str(admin.id), "role": "shopper"},
        headers={"Cookie": cookies},
    )
    assert own.status == 409 and (await User.get(id=admin.id)).role is Role.ADMIN
    # ...so the page offers their own row no role forms that could only be refused.
    users = await (await web_client.get("/admin/users", headers={"Cookie": cookies})).text()
    row = re.search(rf'<tr data-user="{admin.id}">.*?</tr>', users, re.S).group(0)
    assert "data-self" in row and "<form" not in row and "撤销" not in row
    row = re.search(rf'<tr data-user="{shopper.id}">.*?</tr>', users, re.S).group(0)
    assert 'action="/admin/users/role"' in row and "撤销团长" in row
    leader_cookies = await web_client.get("/admin", headers={"Cookie": "qs_session=" + "x" * 40})
    assert leader_cookies.status == 401


async def test_the_audit_log_refuses_updates_and_deletes(web_client: TestClient) -> None:
    actor = await make_user(Role.ADMIN)
    entry = await AuditEntry.create(
        actor_id=actor.id, actor_name="a", action="x", target="t", at=datetime.now(tz=UTC)
    )
    for change in (
        AuditEntry.filter(id=entry.id).update(action="y"),
        AuditEntry.filter(id=entry.id).delete(),
    ):
        with pytest.raises((OperationalError, asyncpg.RaiseError), match="append-only"):  # noqa: B017
            await change
    assert (await AuditEntry.get(id=entry.id)).action == "x"


async def test_an_operator_retries_a_parked_refund(
    web_client: TestClient, web_app, settings, wechat, clock: FrozenClock
) -> None:
    message = await parked_refund(web_app, settings, wechat, clock.now())
    assert message.status is OutboxStatus.DEAD
    _, cookies = await _admin(web_client)
    page = await (await web_client.get("/admin/parked", headers={"Cookie": cookies})).text()
    assert "refund.submit" in page and "MCHID_NOT_EXIST" in page and "¥9.90" in page
    html = await _post(
        web_client, cookies, "/admin/parked/retry", "/admin/parked", message_id=str(message.id)
    )
    assert "已重新发送：refund.submit" in html and "没有放弃发送的消息" in html
    again = await web_client.post(
        "/admin/parked/retry",
        data={"csrf_token": _csrf(html), "message_id": str(message.id)},
        headers={"Cookie": cookies},
    )
    assert again.status == 409  # retried once, however many times it is pressed
    assert await outbox.run_once(refund_handlers(web_app, settings), now=clock.now()) == 1
    assert (await Refund.get()).status is RefundStatus.SUBMITTED
    (entry,) = await AuditEntry.filter(action="outbox.retry")
    assert entry.before["status"] == "dead" and entry.after["status"] == "pending"


async def test_an_operator_sets_price_stock_and_growth_rules(web_client: TestClient) -> None:
    admin, cookies = await _admin(web_client)
    actor = Principal(user_id=admin.id, role=admin.role)
    product = await catalog.create_product(
        actor=actor, title="赣南脐橙", skus=[catalog.SkuSpec(name="5斤装", price=2990, stock=10)]
    )
    sku = product.skus[0]
    page = await (await web_client.get("/admin/products", headers={"Cookie": cookies})).text()
    assert "赣南脐橙" in page and 'value="29.90"' in page
    html = await _post(
        web_client,
        cookies,
        "/admin/skus",
        "/admin/products",
        sku_id=str(sku.id),
        price="25.5",
        stock="40",
    )
    assert "已保存：5斤装" in html
    assert (await Sku.get(id=sku.id)).price == 2550 and (await Sku.get(id=sku.id)).stock == 40
    bad = await web_client.post(
        "/admin/skus",
        data={"csrf_token": _csrf(html), "sku_id": str(sku.id), "price": "-1", "stock": "1"},
        headers={"Cookie": cookies},
    )
    assert bad.status == 400 and (await Sku.get(id=sku.id)).price == 2550
    html = await _post(  # rates typed as percent, stored in 万分之一
        web_client,
        cookies,
        "/admin/growth",
        "/admin/growth",
        leader_share_bps="6",
        invite1_bps="2",
        invite2_bps="0.5",
        binding_scope="new_users",
        binding_days="",
    )
    assert 'name="invite2_bps" value="0.5"' in html  # and shown as percent again
    entries = {e.action: e for e in await AuditEntry.all()}
    assert entries["sku.update"].before == {"price": 2990, "stock": 10}
    assert entries["sku.update"].after == {"price": 2550, "stock": 40}
    assert entries["growth.rules"].after["binding_days"] is None
    assert entries["growth.rules"].after["invite_bps"] == [200, 50]
    assert entries["growth.rules"].after["leader_share_bps"] == 600


async def _apply(name: str, nickname: str, clock: FrozenClock) -> tuple[User, str]:
    applicant = await make_user(nickname=nickname)
    draft = leaders.ApplicationDraft(
        community_name=name, pickup_name="东门驿站", pickup_address="东门 3 号"
    )
    done = await leaders.apply(
        actor=Principal(user_id=applicant.id, role=applicant.role), draft=draft, now=clock.now()
    )
    return applicant, str(done.id)


async def test_an_operator_approves_and_rejects_leader_applications(
    web_client: TestClient, clock: FrozenClock
) -> None:
    admin, cookies = await _admin(web_client)
    wang, wang_app = await _apply("翠湖小区团", "王五", clock)
    zhao, zhao_app = await _apply("枫林小区团", "赵六", clock)
    page = await (await web_client.get("/admin/leaders", headers={"Cookie": cookies})).text()
    assert "翠湖小区团" in page and "枫林小区团" in page and "王五" in page
    html = await _post(
        web_client, cookies, "/admin/leaders/approve", "/admin/leaders", application_id=wang_app
    )
    assert "已批准：翠湖小区团" in html and "翠湖小区团</h3>" not in html
    assert (await User.get(id=wang.id)).role is Role.LEADER
    assert await Community.filter(name="翠湖小区团", leader_id=wang.id).exists()
    # A reason is required to reject; the refusal is a page, and nothing changed.
    empty = await web_client.post(
        "/admin/leaders/reject",
        data={"csrf_token": _csrf(html), "application_id": zhao_app, "reason": " "},
        headers={"Cookie": cookies},
    )
    assert empty.status == 400 and "text/html" in empty.headers["Content-Type"]
    html = await _post(
        web_client,
        cookies,
        "/admin/leaders/reject",
        "/admin/leaders",
        application_id=zhao_app,
        reason="小区已有团长",
    )
    assert "已拒绝：枫林小区团" in html
    assert (await User.get(id=zhao.id)).role is Role.SHOPPER
    twice = await web_client.post(
        "/admin/leaders/approve",
        data={"csrf_token": _csrf(html), "application_id": zhao_app},
        headers={"Cookie": cookies},
    )
    assert twice.status == 409 and "已经处理过了" in await twice.text()
    decided = await web_client.get("/admin/leaders?status=rejected", headers={"Cookie": cookies})
    decided_html = await decided.text()
    assert "小区已有团长" in decided_html and "已拒绝 · " in decided_html
    # Every decision is audited with the operator; the approval's role change too.
    actions = {e.action: e for e in await AuditEntry.filter(actor_id=admin.id)}
    assert set(actions) == {"leader.approve", "leader.reject", "user.role"}
    assert actions["leader.reject"].after == {"status": "rejected", "reason": "小区已有团长"}
    assert actions["leader.approve"].target == f"leader_application:{wang_app}"
    assert actions["user.role"].target == f"user:{wang.id}"
    log = await (await web_client.get("/admin/audit", headers={"Cookie": cookies})).text()
    assert "leader.approve" in log and "leader.reject" in log


async def test_roles_changed_through_the_api_are_audited_and_revoked_from_the_page(
    web_client: TestClient, settings, clock: FrozenClock
) -> None:
    admin, cookies = await _admin(web_client)
    li = await make_user(nickname="李四")
    granted = await web_client.post(
        f"/api/v1/admin/users/{li.id}/roles",
        json={"role": "leader"},
        headers=auth(admin, settings, clock.now()),
    )
    assert granted.status == 200
    (entry,) = await AuditEntry.filter(target=f"user:{li.id}")
    assert (entry.action, entry.after) == ("user.role", {"role": "leader"})
    html = await _post(
        web_client,
        cookies,
        "/admin/users/revoke",
        "/admin/users",
        user_id=str(li.id),
        role="leader",
    )
    assert "李四 现在是顾客" in html
    assert (await User.get(id=li.id)).role is Role.SHOPPER
    assert await AuditEntry.filter(target=f"user:{li.id}").count() == 2
