"""Rows the coupon, points and pricing tests share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from models.coupon import CouponKind, CouponScope, CouponTemplate
from models.user import Role, User
from services import coupons
from services.auth import Principal
from services.coupons import TemplateDraft
from tests.support.factories import make_user


def now() -> datetime:
    return datetime.now(tz=UTC)


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def make_template(**overrides: Any) -> CouponTemplate:
    values: dict[str, Any] = {
        "name": "满20减5",
        "kind": CouponKind.AMOUNT,
        "threshold": 2000,
        "amount_off": 500,
        "stock_total": 100,
        "valid_days": 7,
        "scope": CouponScope.ALL,
    }
    values.update(overrides)
    admin = await make_user(Role.ADMIN)
    return await coupons.create_template(
        principal=who(admin), draft=TemplateDraft(**values), now=now() - timedelta(minutes=1)
    )


async def many_users(n: int) -> list[User]:
    users = [
        User(id=uuid.uuid4(), openid=f"o-{uuid.uuid4().hex[:20]}", role=Role.SHOPPER, nickname="")
        for _ in range(n)
    ]
    await User.bulk_create(users)
    return users
