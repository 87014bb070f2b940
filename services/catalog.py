"""The catalog: products and their SKUs, who may edit them and who may see them.

Admins edit everything, including shop-wide products (no community); a leader edits the
products of the communities they lead. Shoppers see active products only; a leader also
sees the inactive ones of their own communities.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalog import Product, Sku
from models.community import Community
from models.user import Role
from qunshop.errors import ErrorCode, Forbidden, Invalid, NotFound
from services import cursors
from services.communities import ensure_can_manage, get_community
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

MAX_PAGE = 100


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""A partial update leaves a field that is UNSET as it is (None may be a real value)."""


@dataclass(frozen=True)
class SkuSpec:
    name: str
    price: int  # fen
    stock: int = 0


@dataclass(frozen=True)
class ProductView:
    product: Product
    skus: list[Sku]


@dataclass(frozen=True)
class Page:
    items: list[ProductView]
    next_cursor: str | None


def _invalid(field: str, msg: str, code: ErrorCode = ErrorCode.VALIDATION_FAILED) -> Invalid:
    return Invalid(
        code, f"{field}: {msg}", errors=[{"loc": [field], "msg": msg, "type": code.value}]
    )


def _check_sku(*, price: int | _Unset = UNSET, stock: int | _Unset = UNSET) -> None:
    if not isinstance(price, _Unset) and price < 0:
        raise _invalid("price", "the price in fen must be 0 or more")
    if not isinstance(stock, _Unset) and stock < 0:
        raise _invalid("stock", "the stock must be 0 or more")


async def _target_community(community_id: str | uuid.UUID | None) -> Community | None:
    """The community a product is being put in, named in a request body."""
    if community_id is None:
        return None
    try:
        return await get_community(community_id)
    except NotFound:
        raise _invalid("community_id", "no such community", ErrorCode.COMMUNITY_NOT_FOUND) from None


async def _ensure_can_edit(actor: Principal, community: Community | None) -> None:
    if actor.role is Role.SHOPPER:
        raise Forbidden(ErrorCode.FORBIDDEN, "shoppers cannot edit the catalog")
    if actor.is_admin:
        return
    if community is None:
        raise Forbidden(ErrorCode.FORBIDDEN, "only admins manage shop-wide products")
    await ensure_can_manage(actor, community)


async def _community_of(product: Product) -> Community | None:
    if product.community_id is None:
        return None
    return await Community.get(id=product.community_id)


async def _visibility(actor: Principal) -> Q | None:
    """What the caller may see: everything (admins), else active ones plus their own."""
    if actor.is_admin:
        return None
    led = await Community.filter(leader_id=actor.user_id).values_list("id", flat=True)
    return Q(active=True) | Q(community_id__in=list(led)) if led else Q(active=True)


async def _view(product: Product) -> ProductView:
    skus = await Sku.filter(product_id=product.id).order_by("price", "name", "id")
    return ProductView(product=product, skus=list(skus))


async def _product_for_edit(actor: Principal, product_id: str | uuid.UUID) -> Product:
    key = parse_uuid(product_id)
    product = await Product.get_or_none(id=key) if key is not None else None
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no product has this id")
    await _ensure_can_edit(actor, await _community_of(product))
    return product


async def create_product(
    *,
    actor: Principal,
    title: str,
    skus: Sequence[SkuSpec],
    description: str = "",
    category: str = "",
    images: Sequence[str] = (),
    community_id: str | uuid.UUID | None = None,
    active: bool = True,
) -> ProductView:
    community = await _target_community(community_id)
    await _ensure_can_edit(actor, community)
    for spec in skus:
        _check_sku(price=spec.price, stock=spec.stock)
    async with in_transaction():
        product = await Product.create(
            title=title,
            description=description,
            category=category,
            images=list(images),
            community=community,
            created_by_id=actor.user_id,
            active=active,
        )
        for spec in skus:
            await Sku.create(product=product, name=spec.name, price=spec.price, stock=spec.stock)
    logger.info("product %s created by %s", product.id, actor.user_id)
    return await _view(product)


