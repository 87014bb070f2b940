"""The demo shop: enough data to click through every door on a fresh machine."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models.catalog import Product, Sku
from models.chat import ChatIdentity
from models.community import Community, Membership, PickupPoint
from models.user import Role, User
from qunshop.chat import Platform
from services import aftersales, bargains, campaigns, groupbuy, identity
from services.auth import Principal

if TYPE_CHECKING:
    from qunshop.config import Settings

logger = logging.getLogger(__name__)

DEMO_PRODUCTS = [
    # title, category, [(sku name, price in fen, stock)]
    ("赣南脐橙", "fruit", [("5斤装", 3990, 200), ("10斤装", 6990, 100)]),
    ("散养土鸡蛋", "fresh", [("30枚", 3580, 150)]),
    ("东北五常大米", "grain", [("10斤", 5990, 80), ("20斤", 10990, 40)]),
]
PERISHABLE = ("fruit", "fresh")  # the demo's categories of 鲜活易腐 goods

DEMO_ROBOT_KEY = "demo-group-robot"
# The rice (10斤) is open for bargaining, so 砍价 in the demo has something to start: three
# friends' cuts take it from its price to the floor, each bargain running a day.
DEMO_BARGAIN = ("东北五常大米", "10斤", 990, 3, 24)  # product, SKU, floor (fen), helpers, hours


async def seed(*, settings: Settings) -> str:
    """Seed the demo shop unless the database already has users. Returns a summary line."""
    if await User.exists():
        return "the database already has data; demo not seeded"
    async with in_transaction():
        admin = await User.create(openid="demo-admin", nickname="管理员", role=Role.ADMIN)
        leader = await User.create(openid="demo-leader", nickname="王团长", role=Role.LEADER)
        shopper = await User.create(openid="demo-shopper", nickname="小李")
        community = await Community.create(
            name="阳光花园社区团",
            leader=leader,
            chat_id="demo-group-chat",
            # As if the leader had typed 绑定 <key>: the group hears 成团 and 到货 through
            # its robot (in development the stand-in logs what it is sent).
            robot_key=DEMO_ROBOT_KEY,
            timezone=settings.timezone,
        )
        await PickupPoint.create(
            community=community,
            name="阳光花园南门便利店",
            address="阳光花园小区南门 12 号",
            hours="09:00-21:00",
        )
        for user in (leader, shopper):
            await Membership.create(user=user, community=community)
        sku_count = 0
        first_sku = None
        for title, category, skus in DEMO_PRODUCTS:
            product = await Product.create(
                title=title, category=category, community=community, created_by=leader
            )
            for name, price, stock in skus:
                sku = await Sku.create(product=product, name=name, price=price, stock=stock)
                first_sku = first_sku or sku
                sku_count += 1
    assert first_sku is not None
    now = datetime.now(tz=UTC)
    # Fresh and perishable goods take no 7-day no-reason return (消费者权益保护法 art. 25);
    # the rule is an admin's to set, and the demo's fruit and eggs are such goods.
    for category in PERISHABLE:
        await aftersales.set_rule(
            category=category,
            product_id=None,
            no_reason_return=False,
            note="鲜活易腐，不适用七天无理由退货",
            now=now,
        )
    # The chat identities of the leader (as if they had typed their 认证 code already) and of
    # the team's head (as if linked), so `qunshop chat --user demo-leader` (WeCom bot, or
    # --platform wechat) is the leader and `--user demo-shopper` the head who has not paid,
    # the same person the stand-in's sign-in with the code `demo-shopper` is.
    for user in (leader, shopper):
        for platform in (Platform.WECOM_BOT, Platform.WECHAT):
            await ChatIdentity.create(platform=platform.value, external_id=user.openid, user=user)
    # Real name and phone verified (by the stand-in provider, recorded as such), so the demo
    # community may take payments.
    await identity.verify(
        principal=Principal(user_id=leader.id, role=leader.role),
        real_name="王团长",
        phone="13800138000",
        verifier=identity.StandIn(),
        settings=settings,
        now=now,
    )
    title, sku_name, floor, helpers, hours = DEMO_BARGAIN
    rice = await Sku.get(product__title=title, product__community=community, name=sku_name)
    await bargains.open_offer(
        principal=Principal(user_id=admin.id, role=admin.role),
        spec=bargains.OfferSpec(
            sku_id=str(rice.id), floor_price=floor, helpers_needed=helpers, hours=hours
        ),
        now=now,
    )
    campaign = await campaigns.create_campaign(
        principal=Principal(user_id=leader.id, role=leader.role),
        draft=campaigns.CampaignDraft(
            community_id=str(community.id),
            sku_id=str(first_sku.id),
            title="赣南脐橙 三人团",
            group_price=2990,
            head_price=2790,
            price_tiers=[(3, 2690)],
            team_size=3,
            starts_at=now,
            ends_at=now + timedelta(days=7),
            stock_cap=60,
        ),
        now=now,
    )
    team = await groupbuy.start_team(
        principal=Principal(user_id=shopper.id, role=shopper.role),
        campaign_id=str(campaign.id),
        now=now,
        chat_id=community.chat_id,
    )
    logger.info("demo shop seeded")
    return (
        f"demo seeded: admin {admin.openid}, leader {leader.openid} of {community.name!r}, "
        f"{len(DEMO_PRODUCTS)} products with {sku_count} SKUs, campaign {campaign.title!r} "
        f"with open team {team.team.code} (its head {shopper.openid} has not paid yet), "
        f"{title} {sku_name} open for bargaining (砍价)"
    )
