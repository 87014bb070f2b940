"""An operator, and a refund WeChat Pay refused for good (parked), reached through services."""

from __future__ import annotations

import dataclasses
import functools
from datetime import timedelta
from typing import TYPE_CHECKING

from models.chat import ChatIdentity
from models.groupbuy import Team, TeamStatus
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.assembly.background import outbox_handlers
from qunshop.chat import Platform
from qunshop.keys import PAY
from services import groupbuy, outbox, refunds
from tests.services.test_refunds import _pay, _team
from tests.support.factories import make_campaign, make_user

if TYPE_CHECKING:
    from datetime import datetime

    from aiohttp import web

    from qunshop.config import Settings
    from tests.support.fake_wechat import FakeWeChat

REFUND_NOTIFY = "/pay/wechat/refund-notify"


async def operator(chat_id: str = "ops") -> User:
    admin = await make_user(Role.ADMIN, nickname="运营小张")
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=chat_id, user=admin)
    return admin


def refund_handlers(app: web.Application, settings: Settings, *, mch_id: str | None = None):
    client = app[PAY] if mch_id is None else dataclasses.replace(app[PAY], mch_id=mch_id)
    notify = f"{settings.public_base_url}{REFUND_NOTIFY}"
    handlers = outbox_handlers(app)  # the server's own, news and all; the refund's client swapped
    handlers[refunds.SUBMIT] = functools.partial(refunds.submit, pay=client, notify_url=notify)
    return handlers


async def parked_refund(
    app: web.Application, settings: Settings, wechat: FakeWeChat, now: datetime
) -> OutboxMessage:
    """A paid member of a team that failed; WeChat Pay refuses the refund (a wrong merchant
    id, as after a misconfiguration), so the outbox parks it for a person."""
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990, now=now)
    (seat,) = await _team(campaign, 1, now)
    await _pay(settings, wechat, seat.order)
    team = await Team.get(id=seat.team.id)
    after = team.deadline_at + timedelta(minutes=1)
    assert await groupbuy.close_team(team.id, now=after) is TeamStatus.FAILED
    await outbox.run_once(refund_handlers(app, settings, mch_id="1999999999"), now=after)
    return await OutboxMessage.get(kind=refunds.SUBMIT)
