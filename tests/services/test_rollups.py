"""The dashboards' rollups equal a recount from the raw rows after a scripted week.

A week of a community's life, day by day (shares, visits, members joining, orders placed,
paid, picked up days later, a refund settled), each event at its own time, some just
before local midnight; the clock's rollup step runs at the end of every day, as the
scheduler does. Afterwards every funnel day, every product day and every cohort equals a
recount written straight from the raw tables, and the dashboard API shows those numbers.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from tortoise import connections

from models.community import Membership
from models.growth import ShareCode, ShareKind, Visit, VisitSource
from models.order import Order, OrderStatus
from models.payment import Payment
from models.rollup import NO_CAMPAIGN, Cohort, FunnelDay, ProductDay
from models.user import Role
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import refunds, rollups
from tests.support.factories import auth, make_campaign, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Local time on the week's ``day`` (0 = Monday ten days ago or so), as UTC."""
    today = datetime.now(tz=TZ).date()
    monday = today - timedelta(days=today.weekday() + 14)
    local = datetime.combine(monday + timedelta(days=day), time(hour, minute), tzinfo=TZ)
    return local.astimezone(UTC)


class Week:
    def __init__(self, settings: Settings, wechat: FakeWeChat) -> None:
        self.n = 0
        self.settings = settings
        self.wechat = wechat

    def next(self) -> str:
        self.n += 1
        return f"{self.n:06d}"

    async def share(self, sharer: Any, campaign: Any, when: datetime) -> ShareCode:
        n = self.next()
        return await ShareCode.create(
            key=f"K{n}",
            target=f"campaign:{campaign.id}:{n}",
            kind=ShareKind.CAMPAIGN,
            sharer=sharer,
            community_id=campaign.community_id,
            campaign=campaign,
            created_at=when,
        )

    async def visit(self, user: Any, campaign: Any, when: datetime) -> None:
        await Visit.create(
            user=user,
            source=VisitSource.ENTRY,
            community_id=campaign.community_id,
            campaign=campaign,
            outcome="bound",
            created_at=when,
        )

    async def order(
        self,
        user: Any,
        campaign: Any | None,
        sku: Any,
        community: Any,
        *,
        placed: datetime,
        paid: datetime | None = None,
        picked: datetime | None = None,
        amount: int = 1990,
    ) -> Order:
        n = self.next()
        status = (
            OrderStatus.PICKED_UP
            if picked
            else OrderStatus.CONFIRMED
            if paid
            else OrderStatus.PENDING_PAYMENT
        )
        order = await Order.create(
            out_trade_no=f"QSWEEK{n}",
            kind="group" if campaign else "direct",
            user=user,
            community=community,
            sku=sku,
            campaign=campaign,
            unit_price=amount,
            amount=amount,
            status=status,
            created_at=placed,
            paid_at=paid,
            picked_up_at=picked,
        )
        if paid:
            await Payment.create(
                order=order, transaction_id=f"TX{n}", amount=amount, outcome="honoured"
            )
        return order

    async def refund(self, order: Order, settled: datetime) -> None:
        """All of the order back, as an after-sales approval owes it, settled by WeChat Pay's
        notify at ``settled``: the order ends 已退款 through the refund path, not by hand."""
        refund = await refunds.refund_part(
            order_id=order.id,
            amount=order.amount,
            reason="after_sale",
            cause=f"after_sale:{self.next()}",
            now=settled,
        )
        body = self.wechat.refund_notify(
            out_refund_no=refund.out_refund_no,
            out_trade_no=order.out_trade_no,
            refund_fee=refund.amount,
            total_fee=refund.total,
        )
        assert await refunds.settle_from_notify(
            body,
            api_key=self.settings.pay_api_key.get_secret_value(),
            appid=self.settings.wechat_appid,
            mch_id=self.settings.pay_mch_id,
            now=settled,
        )
        assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED


