"""Products and SKUs over HTTP: parse, call services.catalog, render."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    WithJsonSchema,
)

from miniapp_api.auth import optional_principal, staff
from miniapp_api.fields import Fen, Flag, integer, omittable
from miniapp_api.spec import endpoint
from models.catalog import Sku
from services import catalog
from services.auth import Principal

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Description = Annotated[str, StringConstraints(max_length=4000)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
# An http(s) URL with a plain host name: what HttpUrl takes, said so a client can follow it.
ImageUrl = Annotated[
    HttpUrl,
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 2083,
            "pattern": r"^https?://([a-z][a-z0-9]*\.)*[a-z][a-z0-9]*(/[A-Za-z0-9._~-]*)*$",
        },
        mode="validation",
    ),
]
Images = Annotated[list[ImageUrl], Field(max_length=9)]
SkuName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Stock = integer(0, 1_000_000_000)


class SkuIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SkuName
    price: Fen
    stock: Stock = 0


class SkuPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: omittable(SkuName) = None
    price: omittable(Fen) = None
    stock: omittable(Stock) = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    category: Category = ""
    images: Images = []
    community_id: uuid.UUID | None = Field(None, description="None: shop-wide (admins only)")
    active: Flag = True
    skus: list[SkuIn] = Field(min_length=1, max_length=50)


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: omittable(Title) = None
    description: omittable(Description) = None
    category: omittable(Category) = None
    images: omittable(Images) = None
    community_id: uuid.UUID | None = Field(None, description="null moves it shop-wide")
    active: omittable(Flag) = None


class ProductQuery(BaseModel):
    category: str | None = Field(None, max_length=32)
    community_id: uuid.UUID | None = None
    q: str | None = Field(None, max_length=64, description="part of the title")
    limit: int = Field(20, ge=1, le=catalog.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class SkuOut(BaseModel):
    id: str
    product_id: str
    name: str
    price: int = Field(description="fen")
    stock: int

    @classmethod
    def of(cls, sku: Sku) -> SkuOut:
        return cls(
            id=str(sku.id),
            product_id=str(sku.product_id),
            name=sku.name,
            price=sku.price,
            stock=sku.stock,
        )


class ProductOut(BaseModel):
    id: str
    title: str
    description: str
    category: str
    images: list[str]
    community_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    skus: list[SkuOut]

    @classmethod
    def of(cls, view: catalog.ProductView) -> ProductOut:
        p = view.product
        return cls(
            id=str(p.id),
            title=p.title,
            description=p.description,
            category=p.category,
            images=list(p.images),
            community_id=str(p.community_id) if p.community_id else None,
            active=p.active,
            created_at=p.created_at,
            updated_at=p.updated_at,
            skus=[SkuOut.of(s) for s in view.skus],
        )


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: done")


TAGS = ("catalog",)


@endpoint(
    summary="Create a product with its SKUs",
    tags=TAGS,
    body=ProductIn,
    response=ProductOut,
    status=201,
    auth=staff,
)
async def create_product(*, principal: Principal, body: ProductIn) -> ProductOut:
    view = await catalog.create_product(
        actor=principal,
        title=body.title,
        description=body.description,
        category=body.category,
        images=[str(url) for url in body.images],
        community_id=body.community_id,
        active=body.active,
        skus=[catalog.SkuSpec(name=s.name, price=s.price, stock=s.stock) for s in body.skus],
    )
    return ProductOut.of(view)


@endpoint(
    summary="Products, newest first, a page at a time",
    tags=TAGS,
    query=ProductQuery,
    response=ProductPage,
    auth=optional_principal,
)
async def list_products(*, principal: Principal, query: ProductQuery) -> ProductPage:
    page = await catalog.list_products(
        actor=principal,
        category=query.category,
        community_id=query.community_id,
        q=query.q,
        limit=query.limit,
        cursor=query.cursor,
    )
    return ProductPage(items=[ProductOut.of(v) for v in page.items], next_cursor=page.next_cursor)


@endpoint(
    summary="One product",
    tags=TAGS,
    response=ProductOut,
    auth=optional_principal,
    errors=(404,),
)
async def get_product(*, principal: Principal, product_id: str) -> ProductOut:
    return ProductOut.of(await catalog.get_product(actor=principal, product_id=product_id))


def _changes(body: BaseModel) -> dict[str, Any]:
    """The fields the client sent, as plain JSON values (ids and URLs as strings)."""
    return body.model_dump(mode="json", exclude_unset=True)


@endpoint(
    summary="Change some fields of a product",
    tags=TAGS,
    body=ProductPatch,
    response=ProductOut,
    auth=staff,
    errors=(404,),
)
async def update_product(
    *, principal: Principal, body: ProductPatch, product_id: str
) -> ProductOut:
    view = await catalog.update_product(actor=principal, product_id=product_id, **_changes(body))
    return ProductOut.of(view)


@endpoint(
    summary="Add a SKU to a product",
    tags=TAGS,
    body=SkuIn,
    response=SkuOut,
    status=201,
    auth=staff,
    errors=(404,),
)
async def add_sku(*, principal: Principal, body: SkuIn, product_id: str) -> SkuOut:
    sku = await catalog.add_sku(
        actor=principal,
        product_id=product_id,
        name=body.name,
        price=body.price,
        stock=body.stock,
    )
    return SkuOut.of(sku)


@endpoint(
    summary="Rename, reprice or restock a SKU",
    tags=TAGS,
    body=SkuPatch,
    response=SkuOut,
    auth=staff,
    errors=(404,),
)
async def update_sku(*, principal: Principal, body: SkuPatch, sku_id: str) -> SkuOut:
    return SkuOut.of(await catalog.update_sku(actor=principal, sku_id=sku_id, **_changes(body)))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/products", create_product)
    app.router.add_get("/api/v1/products", list_products)
    app.router.add_get("/api/v1/products/{product_id}", get_product)
    app.router.add_patch("/api/v1/products/{product_id}", update_product)
    app.router.add_post("/api/v1/products/{product_id}/skus", add_sku)
    app.router.add_patch("/api/v1/skus/{sku_id}", update_sku)
