"""Typed application keys: every shared resource is looked up by one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import jinja2
from aiohttp import web
from aiohttp.helpers import ChainMapProxy
from redis.asyncio import Redis

from qunshop.chat import Dispatch
from qunshop.clock import Clock
from qunshop.config import Settings
from qunshop.tasks import TaskTracker

if TYPE_CHECKING:
    from bot.messenger import Messenger
    from qunshop.assembly.metrics import Metrics
    from services.chat_gate import ChatGate
    from services.coupon_gate import CouponGate
    from services.flashgate import FlashGate
    from services.roles import RoleMarks
    from wechat.api import PayClient

# The app's resources as a request sees them (``request.config_dict``): a view looks them up
# once and hands them on, since every ``config_dict`` access builds a new chain of maps.
Resources = ChainMapProxy

SETTINGS = web.AppKey("qunshop.settings", Settings)
CLOCK = web.AppKey("qunshop.clock", Clock)
REDIS = web.AppKey("qunshop.redis", Redis)
HTTP = web.AppKey("qunshop.http", aiohttp.ClientSession)
TASKS = web.AppKey("qunshop.tasks", TaskTracker)

REQUEST_ID = web.RequestKey("qunshop.request_id", str)
# Typed by annotation only, so the basics import no service, no protocol client and no door.
PAY: web.AppKey[PayClient] = web.AppKey("qunshop.pay")
DISPATCH = web.AppKey("qunshop.dispatch", Dispatch)
CHAT_TEMPLATES = web.AppKey("qunshop.chat_templates", jinja2.Environment)
FLASH_GATE: web.AppKey[FlashGate] = web.AppKey("qunshop.flash_gate")
CHAT_GATE: web.AppKey[ChatGate] = web.AppKey("qunshop.chat_gate")
ROLE_MARKS: web.AppKey[RoleMarks] = web.AppKey("qunshop.role_marks")
COUPON_GATE: web.AppKey[CouponGate] = web.AppKey("qunshop.coupon_gate")
MESSENGER: web.AppKey[Messenger] = web.AppKey("qunshop.messenger")
METRICS: web.AppKey[Metrics] = web.AppKey("qunshop.metrics")


def request_id_of(request: web.Request) -> str:
    return request.get(REQUEST_ID, "-")
