"""services.campaign_teams: a campaign's teams read in five statements however many there are,
by its community's leader or an operator, nobody else."""

from __future__ import annotations

import pytest

from models.user import Role
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import ErrorCode, QunshopError
from services import campaign_teams, groupbuy
from tests.support.factories import make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.statements import Statements
from tests.web.test_console_teams import _two_teams
from tests.web.world import START, who


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.mark.usefixtures("api")  # the app opens the ORM
async def test_five_statements_for_any_number_of_teams(
    settings: Settings, wechat: FakeWeChat, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    community = await make_community()
    campaign = await make_campaign(community, team_size=3, now=clock.now())
    await _two_teams(campaign, settings, wechat, clock)
    leader = await community.leader
    statements = Statements(caplog)
    statements.start()
    read = await campaign_teams.teams_of(principal=who(leader), campaign_id=str(campaign.id))
    assert len(statements.since()) == 5
    assert [len(r.members) for r in read.teams] == [2, 3]
    assert [r.missing for r in read.teams] == [1, 0]
    s = read.summary
    assert (s.open, s.succeeded, s.failed, s.paid, s.pending) == (1, 1, 0, 4, 1)

    # A team the leader opens for the group (开团) holds no seat until someone joins: listed.
    opened = await groupbuy.open_team(
        principal=who(leader), campaign_id=str(campaign.id), now=clock.now()
    )
    again = await campaign_teams.teams_of(principal=who(leader), campaign_id=str(campaign.id))
    assert [(r.team.id, len(r.members), r.missing) for r in again.teams][0] == (opened.id, 0, 3)
    assert (again.summary.open, again.summary.paid, again.summary.pending) == (2, 4, 1)

    operator = await make_user(Role.ADMIN)
    seen = await campaign_teams.teams_of(principal=who(operator), campaign_id=str(campaign.id))
    assert len(seen.teams) == 3
    stranger = await make_user(Role.LEADER)
    with pytest.raises(QunshopError) as refused:
        await campaign_teams.teams_of(principal=who(stranger), campaign_id=str(campaign.id))
    assert refused.value.code is ErrorCode.NOT_COMMUNITY_LEADER
