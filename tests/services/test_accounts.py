"""Linking a chat identity moves what its chat-only user owns, whole or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.activity import PointsEntry
from models.chat import AccountLink, ChatIdentity, LinkVia
from models.community import Membership
from models.growth import InviteBinding, VisitSource
from models.order import Order
from models.user import User
from qunshop.errors import BadRequest, Conflict
from services import accounts, chat_users, groupbuy, points
from services.auth import Principal
from tests.support.factories import make_campaign, make_community, make_user

SECRET = "test-secret-key-for-signing-tokens"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


async def balance(user_id: object, community_id: object) -> int:
    """The person's points (shop-wide), kept by the database and equal to the ledger's sum."""
    del community_id
    kept = await points.balance(user_id)  # type: ignore[arg-type]
    assert kept == await points.ledger_sum(user_id)  # type: ignore[arg-type]
    return kept


async def chat_user(name: str) -> tuple[ChatIdentity, User]:
    identity = await chat_users.identity_for(platform="wecom_bot", external_id=name, now=NOW)
    return identity, await User.get(id=identity.user_id)


async def test_points_memberships_and_invites_move_over() -> None:
    community = await make_community()
    identity, shell = await chat_user("li-si")
    account = await make_user()
    friend = await make_user()
    await Membership.create(user=shell, community=community)
    await Membership.create(user=account, community=community)  # both members: one row stays
    await PointsEntry.create(user=shell, community=community, delta=30, reason="checkin", ref="t:a")
    await PointsEntry.create(user=shell, community=community, delta=20, reason="checkin", ref="t:b")
    await PointsEntry.create(
        user=account, community=community, delta=5, reason="checkin", ref="t:c"
    )
    # The chat user was invited by someone, and invited a friend.
    inviter = await make_user()
    for invitee, by in ((shell, inviter), (friend, shell)):
        await InviteBinding.create(
            invitee=invitee, inviter=by, source=VisitSource.ENTRY, generation=0, bound_at=NOW
        )

    done = await accounts.bind(
        identity_id=identity.id, account_id=account.id, via=LinkVia.TOKEN, now=NOW
    )

    assert done.moved["points"] == 50 and done.moved["invite_bindings"] == 2
    assert await balance(account.id, community.id) == 55
    assert await balance(shell.id, community.id) == 0  # moved by entries: nothing edited
    assert await PointsEntry.filter(user_id=shell.id).count() == 3
    assert await Membership.filter(user_id=account.id).count() == 1
    assert (await InviteBinding.get(invitee_id=account.id)).inviter_id == inviter.id
    assert (await InviteBinding.get(invitee_id=friend.id)).inviter_id == account.id
    assert (await ChatIdentity.get(id=identity.id)).user_id == account.id
    link = await AccountLink.get()
    assert link.from_user_id == shell.id and link.moved == done.moved


async def test_a_seat_in_the_same_campaign_on_both_sides_refuses_the_link() -> None:
    campaign = await make_campaign(team_size=3, now=NOW - timedelta(minutes=1))
    identity, shell = await chat_user("li-si")
    account = await make_user()
    for who in (shell, account):
        await groupbuy.start_team(
            principal=Principal(who.id, who.role), campaign_id=str(campaign.id), now=NOW
        )

    with pytest.raises(Conflict) as refused:
        await accounts.bind(
            identity_id=identity.id, account_id=account.id, via=LinkVia.TOKEN, now=NOW
        )

    assert refused.value.code == "account_link_conflict"
    assert await AccountLink.all().count() == 0
    assert await Order.filter(user_id=shell.id).count() == 1
    assert (await ChatIdentity.get(id=identity.id)).user_id == shell.id


async def test_tokens_are_signed_and_short_lived() -> None:
    identity, _ = await chat_user("li-si")
    token = await accounts.link_token_for(
        platform="wecom_bot", external_id="li-si", secret=SECRET, now=NOW
    )
    assert token is not None
    ticket = accounts.read_link_token(token, secret=SECRET, now=NOW)
    assert ticket.identity_id == identity.id
    with pytest.raises(BadRequest) as other_key:
        accounts.read_link_token(token, secret="another-secret", now=NOW)
    assert other_key.value.code == "link_token_invalid"
    with pytest.raises(BadRequest) as late:
        accounts.read_link_token(token, secret=SECRET, now=NOW + accounts.LINK_TOKEN_TTL)
    assert late.value.code == "link_token_expired"
    # Unknown senders and linked ones get no token.
    assert (
        await accounts.link_token_for(
            platform="wecom_bot", external_id="nobody", secret=SECRET, now=NOW
        )
        is None
    )
    account = await make_user()
    await accounts.bind(identity_id=identity.id, account_id=account.id, via=LinkVia.TOKEN, now=NOW)
    assert (
        await accounts.link_token_for(
            platform="wecom_bot", external_id="li-si", secret=SECRET, now=NOW
        )
        is None
    )


async def test_unionid_links_at_login_and_at_follow() -> None:
    # Followed first (the OA told us its unionid), logged in later: linked at login.
    identity, _ = await chat_user("oa-openid-1")
    await accounts.note_unionid(
        platform="wecom_bot", external_id="oa-openid-1", unionid="u-1", now=NOW
    )
    account = await User.create(openid="mini-1", unionid="u-1")
    linked = await accounts.link_by_unionid(account=account, now=NOW)
    assert [x.external_id for x in linked] == ["oa-openid-1"]
    assert (await AccountLink.get(identity_id=identity.id)).via == LinkVia.UNIONID

    # Logged in first, followed later: linked at follow.
    later, _ = await chat_user("oa-openid-2")
    account2 = await User.create(openid="mini-2", unionid="u-2")
    done = await accounts.note_unionid(
        platform="wecom_bot", external_id="oa-openid-2", unionid="u-2", now=NOW
    )
    assert [x.account_id for x in done] == [account2.id]
    assert (await ChatIdentity.get(id=later.id)).user_id == account2.id
