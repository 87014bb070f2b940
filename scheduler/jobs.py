"""The clock's work: thin calls into services, with the words rendered from templates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services import (
    activities,
    aftersales,
    attribution,
    bargains,
    batches,
    checkout,
    coupon_grants,
    coupons,
    digests,
    earnings,
    flashsale,
    groupbuy,
    idempotency,
    lifecycle,
    notify,
    points,
    recommendations,
    reconciliation,
    refunds,
    reminders,
    retention,
    rollups,
)

if TYPE_CHECKING:
    import jinja2
    from redis.asyncio import Redis

    from models.groupbuy import Campaign, Team
    from qunshop.config import Settings

logger = logging.getLogger(__name__)

DIGEST_HOUR = 20  # leaders' daily digest, local time
DAY = 24 * 3600


ROLLUP_SECONDS = 300  # how stale a dashboard may be


@dataclass(frozen=True)
class Jobs:
    settings: Settings
    templates: jinja2.Environment
    redis: Redis

    def _render(self, name: str, **values: Any) -> str:
        return self.templates.get_template(name).render(**values).strip()

    def team_reminder(self, team: Team, campaign: Campaign, minutes: int) -> dict[str, Any]:
        deadline = team.deadline_at.astimezone(ZoneInfo(self.settings.timezone))
        values = {
            "team": team,
            "campaign": campaign,
            "minutes": minutes,
            "seats_left": max(team.size - team.seats_paid, 0),
            "deadline": deadline.strftime("%H:%M"),
        }
        return notify.card(
            title=self._render("reminders/team_title.j2", **values),
            description=self._render("reminders/team_description.j2", **values),
            url=f"{self.settings.public_base_url}/h5/teams/{team.code}",
            button_text=f"参团{team.code}",  # a button shows 10 characters
            mini_program_path=f"pages/team/index?code={team.code}",
        )

    def team_subscribe(
        self, team: Team, campaign: Campaign, minutes: int
    ) -> tuple[str, str, dict[str, Any]]:
        deadline = team.deadline_at.astimezone(ZoneInfo(self.settings.timezone))
        data = {
            "thing1": campaign.title[:20],
            "number2": max(team.size - team.seats_paid, 0),
            "time3": deadline.strftime("%Y-%m-%d %H:%M"),
        }
        page = f"pages/team/index?code={team.code}"
        return self.settings.subscribe_template_team_reminder, page, data

    def activity_message(self, firing: activities.Firing) -> dict[str, Any]:
        """The words of one firing of a scheduled activity (services/activities.py)."""
        kind = firing.activity.kind.value
        values = {"firing": firing, "community": firing.community, "text": firing.text}
        sale = firing.flash_sale
        if sale is None:
            return notify.text(self._render(f"activities/{kind}.j2", **values))
        tz = ZoneInfo(firing.community.timezone)
        values.update(sale=sale, ends=sale.ends_at.astimezone(tz).strftime("%H:%M"))
        return notify.card(
            title=self._render("activities/flash_sale_title.j2", **values),
            description=self._render("activities/flash_sale_description.j2", **values),
            url=f"{self.settings.public_base_url}/h5/flash-sales/{sale.id}",
            button_text="立即抢购",
            mini_program_path=f"pages/flash/index?id={sale.id}",
        )

    async def due(self, now: datetime) -> None:
        """Everything whose time has come; each step is idempotent."""
        await groupbuy.release_expired(now=now)
        await checkout.release_expired_direct(now=now)
        await flashsale.close_ended(now=now)
        await bargains.expire_due(now=now)
        await groupbuy.settle_due_teams(now=now)
        await reminders.send_team_reminders(
            now=now, message=self.team_reminder, subscribe=self.team_subscribe
        )
        await activities.run_due(now=now, render=self.activity_message)
        await aftersales.approve_overdue(now=now)
        await batches.cut_due(now=now)  # after the teams settled: their orders make the cut

    async def _once(self, marker: str, ttl: int, work: Callable[[], Awaitable[object]]) -> None:
        """``work`` once per marker (the first sweep that takes it); if it fails, the marker
        goes so that the next sweep tries again."""
        if not await self.redis.set(marker, "1", nx=True, ex=ttl):
            return
        try:
            await work()
        except BaseException:
            await self.redis.delete(marker)
            raise

    def _day(self, now: datetime) -> str:
        return now.astimezone(ZoneInfo(self.settings.timezone)).strftime("%Y-%m-%d")

    async def weekly_statements(self, now: datetime) -> None:
        """Once a week (the first sweep of it), every earner's statement of last week."""
        week = now.astimezone(ZoneInfo(self.settings.timezone)).strftime("%G-W%V")
        await self._once(
            f"qunshop:statements:{week}",
            8 * DAY,
            lambda: earnings.weekly_statements(now=now, timezone=self.settings.timezone),
        )

    async def marketing(self, now: datetime) -> None:
        """Coupons past their dates read expired (every sweep); once a day, points expire
        (services/points.py's rule) and silent members get their win-back coupons."""
        await coupons.expire_due(now=now)

        async def daily() -> None:
            await points.expire_due(now=now)
            await coupon_grants.winback(now=now)

        await self._once(f"qunshop:marketing:{self._day(now)}", 2 * DAY, daily)

    async def retention(self, now: datetime) -> None:
        """Once a day (the first sweep of it), erase what has passed its retention period."""
        await self._once(
            f"qunshop:retention:{self._day(now)}",
            2 * DAY,
            lambda: retention.sweep(settings=self.settings, now=now),
        )

    async def daily_digests(self, now: datetime) -> None:
        """Once a day, from ``DIGEST_HOUR`` local time: each leader's questions and reports."""
        if now.astimezone(ZoneInfo(self.settings.timezone)).hour < DIGEST_HOUR:
            return
        day = self._day(now)
        await self._once(
            f"qunshop:digests:{day}",
            2 * DAY,
            lambda: digests.send(now=now, day=day, render=self.digest),
        )

    async def roll_up(self, now: datetime) -> None:
        """The dashboards' rollups (today's and yesterday's rows, from those days' events),
        at most every ``ROLLUP_SECONDS``: at a million orders a step takes seconds."""
        await self._once(
            "qunshop:rollups",
            ROLLUP_SECONDS,
            lambda: rollups.refresh_and_record(
                now=now, tz=ZoneInfo(self.settings.timezone), redis=self.redis
            ),
        )

    async def recommend(self, now: datetime) -> None:
        """Once a day (the first sweep of it), every community's recommendations afresh."""
        await self._once(
            f"qunshop:recommendations:{self._day(now)}",
            2 * DAY,
            lambda: recommendations.recompute(now=now),
        )

    async def query_stuck_refunds(self, now: datetime) -> None:
        """Refunds submitted long ago without WeChat Pay's notify: the outbox asks after
        each (``/pay/refundquery``) and settles it as the notify would have."""
        await refunds.schedule_queries(now=now)

    def digest(self, digest: digests.Digest) -> str:
        return self._render("digest.j2", digest=digest, base_url=self.settings.public_base_url)

    async def sweep(self, now: datetime) -> None:
        await self.due(now)
        await self.marketing(now)
        await reminders.warn_lapsing(
            now=now, within=timedelta(minutes=self.settings.lapse_warning_minutes)
        )
        await reminders.send_pickup_reminders(now=now)
        await batches.close_done(now=now)
        await lifecycle.auto_complete(
            now=now, after=timedelta(days=self.settings.auto_complete_days)
        )
        await self.weekly_statements(now)
        await reconciliation.schedule(now=now)  # yesterday's bill, once a day
        await self.daily_digests(now)
        await self.retention(now)
        await self.roll_up(now)
        await self.recommend(now)
        await idempotency.purge(now=now)
        await self.query_stuck_refunds(now)
        # Follows whose scene could not be attributed at once (Redis was down, say).
        await attribution.attribute_follows(
            redis=self.redis, secret=self.settings.secret_key.get_secret_value(), now=now
        )
