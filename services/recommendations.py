"""Recommendations, recomputed by the clock once a day, read by the API and the H5 pages.

- "bought together": for each product of a community, the other products most of its buyers
  (there, in the last ``WINDOW_DAYS``) also bought; a pair counts only when at least
  ``MIN_BUYERS`` distinct people bought both, so no row tells of one person's basket.
- "popular in your community": the community's products by paid orders over the window.

Rows hold product ids and counts, never people, and each is computed from and shown in its
own community only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models.catalog import Product, Sku
from qunshop.errors import ErrorCode, NotFound
from services import communities
from services.ids import parse_uuid

WINDOW_DAYS = 90
MIN_BUYERS = 2
TOGETHER_SHOWN = 5
POPULAR_SHOWN = 10
TOGETHER = "together"
POPULAR = "popular"

_BUYS = """
SELECT DISTINCT o.community_id, o.user_id, s.product_id
FROM orders o JOIN skus s ON s.id = o.sku_id
WHERE o.paid_at >= $1 AND o.community_id IS NOT NULL
  AND o.status NOT IN ('refunding', 'refunded')
"""
_TOGETHER = f"""
INSERT INTO recommendations (id, community_id, kind, product_id, other_product_id, score,
                             rank, computed_at)
SELECT gen_random_uuid(), community_id, '{TOGETHER}', product_id, other, n, rank, $2
FROM (
  SELECT a.community_id, a.product_id, b.product_id AS other, count(*) AS n,
         row_number() OVER (PARTITION BY a.community_id, a.product_id
                            ORDER BY count(*) DESC, b.product_id) AS rank
  FROM ({_BUYS}) a JOIN ({_BUYS}) b
    ON b.community_id = a.community_id AND b.user_id = a.user_id
   AND b.product_id <> a.product_id
  GROUP BY a.community_id, a.product_id, b.product_id
  HAVING count(*) >= {MIN_BUYERS}
) AS pairs
WHERE rank <= {TOGETHER_SHOWN}
"""
_POPULAR = f"""
INSERT INTO recommendations (id, community_id, kind, product_id, other_product_id, score,
                             rank, computed_at)
SELECT gen_random_uuid(), community_id, '{POPULAR}', product_id, NULL, n, rank, $2
FROM (
  SELECT o.community_id, s.product_id, count(*) AS n,
         row_number() OVER (PARTITION BY o.community_id ORDER BY count(*) DESC, s.product_id)
           AS rank
  FROM orders o JOIN skus s ON s.id = o.sku_id
  WHERE o.paid_at >= $1 AND o.community_id IS NOT NULL
    AND o.status NOT IN ('refunding', 'refunded')
  GROUP BY o.community_id, s.product_id
) AS ranked
WHERE rank <= {POPULAR_SHOWN}
"""
_SHOWN = """
SELECT r.score, p.id, p.title, p.images FROM recommendations r
JOIN products p ON p.id = {column}
WHERE r.community_id = $1 AND r.kind = $2 {product} AND p.active
ORDER BY r.rank
"""


async def recompute(*, now: datetime) -> int:
    """Every community's recommendations, replaced at once. Returns the rows written."""
    since = now - timedelta(days=WINDOW_DAYS)
    async with in_transaction() as db:
        await db.execute_query("DELETE FROM recommendations")
        together = (await db.execute_query(_TOGETHER, [since, now]))[0]
        popular = (await db.execute_query(_POPULAR, [since, now]))[0]
    return together + popular


@dataclass(frozen=True)
class Pick:
    product_id: str
    title: str
    image: str | None
    score: int


def _picks(rows: list[dict[str, Any]]) -> list[Pick]:
    picks = []
    for r in rows:
        images = json.loads(r["images"]) if isinstance(r["images"], str) else r["images"]
        picks.append(Pick(str(r["id"]), r["title"], (images or [None])[0], r["score"]))
    return picks


async def popular(*, community_id: str) -> list[Pick]:
    community = await communities.get_community(community_id)
    rows = await connections.get("default").execute_query_dict(
        _SHOWN.format(column="r.product_id", product=""), [community.id, POPULAR]
    )
    return _picks(rows)


async def bought_together(*, product_id: str) -> list[Pick]:
    """What buyers of this product in its community also bought there."""
    key = parse_uuid(product_id)
    product = await Product.get_or_none(id=key) if key else None
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product")
    if product.community_id is None:
        return []
    rows = await connections.get("default").execute_query_dict(
        _SHOWN.format(column="r.other_product_id", product="AND r.product_id = $3"),
        [product.community_id, TOGETHER, product.id],
    )
    return _picks(rows)


async def for_sku(*, sku_id: Any, community_id: Any) -> tuple[list[Pick], list[Pick]]:
    """A page selling this SKU: what its product's buyers also bought, and the community's
    popular products (the page's own product left out of them)."""
    sku = await Sku.get_or_none(id=sku_id)
    product_id = sku.product_id if sku is not None else None
    together = await bought_together(product_id=str(product_id)) if product_id else []
    liked = [
        p for p in await popular(community_id=str(community_id)) if p.product_id != str(product_id)
    ]
    return together, liked[:TOGETHER_SHOWN]
