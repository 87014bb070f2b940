"""No business record goes by a cascade (migration 0320): every key in the database restricts
but the few, pinned here, whose child is part of its parent.

A person who supplied, started a team, shared, invited or wrote something, a community that
sells, a product on a campaign: deleting them by hand is refused, naming the key, and the
records stay. A person whose rows are only their own still goes by hand, and those rows with
them; an erased one keeps what others rely on (services/privacy_erasure.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from models.catalog import Product, Sku
from models.community import Community, Membership
from models.delivery import Address
from models.groupbuy import Campaign, Team
from models.growth import InviteBinding, ShareCode, ShareKind, Visit, VisitSource
from models.moderation import Shown
from models.post import Comment, Post, PostKind, PostLike
from models.privacy import Erasure
from models.supply import Supplier
from models.user import User
from qunshop.config import Settings
from tests.services.test_records_kept import KEYS_SQL
from tests.support.factories import auth, make_campaign, make_community, make_sku, make_user

# Every key that does not restrict: each child is part of its parent (0320's docstring says
# why). A new key that cascades fails here until it is listed, or made to restrict.
PERSONS_OWN = """
    account_links.account_id account_links.from_user_id addresses.user_id
    chat_identities.user_id checkins.user_id erasures.user_id followings.follower_id
    followings.leader_id leader_identities.user_id member_tiers.user_id memberships.user_id
    mutes.user_id offences.user_id personal_details.user_id post_likes.user_id
    subscribe_consents.user_id
"""
COMMUNITYS_OWN = """
    answers.community_id checkins.community_id comments.community_id
    delivery_plans.community_id followings.community_id memberships.community_id
    moderation_items.community_id pickup_points.community_id posts.community_id
    questions.community_id reviews.community_id
"""
PARTS_OF_WHAT_THEY_NAME = """
    account_links.identity_id activity_runs.activity_id answers.question_id
    bargain_cuts.bargain_id bill_differences.run_id broadcast_deliveries.broadcast_id
    campaign_stock_slices.campaign_id comments.parent_id comments.post_id
    content_reports.item_id flash_sales.activity_id media_checks.item_id post_likes.post_id
    questions.product_id return_rules.product_id reviews.campaign_id reviews.order_id
    reviews.product_id sku_prices.sku_id skus.product_id team_cards.team_id
    team_reminders.team_id
"""
KEPT = {
    **{
        tuple(key.split(".")): "c"
        for key in (PERSONS_OWN + COMMUNITYS_OWN + PARTS_OF_WHAT_THEY_NAME).split()
    },
    ("member_tiers", "level_id"): "n",  # a level taken off the ladder leaves members unranked
}


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def test_every_key_restricts_but_those_whose_child_is_part_of_its_parent() -> None:
    keys = await connections.get("default").execute_query_dict(KEYS_SQL)
    assert len(keys) > 150  # the query reads the migrated schema
    assert {(k["child"], k["col"]): k["on_delete"] for k in keys if k["on_delete"] != "r"} == KEPT
    assert [(k["child"], k["col"]) for k in keys if not k["validated"]] == []  # 0320 validated


async def _post(author: User, community: Community, **links: Any) -> Post:
    return await Post.create(
        community=community,
        author=author,
        kind=PostKind.POST,
        text="今天的西瓜",
        shown=Shown.VISIBLE,
        created_at=_now(),
        **links,
    )


async def _share(sharer: User, campaign: Campaign) -> ShareCode:
    return await ShareCode.create(
        key=uuid.uuid4().hex[:12],
        target=f"campaign:{sharer.id}:{campaign.id}",
        kind=ShareKind.CAMPAIGN,
        sharer=sharer,
        community_id=campaign.community_id,
        campaign=campaign,
        created_at=_now(),
    )


async def _bind(inviter: User, invitee: User, code: ShareCode | None = None) -> InviteBinding:
    return await InviteBinding.create(
        inviter=inviter, invitee=invitee, code=code, source=VisitSource.ENTRY, generation=0,
        bound_at=_now(),
    )  # fmt: skip


async def _team(head: User, campaign: Campaign) -> Team:
    """A team row alone: a real one holds its head's seat, whose key restricts already."""
    return await Team.create(
        code=uuid.uuid4().hex[:8], campaign=campaign, head=head, size=3,
        deadline_at=_now() + timedelta(hours=24),
    )  # fmt: skip


async def _supplier(account: User | None) -> Supplier:
    return await Supplier.create(
        name="果园", contact_name="王", contact_phone="13800000000",
        business_licence="91110000000000000X", account=account,
    )  # fmt: skip


# Each world: what to delete (a model and a row's id), the key that refuses it, the records
# that must stay (a model and a row's id each).
Case = tuple[type[Model], uuid.UUID, str, list[tuple[type[Model], uuid.UUID]]]


async def supplier_account() -> Case:
    account = await make_user()
    supplier = await _supplier(account)
    return User, account.id, "suppliers_account_id_fkey", [(Supplier, supplier.id)]


async def supplier() -> Case:
    found = await _supplier(None)
    product = await Product.create(
        title="苹果", category="fresh", supplier=found, created_by=await make_user()
    )
    return Supplier, found.id, "products_supplier_id_fkey", [(Product, product.id)]


async def team_head() -> Case:
    head = await make_user()
    team = await _team(head, await make_campaign())
    return User, head.id, "teams_head_id_fkey", [(Team, team.id)]