async def update_product(
    *,
    actor: Principal,
    product_id: str | uuid.UUID,
    title: str | _Unset = UNSET,
    description: str | _Unset = UNSET,
    category: str | _Unset = UNSET,
    images: Sequence[str] | _Unset = UNSET,
    community_id: str | uuid.UUID | None | _Unset = UNSET,
    active: bool | _Unset = UNSET,
) -> ProductView:
    """Change the given fields; moving a product needs the right to edit both places."""
    product = await _product_for_edit(actor, product_id)
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("title", title),
            ("description", description),
            ("category", category),
            ("active", active),
        )
        if not isinstance(value, _Unset)
    }
    if not isinstance(images, _Unset):
        changes["images"] = list(images)
    if not isinstance(community_id, _Unset):
        target = await _target_community(community_id)
        await _ensure_can_edit(actor, target)
        changes["community_id"] = target.id if target is not None else None
    if changes:
        product.update_from_dict(changes)
        await product.save(update_fields=[*changes, "updated_at"])
    return await _view(product)


async def get_product(*, actor: Principal, product_id: str | uuid.UUID) -> ProductView:
    """A product the caller may see; an inactive one is not found for shoppers."""
    key = parse_uuid(product_id)
    product = None
    if key is not None:
        query = Product.filter(id=key)
        visible = await _visibility(actor)
        if visible is not None:
            query = query.filter(visible)
        product = await query.first()
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no product has this id")
    return await _view(product)


async def list_products(
    *,
    actor: Principal,
    category: str | None = None,
    community_id: str | uuid.UUID | None = None,
    q: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> Page:
    """Newest first, ``limit`` at a time; ``next_cursor`` continues after the last item."""
    if not 1 <= limit <= MAX_PAGE:
        raise _invalid("limit", f"between 1 and {MAX_PAGE}")
    query = Product.all()
    visible = await _visibility(actor)
    if visible is not None:
        query = query.filter(visible)
    if category:
        query = query.filter(category=category)
    if community_id is not None:
        key = parse_uuid(community_id)
        if key is None:
            raise _invalid("community_id", "not a community id")
        query = query.filter(community_id=key)
    if q:
        query = query.filter(title__icontains=q)
    if cursor:
        query = query.filter(cursors.after(cursor))
    rows = await query.order_by("-created_at", "-id").limit(limit + 1)
    page, more = rows[:limit], len(rows) > limit
    skus: dict[uuid.UUID, list[Sku]] = {p.id: [] for p in page}
    if page:
        for sku in await Sku.filter(product_id__in=list(skus)).order_by("price", "name", "id"):
            skus[sku.product_id].append(sku)
    return Page(
        items=[ProductView(product=p, skus=skus[p.id]) for p in page],
        next_cursor=cursors.encode(page[-1].created_at, page[-1].id) if more else None,
    )


async def add_sku(
    *, actor: Principal, product_id: str | uuid.UUID, name: str, price: int, stock: int = 0
) -> Sku:
    product = await _product_for_edit(actor, product_id)
    _check_sku(price=price, stock=stock)
    return await Sku.create(product=product, name=name, price=price, stock=stock)


async def update_sku(
    *,
    actor: Principal,
    sku_id: str | uuid.UUID,
    name: str | _Unset = UNSET,
    price: int | _Unset = UNSET,
    stock: int | _Unset = UNSET,
) -> Sku:
    """Rename, reprice or restock one SKU (stock is set, in one UPDATE)."""
    key = parse_uuid(sku_id)
    sku = await Sku.get_or_none(id=key) if key is not None else None
    if sku is None:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no SKU has this id")
    product = await Product.get(id=sku.product_id)
    await _ensure_can_edit(actor, await _community_of(product))
    _check_sku(price=price, stock=stock)
    changes = {
        field: value
        for field, value in (("name", name), ("price", price), ("stock", stock))
        if not isinstance(value, _Unset)
    }
    if changes:
        await Sku.filter(id=sku.id).update(**changes)
    return await Sku.get(id=sku.id)
