"""Editing a campaign: what may change, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.user import Role
from qunshop.errors import Conflict, Invalid
from services import campaigns
from services.auth import Principal
from services.campaigns import CampaignEdit
from tests.support.factories import make_campaign, make_community, make_user

pytestmark = pytest.mark.usefixtures("client")


async def test_a_leader_edits_title_end_and_limit() -> None:
    now = datetime.now(tz=UTC)
    leader = await make_user(Role.LEADER)
    who = Principal(user_id=leader.id, role=leader.role)
    campaign = await make_campaign(await make_community(leader), now=now)
    later = campaign.ends_at + timedelta(days=1)
    edited = await campaigns.update(
        principal=who,
        campaign_id=campaign.id,
        edit=CampaignEdit(title=" 周末橙子团 ", ends_at=later, per_user_limit=3),
        now=now,
    )
    assert (edited.title, edited.ends_at, edited.per_user_limit) == ("周末橙子团", later, 3)
    for bad in (
        CampaignEdit(title=""),
        CampaignEdit(ends_at=now - timedelta(minutes=1)),
        CampaignEdit(per_user_limit=0),
    ):
        with pytest.raises(Invalid):
            await campaigns.update(principal=who, campaign_id=campaign.id, edit=bad, now=now)
    await campaigns.close(principal=who, campaign_id=campaign.id, now=now)
    with pytest.raises(Conflict):
        await campaigns.update(
            principal=who, campaign_id=campaign.id, edit=CampaignEdit(title="x"), now=now
        )
    assert [c.id for c in await campaigns.managed(principal=who)] == [campaign.id]
