"""Helpers for the growth tests: paid orders through the real notify, open data encrypted as
WeChat encrypts it, and the growth hooks applied (idempotently) where the flow calls them."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from models.community import Community
from models.order import Order
from models.user import User
from qunshop.config import Settings
from services import checkout, earnings, payments
from services.auth import Principal
from tests.support.factories import make_sku
from tests.support.fake_wechat import FakeWeChat


def now() -> datetime:
    return datetime.now(tz=UTC)


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


def encrypt_open_data(session_key: str, payload: dict[str, Any]) -> tuple[str, str]:
    """What wx.getGroupEnterInfo hands the client: (encryptedData, iv), both base64.

    Built here with AES-128-CBC and PKCS#7, independently of the code under test.
    """
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(payload).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    cipher_text = encryptor.update(plain) + encryptor.finalize()
    return base64.b64encode(cipher_text).decode(), base64.b64encode(iv).decode()


def new_session_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


async def pay(settings: Settings, wechat: FakeWeChat, order: Order) -> Order:
    """WeChat Pay's notify for ``order``, through the real service; then the growth hook
    (a no-op repeat once services/payments.py calls it itself)."""
    user = await User.get(id=order.user_id)
    body = wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid
    )
    outcome = await payments.handle_notify(
        body,
        api_key=settings.pay_api_key.get_secret_value(),
        appid=settings.wechat_appid,
        mch_id=settings.pay_mch_id,
        now=now(),
    )
    assert outcome.applied and outcome.honoured, outcome
    paid = await Order.get(id=order.id)
    await earnings.on_paid(paid, now=now())
    return await Order.get(id=order.id)


async def direct_order(
    user: User, community: Community, *, price: int = 10_000, quantity: int = 1
) -> Order:
    sku = await make_sku(community, price=price, stock=100)
    return await checkout.buy_direct(
        principal=principal_of(user),
        sku_id=str(sku.id),
        quantity=quantity,
        community_id=str(community.id),
        now=now(),
    )


async def paid_order(
    settings: Settings,
    wechat: FakeWeChat,
    user: User,
    community: Community,
    *,
    price: int = 10_000,
) -> Order:
    return await pay(settings, wechat, await direct_order(user, community, price=price))
