"""Rows and tokens for tests, made through the models the app uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from models.catalog import Product, Sku
from models.community import Community, Membership, PickupPoint
from models.groupbuy import Campaign
from models.identity import IdentityStatus, LeaderIdentity
from models.user import Role, User
from qunshop.config import Settings
from services import campaigns
from services.auth import issue_token


async def make_user(role: Role = Role.SHOPPER, *, nickname: str = "") -> User:
    return await User.create(
        openid=f"o-{uuid.uuid4().hex[:20]}", role=role, nickname=nickname or role.value
    )


def auth(user: User, settings: Settings, now: datetime | None = None) -> dict[str, str]:
    token, _ = issue_token(
        user=user, secret=settings.secret_key.get_secret_value(), now=now or datetime.now(tz=UTC)
    )
    return {"Authorization": f"Bearer {token}"}


async def make_community(leader: User | None = None, *, name: str = "测试社区") -> Community:
    leader = leader or await make_user(Role.LEADER)
    community = await Community.create(
        name=name, leader=leader, chat_id=f"chat-{uuid.uuid4().hex[:12]}"
    )
    await PickupPoint.create(community=community, name="门口小店", address="1 号楼", hours="9-21")
    await verified_identity(leader)
    return community


async def verified_identity(leader: User) -> None:
    """The leader verified real name and phone (services/identity.py), as the API does."""
    await LeaderIdentity.get_or_create(
        user_id=leader.id,
        defaults={
            "status": IdentityStatus.VERIFIED,
            "provider": "standin",
            "verified_at": datetime.now(tz=UTC),
        },
    )


async def join(user: User, community: Community) -> None:
    await Membership.get_or_create(user=user, community=community)


async def make_sku(
    community: Community | None = None, *, price: int = 1990, stock: int = 100
) -> Sku:
    community = community or await make_community()
    await community.fetch_related("leader")
    product = await Product.create(
        title="测试商品", category="fresh", community=community, created_by=community.leader
    )
    return await Sku.create(product=product, name="默认", price=price, stock=stock)


async def make_campaign(
    community: Community | None = None,
    *,
    team_size: int = 3,
    stock_cap: int = 50,
    group_price: int = 990,
    head_price: int | None = None,
    per_user_limit: int = 1,
    guaranteed: bool = False,
    price_tiers: list[dict[str, int]] | None = None,
    now: datetime | None = None,
    team_hours: int = 24,
    reservation_minutes: int = 15,
) -> Campaign:
    """A running campaign, its stock carved out of a fresh SKU as the service does."""
    now = now or datetime.now(tz=UTC)
    community = community or await make_community()
    sku = await make_sku(community, stock=stock_cap)
    await Sku.filter(id=sku.id).update(stock=0)
    return await Campaign.create(
        community=community,
        sku=sku,
        title="测试拼团",
        group_price=group_price,
        head_price=head_price,
        price_tiers=price_tiers or [],
        team_size=team_size,
        team_hours=team_hours,
        reservation_minutes=reservation_minutes,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
        stock_cap=stock_cap,
        stock_left=stock_cap,
        per_user_limit=per_user_limit,
        guaranteed=guaranteed,
        created_by=community.leader,
    )


async def stock_left(campaign_id: uuid.UUID) -> int:
    """What the campaign has left to sell: its reserve plus its stock slices (0020)."""
    return (await campaigns.stock_left([campaign_id]))[campaign_id]