async def team_campaign() -> Case:
    campaign = await make_campaign()
    team = await _team(await make_user(), campaign)
    return Campaign, campaign.id, "teams_campaign_id_fkey", [(Team, team.id)]


async def sharer() -> Case:
    user = await make_user()
    code = await _share(user, await make_campaign())
    return User, user.id, "share_codes_sharer_id_fkey", [(ShareCode, code.id)]


async def inviter() -> Case:
    user = await make_user()
    binding = await _bind(user, await make_user())
    return User, user.id, "invite_bindings_inviter_id_fkey", [(InviteBinding, binding.id)]


async def invitee() -> Case:
    user = await make_user()
    binding = await _bind(await make_user(), user)
    return User, user.id, "invite_bindings_invitee_id_fkey", [(InviteBinding, binding.id)]


async def share_code() -> Case:
    """A code's attribution: the binding and the visit it brought."""
    campaign = await make_campaign()
    code = await _share(await make_user(), campaign)
    binding = await _bind(await make_user(), await make_user(), code)
    visit = await Visit.create(
        source=VisitSource.ENTRY, code=code, outcome="bound", created_at=_now()
    )
    kept = [(InviteBinding, binding.id), (Visit, visit.id)]
    return ShareCode, code.id, "(invite_bindings|visits)_code_id_fkey", kept


async def author() -> Case:
    """Her post, and somebody else's comment on it."""
    user = await make_user()
    post = await _post(user, await make_community())
    comment = await Comment.create(
        post=post, community_id=post.community_id, author=await make_user(), text="想要",
        shown=Shown.VISIBLE, created_at=_now(),
    )  # fmt: skip
    return User, user.id, "posts_author_id_fkey", [(Post, post.id), (Comment, comment.id)]


async def community() -> Case:
    """A community that sells a product, nothing bought yet."""
    sku = await make_sku()
    product = await Product.get(id=sku.product_id)
    return Community, product.community_id, "products_community_id_fkey", [(Product, product.id)]


async def product_on_a_campaign() -> Case:
    """The SKU is part of its product and goes with it; the campaign that sells it is not."""
    campaign = await make_campaign()
    sku = await Sku.get(id=campaign.sku_id)
    kept = [(Campaign, campaign.id), (Sku, sku.id)]
    return Product, sku.product_id, "campaigns_sku_id_fkey", kept


WORLDS: dict[str, Callable[[], Awaitable[Case]]] = {
    f.__name__: f
    for f in (
        supplier_account, supplier, team_head, team_campaign, sharer, inviter, invitee,
        share_code, author, community, product_on_a_campaign,
    )
}  # fmt: skip


@pytest.mark.parametrize("world", list(WORLDS))
async def test_deleting_what_a_record_names_is_refused_and_keeps_it(world: str) -> None:
    model, key, constraint, kept = await WORLDS[world]()

    with pytest.raises(IntegrityError, match=constraint):
        await model.filter(id=key).delete()

    assert await model.filter(id=key).exists()
    for kept_model, kept_id in kept:
        assert await kept_model.filter(id=kept_id).exists(), kept_model.__name__


async def test_a_person_whose_rows_are_only_their_own_still_goes_with_them() -> None:
    """Their address, membership and like go with them; the post they liked stays."""
    user, other = await make_user(), await make_user()
    home = await make_community()
    post = await _post(other, home)
    await Address.create(user=user, detail="1 号楼 101", created_at=_now())
    await Membership.create(user=user, community=home)
    await PostLike.create(post=post, user=user, created_at=_now())

    assert await User.filter(id=user.id).delete() == 1

    assert not await Address.exists(user_id=user.id)
    assert not await Membership.exists(user_id=user.id)
    assert not await PostLike.exists(user_id=user.id)
    assert await Post.exists(id=post.id)


async def test_an_erased_inviter_and_author_keeps_what_others_rely_on(
    client: TestClient, settings: Settings
) -> None:
    """She shared a campaign, bound a friend, applied to supply and posted (a friend
    commented): she erases her account, every one of those stays, and her row cannot go."""
    user, friend = await make_user(), await make_user()
    campaign = await make_campaign()
    code = await _share(user, campaign)
    binding = await _bind(user, friend, code)
    found = await _supplier(user)
    post = await _post(user, await Community.get(id=campaign.community_id), campaign=campaign)
    comment = await Comment.create(
        post=post, community_id=post.community_id, author=friend, text="我也要",
        shown=Shown.VISIBLE, created_at=_now(),
    )  # fmt: skip

    erased = await client.delete("/api/v1/me", headers=auth(user, settings))

    assert erased.status == 200, await erased.text()
    assert await Erasure.exists(user_id=user.id)
    assert (await User.get(id=user.id)).openid == f"erased:{user.id.hex}"
    assert (await Post.get(id=post.id)).text == ""  # her words go, the thread stays
    assert await Comment.filter(id=comment.id, post_id=post.id).exists()
    assert await ShareCode.filter(id=code.id, sharer_id=user.id).exists()
    assert await InviteBinding.filter(id=binding.id, inviter_id=user.id).exists()
    assert await Supplier.filter(id=found.id, account_id=user.id).exists()
    with pytest.raises(IntegrityError, match="_fkey"):
        await User.filter(id=user.id).delete()
    assert await InviteBinding.filter(id=binding.id).exists()
