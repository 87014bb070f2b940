"""The clock's work: thin calls into services, with the words rendered from templates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services import (
    activities,
    attribution,
    checkout,
    earnings,
    flashsale,
    groupbuy,
    idempotency,
    lifecycle,
    notify,
    recommendations,
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
            button_text=f"参团 {team.code}",
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
        await flashsale.release_expired(now=now)
        await flashsale.close_ended(now=now)
        await groupbuy.settle_due_teams(now=now)
        await reminders.send_team_reminders(
            now=now, message=self.team_reminder, subscribe=self.team_subscribe
        )
        await activities.run_due(now=now, render=self.activity_message)

    async def weekly_statements(self, now: datetime) -> None:
        """Once a week (the first sweep of it), every earner's statement of last week."""
        week = now.astimezone(ZoneInfo(self.settings.timezone)).strftime("%G-W%V")
        marker = f"qunshop:statements:{week}"
        if await self.redis.set(marker, "1", nx=True, ex=8 * 24 * 3600):
            try:
                await earnings.weekly_statements(now=now, timezone=self.settings.timezone)
            except BaseException:
                await self.redis.delete(marker)  # the next sweep tries again
                raise

    async def retention(self, now: datetime) -> None:
        """Once a day (the first sweep of it), erase what has passed its retention period."""
        day = now.astimezone(ZoneInfo(self.settings.timezone)).date().isoformat()
        marker = f"qunshop:retention:{day}"
        if await self.redis.set(marker, "1", nx=True, ex=2 * 24 * 3600):
            try:
                await retention.sweep(settings=self.settings, now=now)
            except BaseException:
                await self.redis.delete(marker)  # the next sweep tries again
                raise

    async def roll_up(self, now: datetime) -> None:
        """The dashboards' rollups (today's and yesterday's rows, from those days' events),
        at most every ``ROLLUP_SECONDS``: at a million orders a step takes seconds."""
        if await self.redis.set("qunshop:rollups", "1", nx=True, ex=ROLLUP_SECONDS):
            try:
                await rollups.refresh(now=now, tz=ZoneInfo(self.settings.timezone))
            except BaseException:
                await self.redis.delete("qunshop:rollups")
                raise

    async def recommend(self, now: datetime) -> None:
        """Once a day (the first sweep of it), every community's recommendations afresh."""
        day = now.astimezone(ZoneInfo(self.settings.timezone)).date().isoformat()
        marker = f"qunshop:recommendations:{day}"
        if await self.redis.set(marker, "1", nx=True, ex=2 * 24 * 3600):
            try:
                await recommendations.recompute(now=now)
            except BaseException:
                await self.redis.delete(marker)  # the next sweep tries again
                raise

    async def sweep(self, now: datetime) -> None:
        await self.due(now)
        await reminders.warn_lapsing(
            now=now, within=timedelta(minutes=self.settings.lapse_warning_minutes)
        )
        await reminders.send_pickup_reminders(now=now)
        await lifecycle.auto_complete(
            now=now, after=timedelta(days=self.settings.auto_complete_days)
        )
        await self.weekly_statements(now)
        await self.retention(now)
        await self.roll_up(now)
        await self.recommend(now)
        await idempotency.purge(now=now)
        # Follows whose scene could not be attributed at once (Redis was down, say).
        await attribution.attribute_follows(
            redis=self.redis, secret=self.settings.secret_key.get_secret_value(), now=now
        )
