"""Typed application keys: every shared resource is looked up by one of these."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from qunshop.clock import Clock
from qunshop.config import Settings
from qunshop.tasks import TaskTracker
from wechat.api import PayClient

SETTINGS = web.AppKey("qunshop.settings", Settings)
CLOCK = web.AppKey("qunshop.clock", Clock)
REDIS = web.AppKey("qunshop.redis", Redis)
HTTP = web.AppKey("qunshop.http", aiohttp.ClientSession)
TASKS = web.AppKey("qunshop.tasks", TaskTracker)

REQUEST_ID = web.RequestKey("qunshop.request_id", str)
PAY = web.AppKey("qunshop.pay", PayClient)
