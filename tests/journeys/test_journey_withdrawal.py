"""A leader withdraws (提现) earnings: asks in chat, an operator approves on /admin, the outbox
pays through WeChat Pay's 企业付款到零钱, the ledger settles and the leader is told. And the
ways it ends otherwise: rejected, refused by WeChat Pay, asked twice at once, asked wrongly."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from models.audit import AuditEntry
from models.chat import ChatIdentity
from models.growth import EarningEntry, EarningEvent, Withdrawal, WithdrawalStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.supply import ReviewDecision, ReviewStatus
from models.user import User
from qunshop.chat import Platform
from services import earnings
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_user
from tests.support.growth import paid_order
from tests.web.admin_world import operator
from tests.web.test_console import _login
from wechat import pay

TRANSFERS = "/mmpaymkttransfers/promotion/transfers"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _earning_leader(doors: Doors, sender: str = "wang") -> User:
    """A leader whose share of a ¥1000 order is released: ¥50.00 available."""
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=leader)
    order = await paid_order(
        doors.settings, doors.wechat, await make_user(), community, price=100_000
    )
    await earnings.on_completed(order, now=doors.clock.now())
    assert (await earnings.balance(leader.id)).available == 5_000
    return leader


async def _admin_cookies(doors: Doors) -> str:
    await operator()
    said = await doors.say_alone("后台", sender="ops")
    link = re.search(r"http\S+/console/login\?token=\S+", said)
    assert link, said
    return await _login(doors.client, link.group(0), home="/admin")


async def _decide(doors: Doors, cookies: str, action: str, **fields: str) -> str:
    """Press the button on /admin/withdrawals, then confirm on the page it answers."""
    html = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    form = {"csrf_token": _csrf(html), **fields}
    path = f"/admin/withdrawals/{action}"
    asked = await doors.client.post(path, data=form, headers={"Cookie": cookies})
    assert asked.status == 200 and "确认" in await asked.text()
    done = await doors.client.post(
        path, data=form | {"confirm": "yes"}, headers={"Cookie": cookies}
    )
    assert done.status == 200, await done.text()
    return await done.text()


async def _ledger(leader: User) -> list[tuple[str, int]]:
    """The leader's withdrawal rows, the ask before its outcome (the frozen clock may stamp
    both alike)."""
    rows = await EarningEntry.filter(earner_id=leader.id, withdrawal_id__not_isnull=True)
    rows.sort(key=lambda r: (r.created_at, r.event is not EarningEvent.WITHDRAW))
    return [(r.event.value, r.available_delta) for r in rows]


async def test_a_leader_withdraws_from_chat_and_is_paid_to_wechat_change(doors: Doors) -> None:
    leader = await _earning_leader(doors)

    # In the group it is refused: money is not the group's business.
    in_group = await doors.say_in_group("提现 30", sender="wang")
    assert "私聊" in in_group and await Withdrawal.all().count() == 0

    # One to one: ¥30 leaves the available balance at once.
    said = await doors.say_alone("提现 30", sender="wang")
    assert "已申请提现 ¥30.00" in said and "现在可提现 ¥20.00" in said, said
    (asked,) = await Withdrawal.all()
    assert (asked.amount, asked.status, asked.openid) == (
        3_000,
        WithdrawalStatus.REQUESTED,
        leader.openid,
    )
    assert await _ledger(leader) == [("withdraw", -3_000)]
    assert "可结算 ¥20.00" in await doors.say_alone("收益", sender="wang")
    # A second one waits for the first.
    again = await doors.say_alone("提现 10", sender="wang")
    assert "还在处理中" in again and await Withdrawal.all().count() == 1

    # The operator sees it, approves through the confirm page: audited, decided by whom.
    cookies = await _admin_cookies(doors)
    home = await (await doors.client.get("/admin", headers={"Cookie": cookies})).text()
    assert "1 笔团长提现待审核" in home
    queue = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    assert "待审核的提现（1）" in queue and "¥30.00" in queue
    done = await _decide(doors, cookies, "approve", withdrawal_id=str(asked.id))
    assert "已同意，¥30.00 正在付到团长的微信零钱" in done
    approved = await Withdrawal.get(id=asked.id)
    assert approved.status is WithdrawalStatus.APPROVED and approved.decided_by_id is not None
    (decision,) = await ReviewDecision.filter(subject=f"withdrawal:{asked.id}")
    assert decision.outcome is ReviewStatus.APPROVED and decision.actor_id == approved.decided_by_id
    (entry,) = await AuditEntry.filter(action="withdrawal.approve")
    assert entry.target == f"withdrawal:{asked.id}" and entry.after["amount"] == 3_000
    assert not doors.wechat.calls_to(TRANSFERS)  # nothing is paid inside the decision

    # After the commit the outbox pays it: 企业付款到零钱, under the withdrawal's own number.
    await doors.send()
    (call,) = doors.wechat.calls_to(TRANSFERS)
    paid_to = doors.wechat.transfers[asked.partner_trade_no]
    assert (paid_to["amount"], paid_to["openid"], paid_to["check_name"]) == (
        "3000",
        leader.openid,
        "NO_CHECK",
    )
    paid = await Withdrawal.get(id=asked.id)
    assert paid.status is WithdrawalStatus.PAID and paid.payment_no == paid_to["payment_no"]
    assert await _ledger(leader) == [("withdraw", -3_000), ("paid_out", 0)]
    assert (await earnings.balance(leader.id)).available == 2_000

    # The leader hears it in chat; the console shows it paid.
    (told,) = doors.wecom_member_receives("wang")
    assert "提现到账：¥30.00 已付到你的微信零钱" in told and "现在可提现 ¥20.00" in told
    queue = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    assert "待审核的提现（0）" in queue and "已到账" in queue

    # Sent again (a lease that lapsed), nothing is paid twice.
    await doors.send()
    assert len(doors.wechat.calls_to(TRANSFERS)) == 1


async def test_a_rejected_withdrawal_comes_back_and_the_leader_hears_why(doors: Doors) -> None:
    leader = await _earning_leader(doors)
    said = await doors.say_alone("提现", sender="wang")  # all of it
    assert "已申请提现 ¥50.00" in said and "现在可提现 ¥0.00" in said, said
    (asked,) = await Withdrawal.all()
    cookies = await _admin_cookies(doors)

    # A rejection without its reason is refused before anything changes.
    html = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    bare = await doors.client.post(
        "/admin/withdrawals/reject",
        data={"csrf_token": _csrf(html), "withdrawal_id": str(asked.id), "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    assert bare.status == 400 and "拒绝原因" in await bare.text()

    done = await _decide(
        doors, cookies, "reject", withdrawal_id=str(asked.id), reason="收款账号需先实名"
    )
    assert "已驳回，¥50.00 已退回团长的可提现余额" in done
    assert (await Withdrawal.get(id=asked.id)).status is WithdrawalStatus.REJECTED
    assert await _ledger(leader) == [("withdraw", -5_000), ("return", 5_000)]
    assert (await earnings.balance(leader.id)).available == 5_000
    (decision,) = await ReviewDecision.filter(subject=f"withdrawal:{asked.id}")
    assert decision.outcome is ReviewStatus.REJECTED and decision.reason == "收款账号需先实名"
    assert await AuditEntry.filter(action="withdrawal.reject").count() == 1

    await doors.send()
    assert not doors.wechat.calls_to(TRANSFERS)
    (told,) = doors.wecom_member_receives("wang")
    assert "没有通过审核：收款账号需先实名" in told and "现在可提现 ¥50.00" in told

    # Decided once: a second press is told so, and changes nothing.
    html = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    late = await doors.client.post(
        "/admin/withdrawals/approve",
        data={"csrf_token": _csrf(html), "withdrawal_id": str(asked.id), "confirm": "yes"},
        headers={"Cookie": cookies},
    )
    assert late.status == 409 and "已经处理过了" in await late.text()
    # And the leader may ask again.
    assert "已申请提现 ¥50.00" in await doors.say_alone("提现50", sender="wang")


async def test_wechat_pay_busy_then_refusing_returns_the_money(doors: Doors) -> None:
    leader = await _earning_leader(doors)
    await doors.say_alone("提现 40", sender="wang")
    (asked,) = await Withdrawal.all()
    cookies = await _admin_cookies(doors)
    await _decide(doors, cookies, "approve", withdrawal_id=str(asked.id))

    # SYSTEMERROR: the result is unknown, so the same number is sent again after the backoff;
    # the money stays held meanwhile.
    doors.wechat.transfer_failures = ["SYSTEMERROR", "OPENID_ERROR"]
    await doors.send()
    assert (await Withdrawal.get(id=asked.id)).status is WithdrawalStatus.APPROVED
    assert (await earnings.balance(leader.id)).available == 1_000
    doors.clock.advance(timedelta(seconds=3))
    await doors.send()
    numbers = {pay.parse_xml(c.body)["partner_trade_no"] for c in doors.wechat.calls_to(TRANSFERS)}
    assert len(doors.wechat.calls_to(TRANSFERS)) == 2 and len(numbers) == 1

    # OPENID_ERROR is final: failed, the amount back, the leader told, the operator sees it.
    failed = await Withdrawal.get(id=asked.id)
    assert (failed.status, failed.fail_code) == (WithdrawalStatus.FAILED, "OPENID_ERROR")
    assert await _ledger(leader) == [("withdraw", -4_000), ("return", 4_000)]
    assert (await earnings.balance(leader.id)).available == 5_000
    (told,) = doors.wecom_member_receives("wang")
    assert "微信支付没能付出" in told and "现在可提现 ¥50.00" in told
    queue = await (await doors.client.get("/admin/withdrawals", headers={"Cookie": cookies})).text()
    assert "付款失败，已退回余额" in queue and "OPENID_ERROR" in queue
    assert (
        await OutboxMessage.filter(kind="withdrawal.transfer", status=OutboxStatus.DONE).count()
        == 1
    )


async def test_requests_at_once_never_take_more_than_the_balance(doors: Doors) -> None:
    leader = await _earning_leader(doors)
    headers = auth(leader, doors.settings, doors.clock.now())

    async def ask() -> tuple[int, dict]:
        return await doors.api("POST", "/api/v1/me/withdrawals", headers, json={"amount": 4_000})

    answers = await asyncio.gather(*(ask() for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 7, answers
    assert {b["code"] for s, b in answers if s == 409} == {"withdrawal_pending"}
    taken = await EarningEntry.filter(earner_id=leader.id, event=EarningEvent.WITHDRAW)
    assert [t.available_delta for t in taken] == [-4_000]
    assert await Withdrawal.all().count() == 1
    assert (await earnings.balance(leader.id)).available == 1_000
    status, mine = await doors.api("GET", "/api/v1/me/withdrawals", headers)
    assert status == 200 and mine["available"] == 1_000
    assert [(w["amount"], w["status"]) for w in mine["items"]] == [(4_000, "requested")]


async def test_wrong_amounts_get_clear_answers_at_every_door(doors: Doors) -> None:
    leader = await _earning_leader(doors)
    headers = auth(leader, doors.settings, doors.clock.now())

    assert "至少 ¥1.00" in await doors.say_alone("提现 0", sender="wang")
    assert "至少 ¥1.00" in await doors.say_alone("提现 0.5", sender="wang")
    assert "金额没看懂" in await doors.say_alone("提现 五十", sender="wang")
    assert "金额没看懂" in await doors.say_alone("提现 1.234", sender="wang")
    over = await doors.say_alone("提现 50.01", sender="wang")
    assert "超过了可提现余额" in over and "¥50.00" in over
    assert "只有团长" in await doors.say_alone("提现", sender="li")  # a shopper, not a leader

    for body, code in (
        ({"amount": 0}, "withdrawal_below_minimum"),
        ({"amount": 5_001}, "withdrawal_exceeds_available"),
        ({"amount": "50"}, "validation_failed"),
        ({"amount": -100}, "validation_failed"),
        ({"amount": 12.5}, "validation_failed"),
    ):
        status, answer = await doors.api("POST", "/api/v1/me/withdrawals", headers, json=body)
        assert (status, answer["code"]) == (422, code), (body, answer)
    assert await Withdrawal.all().count() == 0 and await _ledger(leader) == []

    # A chat-only account has no openid WeChat Pay can pay.
    chatter = await make_user()
    await User.filter(id=chatter.id).update(openid="wecom_bot:zhao")
    status, answer = await doors.api(
        "POST", "/api/v1/me/withdrawals", auth(chatter, doors.settings, doors.clock.now())
    )
    assert (status, answer["code"]) == (409, "withdrawal_needs_miniapp")

    # The API documents the door and what it answers.
    status, spec = await doors.api("GET", "/openapi.json")
    post = spec["paths"]["/api/v1/me/withdrawals"]["post"]
    documented = str(post)
    for code in ("withdrawal_below_minimum", "withdrawal_exceeds_available", "withdrawal_pending"):
        assert code in documented, code


async def test_a_leader_withdraws_on_the_console(doors: Doors) -> None:
    leader = await _earning_leader(doors)
    said = await doors.say_alone("后台", sender="wang")
    link = re.search(r"http\S+/console/login\?token=\S+", said)
    assert link, said
    cookies = await _login(doors.client, link.group(0))
    page = await (await doors.client.get("/console/earnings", headers={"Cookie": cookies})).text()
    assert "可提现" in page and "¥</small>50.00" in page and "申请提现" in page
    form = {"csrf_token": _csrf(page)}

    wrong = await doors.client.post(
        "/console/earnings/withdraw", data=form | {"amount": "abc"}, headers={"Cookie": cookies}
    )
    assert wrong.status == 422 and "提现金额请写元" in await wrong.text()
    over = await doors.client.post(
        "/console/earnings/withdraw", data=form | {"amount": "80"}, headers={"Cookie": cookies}
    )
    assert over.status == 422 and "超过了可提现余额" in await over.text()
    assert await Withdrawal.all().count() == 0

    done = await doors.client.post(
        "/console/earnings/withdraw", data=form | {"amount": "12.5"}, headers={"Cookie": cookies}
    )
    shown = await done.text()
    assert done.status == 200 and "已申请提现 ¥12.50" in shown, shown
    assert "提现 ¥12.50 等待运营审核" in shown and "申请提现</button>" not in shown
    assert await _ledger(leader) == [("withdraw", -1_250)]
    assert "¥</small>37.50" in shown


async def test_a_transfer_the_shop_must_mend_is_parked_with_the_money_held(doors: Doors) -> None:
    """NO_AUTH (the product not enabled) is neither busy nor final: the message is parked
    at once, the withdrawal stays 付款中 with its money held, and the operator's retry from
    /admin/parked sends the same partner_trade_no again."""
    leader = await _earning_leader(doors)
    await doors.say_alone("提现 25", sender="wang")
    (asked,) = await Withdrawal.all()
    cookies = await _admin_cookies(doors)
    await _decide(doors, cookies, "approve", withdrawal_id=str(asked.id))
    doors.wechat.transfer_failures = ["NO_AUTH"]
    await doors.send()
    (parked,) = await OutboxMessage.filter(status=OutboxStatus.DEAD)
    assert parked.kind == "withdrawal.transfer" and "NO_AUTH" in parked.last_error
    assert (await Withdrawal.get(id=asked.id)).status is WithdrawalStatus.APPROVED
    assert (await earnings.balance(leader.id)).available == 2_500
    assert not doors.wecom_member_receives("wang")

    shown = await (await doors.client.get("/admin/parked", headers={"Cookie": cookies})).text()
    assert "withdrawal.transfer" in shown and "NO_AUTH" in shown
    retried = await doors.client.post(
        "/admin/parked/retry",
        data={"csrf_token": _csrf(shown), "message_id": str(parked.id)},
        headers={"Cookie": cookies},
    )
    assert retried.status == 200, await retried.text()
    await doors.send()
    paid = await Withdrawal.get(id=asked.id)
    assert paid.status is WithdrawalStatus.PAID
    numbers = [pay.parse_xml(c.body)["partner_trade_no"] for c in doors.wechat.calls_to(TRANSFERS)]
    assert numbers == [asked.partner_trade_no] * 2
    assert await _ledger(leader) == [("withdraw", -2_500), ("paid_out", 0)]
    (told,) = doors.wecom_member_receives("wang")
    assert "提现到账：¥25.00" in told
