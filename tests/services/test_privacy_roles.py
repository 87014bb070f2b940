"""Which numbers the erasure masks in the texts it keeps (services.privacy_roles)."""

from __future__ import annotations

import pytest

from services.phones import MASKED, mask_mobiles


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("电话13812345678", f"电话{MASKED}"),
        ("打 138 1234 5678 或 138-1234-5678", f"打 {MASKED} 或 {MASKED}"),
        ("+86 13812345678,+8613812345678", f"{MASKED},{MASKED}"),
        # Not a phone: a longer run of digits, a licence, a date, a landline, an amount.
        ("订单 QS20261207138123456789", "订单 QS20261207138123456789"),
        ("执照 91360700MA35XXXX1A", "执照 91360700MA35XXXX1A"),
        ("2026-12-07 到货 12 箱,0791-8888888", "2026-12-07 到货 12 箱,0791-8888888"),
        ("退 12345678901 分", "退 12345678901 分"),
    ],
)
def test_mobile_numbers_are_masked_and_other_numbers_kept(text: str, kept: str) -> None:
    assert mask_mobiles(text) == kept
