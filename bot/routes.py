"""The chat door's routes: one webhook per platform."""

from __future__ import annotations

from aiohttp import web

from bot import wechat_oa, wecom_app, wecom_bot
from bot.crypto import ACCOUNTS, Accounts
from qunshop.keys import SETTINGS


def setup_bot_routes(app: web.Application) -> None:
    app[ACCOUNTS] = Accounts.of(app[SETTINGS])
    app.router.add_get("/bot/wechat", wechat_oa.verify_url)
    app.router.add_post("/bot/wechat", wechat_oa.receive)
    app.router.add_get("/bot/wecom", wecom_app.verify_url)
    app.router.add_post("/bot/wecom", wecom_app.receive)
    app.router.add_get("/bot/wecom-bot", wecom_bot.verify_url)
    app.router.add_post("/bot/wecom-bot", wecom_bot.receive)
