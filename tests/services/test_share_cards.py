"""A team's share card updates itself: an activity_id made on first share, each paid seat
coalesced into one update per team, the final state when the team closes, nothing after
the id expires, and WeChat's errors handled as documented."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.groupbuy import Team
from models.order import Order
from models.outbox import OutboxMessage, OutboxStatus
from models.pickup import TeamCard
from models.user import User
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CLOCK
from services import groupbuy, outbox, share_cards
from services.auth import Principal
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat

CREATE = "/cgi-bin/message/wxopen/activityid/create"
UPDATE = "/cgi-bin/message/wxopen/updatablemsg/send"


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


@pytest.fixture(autouse=True)
def activity_clock(wechat: FakeWeChat, clock: FrozenClock) -> None:
    wechat.activity_clock = clock.now


async def _team(clock: FrozenClock, size: int = 3) -> tuple[Team, list[tuple[User, Order]]]:
    campaign = await make_campaign(team_size=size, now=clock.now())
    members = [await make_user() for _ in range(size)]
    started = await groupbuy.start_team(
        principal=_principal(members[0]), campaign_id=str(campaign.id), now=clock.now()
    )
    seats = [(members[0], started.order)]
    for member in members[1:]:
        joined = await groupbuy.join_team(
            principal=_principal(member), team_ref=started.team.code, now=clock.now()
        )
        seats.append((member, joined.order))
    return started.team, seats


async def _pay(api: TestClient, wechat: FakeWeChat, user: User, order: Order) -> None:
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    resp = await api.post("/pay/wechat/notify", data=body, headers={"Content-Type": "text/xml"})
    assert resp.status == 200 and b"SUCCESS" in await resp.read()


async def _share(api: TestClient, settings: Settings, user: User, team: Team) -> dict[str, Any]:
    now = api.server.app[CLOCK].now()  # the token is issued on the app's clock
    resp = await api.get(f"/api/v1/teams/{team.code}/share", headers=auth(user, settings, now))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _send(api: TestClient, clock: FrozenClock) -> int:
    return await outbox.run_once(outbox_handlers(api.server.app), now=clock.now())


def _params(update: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in update["template_info"]["parameter_list"]}


async def test_the_card_follows_the_team_to_its_final_state(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    team, seats = await _team(clock)
    head = seats[0][0]
    shared = await _share(api, settings, head, team)
    live = shared["updatable"]
    assert live["member_count"] == 0 and live["room_limit"] == 3
    assert live["activity_id"] in wechat.activities
    again = await asyncio.gather(*(_share(api, settings, u, team) for u, _ in seats))
    assert {s["updatable"]["activity_id"] for s in again} == {live["activity_id"]}
    assert len(wechat.calls_to(CREATE)) == 1

    # Two seats paid before the outbox runs: one update, with the latest count.
    await _pay(api, wechat, *seats[0])
    await _pay(api, wechat, *seats[1])
    assert await OutboxMessage.filter(kind=share_cards.KIND).count() == 1
    await _send(api, clock)
    assert [(u["target_state"], _params(u)) for u in wechat.updatable_messages] == [
        (0, {"member_count": "2", "room_limit": "3"})
    ]
    assert await _send(api, clock) == 0

    # The last seat: the team succeeds and the card turns final, once.
    await _pay(api, wechat, *seats[2])
    await _send(api, clock)
    await _send(api, clock)
    final = wechat.updatable_messages[-1]
    assert final["activity_id"] == live["activity_id"] and final["target_state"] == 1
    assert _params(final) == {
        "path": f"pages/team/index?code={team.code}",
        "version_type": settings.wxacode_env_version,
    }
    assert len(wechat.updatable_messages) == 2
    assert wechat.activities[live["activity_id"]]["state"] == 1
    card = await TeamCard.get(team_id=team.id)
    assert (card.sent_state, card.sent_members) == (1, 3)


async def test_a_team_that_fails_ends_its_card(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    team, seats = await _team(clock)
    clock.advance(timedelta(hours=1))  # shared an hour in: the id outlives the deadline
    await _share(api, settings, seats[0][0], team)
    await _pay(api, wechat, *seats[0])
    await _send(api, clock)
    clock.set(team.deadline_at + timedelta(seconds=1))
    assert await groupbuy.close_team(team.id, now=clock.now()) is not None
    while await _send(api, clock):
        pass
    assert [u["target_state"] for u in wechat.updatable_messages] == [0, 1]


async def test_an_expired_card_is_left_alone(
    api: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
) -> None:
    campaign_hours = 48  # a team that outlives its card's 24 hours
    campaign = await make_campaign(team_size=2, team_hours=campaign_hours, now=clock.now())
    head, member = await make_user(), await make_user()
    started = await groupbuy.start_team(
        principal=_principal(head), campaign_id=str(campaign.id), now=clock.now()
    )
    await _share(api, settings, head, started.team)
    clock.advance(timedelta(hours=25))
    joined = await groupbuy.join_team(
        principal=_principal(member), team_ref=started.team.code, now=clock.now()
    )
    await _pay(api, wechat, head, started.order)
    await _pay(api, wechat, member, joined.order)
    assert await OutboxMessage.filter(kind=share_cards.KIND).count() == 0
    assert wechat.calls_to(UPDATE) == []
    # A new share of the still-open team would get a fresh id; this one is closed now.
    shared = await _share(api, settings, head, started.team)
    assert shared["updatable"] is None


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [(-1, OutboxStatus.PENDING), (42001, OutboxStatus.DONE), (47001, OutboxStatus.DEAD)],
)
async def test_wechat_errors_as_documented(
    api: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    clock: FrozenClock,
    errcode: int,
    outcome: OutboxStatus,
) -> None:
    team, seats = await _team(clock)
    await _share(api, settings, seats[0][0], team)
    await _pay(api, wechat, *seats[0])
    if errcode == 42001:
        wechat.expire_tokens()  # the cached token now answers 42001: refreshed, sent once
    else:
        wechat.messaging_failures[UPDATE] = [errcode]
    await _send(api, clock)
    row = await OutboxMessage.get(kind=share_cards.KIND)
    assert row.status is outcome
    if outcome is OutboxStatus.PENDING:  # busy: tried again after the backoff, then sent
        clock.advance(timedelta(seconds=5))
        await _send(api, clock)
        assert (await OutboxMessage.get(id=row.id)).status is OutboxStatus.DONE
    sent = 0 if outcome is OutboxStatus.DEAD else 1
    assert len(wechat.updatable_messages) == sent
    clock.advance(timedelta(hours=1))
    await _send(api, clock)  # a parked update is never tried again
    assert len(wechat.updatable_messages) == sent