async def scripted_week(settings: Settings, wechat: FakeWeChat) -> dict[str, Any]:
    """Seven days of activity, the rollup step at the end of each day."""
    week = Week(settings, wechat)
    community = await make_community()
    campaign = await make_campaign(community)
    other_campaign = await make_campaign(community)
    sku = await make_sku(community)
    elsewhere = await make_campaign()  # another community's, on the same days
    people = [await make_user() for _ in range(6)]
    orders: dict[str, Order] = {}
    for day in range(7):
        for i, person in enumerate(people[: day + 1]):
            if day == 0 or i == day:
                joined = at(day, 8 + i)
                await Membership.create(user=person, community=community)
                await Membership.filter(user=person, community=community).update(joined_at=joined)
            await week.share(person, campaign, at(day, 9, i))
            await week.visit(person, campaign, at(day, 10, i))
        await week.visit(people[0], other_campaign, at(day, 23, 40))  # just before midnight
        await week.visit(people[0], elsewhere, at(day, 11))
        buyer = people[day % len(people)]
        placed = at(day, 12)
        orders[f"paid-{day}"] = await week.order(
            buyer,
            campaign,
            campaign.sku,
            community,
            placed=placed,
            paid=placed + timedelta(minutes=5),
        )
        if day % 2 == 0:  # a direct order paid late at night, picked up two days later
            late = at(day, 23, 50)
            orders[f"direct-{day}"] = await week.order(
                buyer,
                None,
                sku,
                community,
                placed=late,
                paid=late + timedelta(minutes=5),
                picked=at(min(day + 2, 6), 15),
                amount=3590,
            )
        await week.order(people[-1], campaign, campaign.sku, community, placed=at(day, 13))
        if day == 4:
            await week.refund(orders["paid-2"], at(day, 16))
        await rollups.refresh(now=at(day, 23, 59), tz=TZ)
    return {"community": community, "campaign": campaign, "people": people}


