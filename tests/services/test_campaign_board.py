"""services.campaign_board: the operators' campaigns page reads in five statements however
many campaigns, teams and orders are on it; and only operators read it."""

from __future__ import annotations

import pytest

from models.user import Role
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import ErrorCode, QunshopError
from services import campaign_board
from tests.support.factories import make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.statements import Statements
from tests.web.test_admin_campaigns import five_campaigns
from tests.web.world import who


@pytest.mark.usefixtures("api")  # the app opens the ORM
async def test_five_statements_for_any_number_of_campaigns(
    settings: Settings, wechat: FakeWeChat, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await five_campaigns(settings, wechat, clock)
    operator = who(await make_user(Role.ADMIN))
    statements = Statements(caplog)
    for limit, shown in ((1, 1), (50, 5)):
        statements.start()
        board = await campaign_board.browse(
            actor=operator, filters=campaign_board.Filters(), now=clock.now(), limit=limit
        )
        assert len(board.rows) == shown and len(statements.since()) == 5
    sold = {r.campaign.title: (r.sold, r.left, r.state) for r in board.rows}
    assert sold["苹果拼团"] == (1, 9, campaign_board.CampaignState.RUNNING)
    with pytest.raises(QunshopError) as refused:
        await campaign_board.browse(
            actor=who(await make_user(Role.LEADER)),
            filters=campaign_board.Filters(),
            now=clock.now(),
        )
    assert refused.value.code is ErrorCode.FORBIDDEN
