from __future__ import annotations

import pytest

from models.order import OrderStatus
from qunshop.errors import Conflict
from services.orders import TRANSITIONS, check_transition, new_out_trade_no


def test_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.PENDING_PAYMENT, OrderStatus.REFUNDED),
        (OrderStatus.COMPLETED, OrderStatus.PICKED_UP),
        (OrderStatus.REFUNDED, OrderStatus.CONFIRMED),
        (OrderStatus.CANCELLED, OrderStatus.CONFIRMED),
        (OrderStatus.PICKED_UP, OrderStatus.CANCELLED),
    ],
)
def test_illegal_transitions_are_errors(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(Conflict) as exc:
        check_transition(current, target)
    assert exc.value.code == "illegal_transition"


def test_happy_path_is_allowed() -> None:
    path = [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID_AWAITING_TEAM,
        OrderStatus.CONFIRMED,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.PICKED_UP,
        OrderStatus.COMPLETED,
    ]
    for current, target in zip(path, path[1:], strict=False):
        check_transition(current, target)


def test_out_trade_no_fits_wechat_pay() -> None:
    from datetime import UTC, datetime

    nos = {new_out_trade_no(datetime.now(tz=UTC)) for _ in range(1000)}
    assert len(nos) == 1000
    assert all(len(n) <= 32 and n.isalnum() for n in nos)
