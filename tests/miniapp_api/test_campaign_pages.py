"""GET /api/v1/campaigns a page at a time: soonest ending first, ties in a fixed order, every
running campaign once across the pages (it stopped at 100 without saying so)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from services import cursors
from tests.support.factories import make_campaign, make_community
from tests.support.pages import every_page


async def _pages(client: TestClient, **params: str) -> list[list[str]]:
    return [
        [c["id"] for c in page] for page in await every_page(client, "/api/v1/campaigns", **params)
    ]


async def test_running_campaigns_page_soonest_ending_first_each_once(client: TestClient) -> None:
    community = await make_community()
    now = datetime.now(tz=UTC)
    same_end = [await make_campaign(community, now=now) for _ in range(3)]  # ties on ends_at
    others = [await make_campaign(community, now=now + timedelta(hours=h)) for h in (-9, -5, -2)]
    other_shop = await make_campaign(now=now - timedelta(hours=1))
    everyone = {str(c.id) for c in [*same_end, *others, other_shop]}

    pages = await _pages(client, limit="2")
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    listed = [i for p in pages for i in p]
    assert len(listed) == len(set(listed)) and set(listed) == everyone  # none twice, none lost
    whole = (await (await client.get("/api/v1/campaigns")).json())["items"]
    assert [c["id"] for c in whole] == listed  # the same order as one big page
    ends = [c["ends_at"] for c in whole]
    assert ends == sorted(ends)
    assert listed[:4] == [str(c.id) for c in [*others, other_shop]]
    assert set(listed[4:]) == {str(c.id) for c in same_end}

    mine = await _pages(client, limit="4", community_id=str(community.id))
    assert [len(p) for p in mine] == [4, 2]
    assert {i for p in mine for i in p} == everyone - {str(other_shop.id)}

    # Past the end: an empty page, no cursor. Taken by hand, or out of bounds: refused.
    late = cursors.encode(now + timedelta(days=30), same_end[0].id)
    past = await (await client.get("/api/v1/campaigns", params={"cursor": late})).json()
    assert past == {"items": [], "next_cursor": None}
    forged = await client.get("/api/v1/campaigns", params={"cursor": "page-2"})
    assert forged.status == 422 and (await forged.json())["code"] == "invalid_cursor"
    for limit in ("0", "101", "ten"):
        bad = await client.get("/api/v1/campaigns", params={"limit": limit})
        assert bad.status == 422, limit
        assert (await bad.json())["code"] == "validation_failed"


async def test_the_campaign_pages_are_documented(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    listing = spec["paths"]["/api/v1/campaigns"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"limit", "cursor", "community_id"} <= names
    ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "next_cursor" in schema["properties"]
