"""Request and response models of the supplier and listing review endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.fields import WEB_URL, Count, Fen
from models.supply import ListingReview, Supplier


def _text(most: int) -> type[str]:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=most)]  # type: ignore[return-value]


Text32, Text64, Text128 = _text(32), _text(64), _text(128)
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class SupplierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text64
    contact_name: Text32
    contact_phone: str = Field(pattern=r"^\+?[0-9-]{6,20}$")
    business_licence: str = Field(
        pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码, 18 characters"
    )
    food_licence: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}[0-9]{14}$", description="食品经营许可证 number"
    )


class SupplierOut(BaseModel):
    id: str
    name: str
    contact_name: str
    contact_phone: str
    business_licence: str
    food_licence: str | None
    status: str = Field(description="pending, approved or rejected")
    reason: str = Field(description="why it was decided so")
    created_at: dt.datetime

    @classmethod
    def of(cls, s: Supplier) -> SupplierOut:
        return cls(
            id=str(s.id),
            name=s.name,
            contact_name=s.contact_name,
            contact_phone=s.contact_phone,
            business_licence=s.business_licence,
            food_licence=s.food_licence,
            status=s.status.value,
            reason=s.reason,
            created_at=s.created_at,
        )


class SupplierList(BaseModel):
    items: list[SupplierOut]


class StatusQuery(BaseModel):
    status: Literal["pending", "approved", "rejected"] | None = None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=255, description="required to reject")


class SkuDraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text64
    price: Fen
    cost: Fen | None = None
    stock: Count = 0


ImageUrl = Annotated[str, Field(max_length=512, pattern=WEB_URL)]


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text128
    description: str = Field(default="", max_length=2000)
    category: Category = ""
    images: list[ImageUrl] = Field(
        default_factory=list, max_length=9, description="https image URLs (one at least)"
    )
    skus: list[SkuDraftIn] = Field(min_length=1, max_length=20)


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: Fen
    cost: Fen | None = None


class ReviewOut(BaseModel):
    id: str
    kind: str = Field(description="listing or price")
    product_id: str
    sku_id: str | None
    price: int | None = Field(description="fen: the proposed price of a price change")
    previous_price: int | None
    status: str = Field(description="pending (the manual queue), approved or rejected")
    flags: list[str] = Field(description="what the automatic rules found")
    reason: str = Field(description="why it was decided so: the supplier reads it")
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @classmethod
    def of(cls, r: ListingReview) -> ReviewOut:
        return cls(
            id=str(r.id),
            kind=r.kind.value,
            product_id=str(r.product_id),
            sku_id=str(r.sku_id) if r.sku_id else None,
            price=r.price,
            previous_price=r.previous_price,
            status=r.status.value,
            flags=list(r.flags),
            reason=r.reason,
            created_at=r.created_at,
            decided_at=r.decided_at,
        )


class ReviewList(BaseModel):
    items: list[ReviewOut]
