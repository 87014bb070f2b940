"""The one scheduler: APScheduler 3 inside the server's loop, deadlines read from the database.

Rather than one APScheduler job per team (100,000 pending teams would be 100,000 jobs to
rebuild at every start), one date job is kept at the earliest pending deadline; when it
fires, everything due is processed and the job moves to the next deadline. A refresh job
notices earlier deadlines that other processes created, and a sweeper catches anything a
restart missed. Every run takes a Redis lock, so two schedulers by mistake still run each
job once, and every job is idempotent against the database.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from services import clockstats, deadlines

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from qunshop.clock import Clock
    from qunshop.config import Settings

logger = logging.getLogger(__name__)

Work = Callable[[datetime], Awaitable[None]]
LOCK_TIMEOUT = 300  # seconds; a crashed holder's lock lapses after this
BATCH_GAP = timedelta(milliseconds=20)  # deadlines this close together run in one go


class Clockwork:
    def __init__(
        self,
        *,
        redis: Redis,
        settings: Settings,
        clock: Clock,
        due: Work,
        sweep: Work,
        sweep_seconds: float = 30.0,
        refresh_seconds: float = 5.0,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.due_work = due
        self.sweep_work = sweep
        self.sweep_seconds = sweep_seconds
        self.refresh_seconds = refresh_seconds
        self.scheduler = AsyncIOScheduler(
            timezone=settings.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self.next_at: datetime | None = None

    async def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(
            self.sweep, IntervalTrigger(seconds=self.sweep_seconds), id="sweep", name="sweep"
        )
        self.scheduler.add_job(
            self.refresh,
            IntervalTrigger(seconds=self.refresh_seconds),
            id="refresh",
            name="refresh",
        )
        # At start-up: whatever passed while we were down runs now, then the next deadline.
        await self.sweep()
        await self.refresh()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def refresh(self) -> None:
        """Point the deadline job at the earliest pending deadline."""
        now = self.clock.now()
        self._schedule(await deadlines.next_due(now), now)
        await clockstats.publish_snapshot(self.redis, self.snapshot(now))

    def _schedule(self, due: datetime | None, now: datetime) -> None:
        self.next_at = due
        if due is None:
            return
        job = self.scheduler.get_job("deadline")
        run_at = max(due, now)
        if (
            job is not None
            and job.next_run_time is not None
            and abs((job.next_run_time - run_at).total_seconds()) < 0.001
        ):
            return
        self.scheduler.add_job(
            self.fire,
            DateTrigger(run_date=run_at),
            args=[due],
            id="deadline",
            name="deadline",
            replace_existing=True,
            # The job reschedules itself as it ends; a second instance may overlap briefly
            # (the Redis lock keeps the work single).
            max_instances=2,
        )

    async def fire(self, due_at: datetime) -> None:
        """Process what is due; deadlines that fall due meanwhile are taken in the same go."""
        while True:
            await self.run_locked("deadline", due_at, self.due_work)
            now = self.clock.now()
            upcoming = await deadlines.next_due(now)
            if upcoming is None or upcoming > now + BATCH_GAP:
                break
            due_at = upcoming
        self._schedule(upcoming, now)

    async def sweep(self) -> None:
        now = self.clock.now()
        await self.run_locked("sweep", now, self.sweep_work)

    async def run_locked(self, name: str, due_at: datetime, work: Work) -> bool:
        """Run the work once across every scheduler process; False if another holds it."""
        lock = self.redis.lock(f"qunshop:job:{name}", timeout=LOCK_TIMEOUT, blocking=False)
        if not await lock.acquire():
            logger.debug("job %s is running elsewhere; skipped", name)
            return False
        try:
            now = self.clock.now()
            try:
                await work(now)
            except Exception as exc:
                logger.exception("job %s due %s failed; the next run retries", name, due_at)
                await clockstats.record_run(
                    job=name, due_at=due_at, ran_at=self.clock.now(), ok=False, error=str(exc)
                )
                return True
            if name == "deadline":  # the sweeper's lag is its interval, not interesting
                await clockstats.record_run(job=name, due_at=due_at, ran_at=now)
            logger.debug("job %s due %s ran", name, due_at)
            return True
        finally:
            try:
                await lock.release()
            except Exception:  # expired meanwhile: nothing to release
                logger.warning("job %s lock had expired", name)

    def snapshot(self, now: datetime) -> dict[str, object]:
        return {
            "heartbeat": now.isoformat(),
            "jobs": [
                {
                    "id": job.id,
                    "next_run_at": job.next_run_time.isoformat() if job.next_run_time else None,
                }
                for job in self.scheduler.get_jobs()
            ],
            "next_deadline": self.next_at.isoformat() if self.next_at else None,
            "sweep_every": str(timedelta(seconds=self.sweep_seconds)),
        }
