"""What the ids in a page of the audit log are called: an order by its number's last four
(as the consoles name a buyer), a SKU, bargain offer or flash sale by its goods, a leader's
application by its community, a person, a community, a coupon or a supplier by name, so an
operator reads the thing, not a UUID.

One query per kind of thing for the whole page (bounded by the page's size); an id whose
row is gone keeps no name and is shown shortened (web/audit_words.py).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from models.activity import FlashSale
from models.bargain import BargainOffer
from models.catalog import Sku
from models.community import Community
from models.coupon import CouponTemplate
from models.order import Order
from models.supply import Supplier
from models.user import LeaderApplication, User
from qunshop.templates import goods_name, person_name

if TYPE_CHECKING:
    from collections.abc import Iterable

    from models.audit import AuditEntry


def _ids(value: Any, found: set[uuid.UUID]) -> None:
    """Every string in ``value`` (nested) that is a UUID."""
    if isinstance(value, dict):
        for item in value.values():
            _ids(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, found)
    elif isinstance(value, str) and len(value) == 36:
        with contextlib.suppress(ValueError):
            found.add(uuid.UUID(value))


async def names(entries: Iterable[AuditEntry]) -> dict[str, str]:
    """``{str(id): name}`` for the ids the entries' targets and values mention."""
    wanted: set[uuid.UUID] = set()
    for entry in entries:
        _ids([entry.before, entry.after, entry.target.partition(":")[2]], wanted)
    if not wanted:
        return {}
    ids = list(wanted)
    named: dict[str, str] = {}
    for order in await Order.filter(id__in=ids).only("id", "out_trade_no"):
        named[str(order.id)] = f"单号尾号 {order.out_trade_no[-4:]}"
    for sku in await Sku.filter(id__in=ids).select_related("product"):
        named[str(sku.id)] = goods_name(sku.product.title, sku.name)
    for model in (BargainOffer, FlashSale):
        for sale in await model.filter(id__in=ids).select_related("sku__product"):
            named[str(sale.id)] = goods_name(sale.sku.product.title, sale.sku.name)
    for user in await User.filter(id__in=ids).only("id", "nickname"):
        named[str(user.id)] = person_name(user.nickname)
    for application in await LeaderApplication.filter(id__in=ids).only("id", "community_name"):
        named[str(application.id)] = application.community_name
    for model in (Community, CouponTemplate, Supplier):
        for row in await model.filter(id__in=ids).only("id", "name"):
            named[str(row.id)] = row.name
    return named
