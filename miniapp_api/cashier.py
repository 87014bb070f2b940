"""How a request's payment is asked of WeChat Pay: one place for the prepay and for a join or
a start asked to pay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from miniapp_api.remote import client_address
from qunshop.keys import PAY, SETTINGS
from services.prepays import Cashier

if TYPE_CHECKING:
    from aiohttp import web


def cashier_of(request: web.Request) -> Cashier:
    """The app's pay client, the notify URL, the payer's address (WeChat Pay's
    spbill_create_ip) and the leader rule in force."""
    config = request.config_dict
    settings = config[SETTINGS]
    return Cashier(
        pay=config[PAY],
        notify_url=f"{settings.public_base_url}/pay/wechat/notify",
        client_ip=client_address(request) or "127.0.0.1",
        leader_identity_required=settings.leader_identity_required,
    )