_RECOUNT = f"""
SELECT community_id, coalesce(campaign_id, '{NO_CAMPAIGN}') AS campaign_id,
       (ts AT TIME ZONE 'Asia/Shanghai')::date AS day, step, count(*) AS n, sum(money) AS money
FROM (
  SELECT community_id, campaign_id, created_at AS ts, 'shared' AS step, 0 AS money FROM share_codes
  UNION ALL SELECT community_id, campaign_id, created_at, 'opened', 0 FROM visits
  UNION ALL SELECT community_id, campaign_id, created_at, 'joined', 0 FROM orders
  UNION ALL SELECT community_id, campaign_id, created_at, 'joined_paid', 0 FROM orders
    WHERE paid_at IS NOT NULL
  UNION ALL SELECT community_id, campaign_id, created_at, 'joined_picked_up', 0 FROM orders
    WHERE paid_at IS NOT NULL AND picked_up_at IS NOT NULL
  UNION ALL SELECT community_id, campaign_id, paid_at, 'paid', amount FROM orders
    WHERE paid_at IS NOT NULL
  UNION ALL SELECT community_id, campaign_id, picked_up_at, 'picked_up', 0 FROM orders
    WHERE picked_up_at IS NOT NULL
  UNION ALL SELECT o.community_id, o.campaign_id, r.settled_at, 'refunds', r.amount
    FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.status = 'succeeded'
) AS raw WHERE community_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""


async def recount() -> dict[tuple[str, str, Any], dict[str, int]]:
    found: dict[tuple[str, str, Any], dict[str, int]] = {}
    for row in await connections.get("default").execute_query_dict(_RECOUNT):
        key = (str(row["community_id"]), str(row["campaign_id"]), row["day"])
        cell = found.setdefault(key, {})
        cell[row["step"]] = row["n"]
        if row["step"] == "paid":
            cell["gmv"] = row["money"]
        if row["step"] == "refunds":
            cell["refunded"] = row["money"]
    return found


def rolled(row: FunnelDay) -> dict[str, int]:
    values = {
        "shared": row.shared,
        "opened": row.opened,
        "joined": row.joined,
        "paid": row.paid,
        "picked_up": row.picked_up,
        "joined_paid": row.joined_paid,
        "joined_picked_up": row.joined_picked_up,
        "gmv": row.gmv,
        "refunds": row.refunds,
        "refunded": row.refunded,
    }
    return {k: v for k, v in values.items() if v}


async def test_funnels_and_cohorts_equal_a_recount_after_a_week(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await scripted_week(settings, wechat)
    expected = await recount()
    got = {
        (str(r.community_id), str(r.campaign_id), r.day): rolled(r) for r in await FunnelDay.all()
    }
    assert {k: v for k, v in got.items() if v} == expected
    assert len({day for _, _, day in expected}) == 7  # every day of the week has rows
    community_id = str(world["community"].id)
    assert any(v.get("picked_up") for k, v in got.items() if k[0] == community_id)
    assert any(v.get("refunds") for k, v in got.items() if k[0] == community_id)

    products = await connections.get("default").execute_query_dict(
        "SELECT community_id, sku_id, (paid_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
        "count(*) AS n, sum(amount) AS gmv FROM orders WHERE paid_at IS NOT NULL GROUP BY 1, 2, 3"
    )
    assert {
        (str(r["community_id"]), str(r["sku_id"]), r["day"]): (r["n"], r["gmv"]) for r in products
    } == {
        (str(p.community_id), str(p.sku_id), p.day): (p.orders, p.gmv)
        for p in await ProductDay.all()
    }

    cohorts = await connections.get("default").execute_query_dict(
        """SELECT m.community_id, date_trunc('week', m.joined_at AT TIME ZONE 'Asia/Shanghai')::date
                  AS week, count(*) AS members,
                  count(*) FILTER (WHERE b.n >= 1) AS buyers,
                  count(*) FILTER (WHERE b.n >= 2) AS repeaters
           FROM (  -- members: who joined, or paid an order there; since the first of the two
             SELECT community_id, user_id, min(at) AS joined_at FROM (
               SELECT community_id, user_id, joined_at AS at FROM memberships
               UNION ALL SELECT community_id, user_id, paid_at FROM orders
                 WHERE paid_at IS NOT NULL AND community_id IS NOT NULL) AS x
             GROUP BY 1, 2) m
           LEFT JOIN LATERAL (
             SELECT count(*) AS n FROM orders o WHERE o.user_id = m.user_id
               AND o.community_id = m.community_id AND o.paid_at IS NOT NULL
               AND o.status NOT IN ('refunding', 'refunded')) b ON true
           GROUP BY 1, 2"""
    )
    assert {
        (str(r["community_id"]), r["week"]): (r["members"], r["buyers"], r["repeaters"])
        for r in cohorts
    } == {
        (str(c.community_id), c.week): (c.members, c.buyers, c.repeaters)
        for c in await Cohort.all()
    }
    (cohort,) = [c for c in await Cohort.all() if str(c.community_id) == community_id]
    assert cohort.members == 6 and cohort.repeaters >= 1

    # The clock's own sweep (the scheduler's door) leaves them as they are.
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    await jobs.sweep(at(6, 23, 59))
    assert {
        (str(r.community_id), str(r.campaign_id), r.day): rolled(r)
        for r in await FunnelDay.all()
        if rolled(r)
    } == expected


async def test_the_dashboard_shows_the_rollups_to_its_leader_only(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await scripted_week(settings, wechat)
    community = world["community"]
    leader = await community.leader
    expected = await recount()
    mine = [v for k, v in expected.items() if k[0] == str(community.id)]
    paid = sum(v.get("paid", 0) for v in mine)
    gmv = sum(v.get("gmv", 0) for v in mine)

    url = f"/api/v1/communities/{community.id}/dashboard"
    resp = await client.get(url, params={"days": "366"}, headers=auth(leader, settings))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    totals = body["totals"]
    assert (totals["paid"], totals["gmv"]) == (paid, gmv)
    assert totals["shared"] == sum(v.get("shared", 0) for v in mine)
    assert totals["average_order"] == gmv // paid
    # The funnel's rates are of nested steps only: shares and opens are reach, not steps.
    assert totals["joined_paid_rate"] == round(totals["joined_paid"] / totals["joined"], 4)
    assert "opened_rate" not in totals and "paid_rate" not in totals
    assert len(body["days"]) == 7
    assert body["cohorts"][0]["members"] == 6
    assert body["products"][0]["gmv"] >= body["products"][-1]["gmv"]
    campaign_ids = {c["campaign_id"] for c in body["campaigns"]}
    assert str(world["campaign"].id) in campaign_ids and None in campaign_ids  # direct orders

    sheet = await client.get(
        f"{url}.csv", params={"table": "days", "days": "366"}, headers=auth(leader, settings)
    )
    assert sheet.status == 200 and sheet.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO((await sheet.text()).lstrip("\ufeff"))))
    assert sum(int(r["paid"]) for r in rows) == paid

    other_leader = await make_user(Role.LEADER)
    assert (await client.get(url, headers=auth(other_leader, settings))).status == 403
    shopper = await make_user()
    assert (await client.get(url, headers=auth(shopper, settings))).status == 403
    missing = f"/api/v1/communities/{uuid.uuid4()}/dashboard"
    assert (await client.get(missing, headers=auth(leader, settings))).status == 404

    admin = await make_user(Role.ADMIN)
    ranking = await client.get(
        "/api/v1/admin/stats/communities", params={"days": "366"}, headers=auth(admin, settings)
    )
    assert ranking.status == 200
    (row,) = [r for r in (await ranking.json())["items"] if r["community_id"] == str(community.id)]
    assert (row["orders"], row["gmv"], row["leader_id"]) == (paid, gmv, str(leader.id))
    refused = await client.get("/api/v1/admin/stats/communities", headers=auth(leader, settings))
    assert refused.status == 403
