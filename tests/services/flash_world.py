"""A flash sale that has just started, and how its gate and its buyers are read in tests."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from models.activity import ActivityKind, FlashSale
from models.catalog import Sku
from services import activities
from services.activities import Draft
from services.auth import Principal
from services.flashsale import FlashSpec
from tests.support.factories import make_community, make_sku

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from models.community import Community
    from models.user import User
    from qunshop.clock import FrozenClock


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def start_sale(clock: FrozenClock, *, stock: int, limit: int, extra: int = 50) -> FlashSale:
    """A sale of ``stock`` units carved out of a fresh SKU (``extra`` units stay on it)."""
    community = await make_community()
    sku = await make_sku(community, stock=stock + extra)
    sale = await place_sale(community, sku, clock, stock=stock, limit=limit)
    assert (await Sku.get(id=sku.id)).stock == extra
    clock.advance(timedelta(minutes=5))
    return sale


async def place_sale(
    community: Community,
    sku: Sku,
    clock: FrozenClock,
    *,
    stock: int,
    limit: int,
    starts_in: timedelta = timedelta(minutes=5),
) -> FlashSale:
    """The community's leader schedules a 30-minute sale of the SKU, to start in ``starts_in``."""
    view = await activities.create_activity(
        principal=who(await community.leader),
        community_id=community.id,
        draft=Draft(
            kind=ActivityKind.FLASH_SALE,
            title="鸡蛋秒杀",
            run_at=clock.now() + starts_in,
            flash=FlashSpec(
                sku_id=str(sku.id), price=990, stock=stock, per_user_limit=limit, minutes=30
            ),
        ),
        now=clock.now(),
    )
    assert view.flash_sale is not None
    return view.flash_sale


async def cancel_sale(sale: FlashSale, clock: FrozenClock, redis: Redis) -> None:
    """Its community's leader cancels the sale's activity, as the leader's door does."""
    activity = await sale.activity
    community = await activity.community
    await activities.cancel_activity(
        principal=who(await community.leader),
        community_id=community.id,
        activity_id=activity.id,
        now=clock.now(),
        redis=redis,
    )


def buy_url(sale: FlashSale) -> str:
    return f"/api/v1/flash-sales/{sale.id}/buy"


async def gate_counts(redis: Redis, sale: FlashSale) -> dict[str, int]:
    """The gate's counts: the stock and what each buyer holds (not its copy of the window)."""
    raw = await redis.hgetall(f"flash:{{{sale.id}}}")
    fields = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
    return {k: v for k, v in fields.items() if k == "stock" or k.startswith("u:")}
