"""The audit log a page at a time: newest first, a "next page" link that keeps the filter,
and a page size the service bounds."""

from __future__ import annotations

import html as markup
import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from qunshop.clock import FrozenClock
from tests.support.factories import make_user
from tests.web.test_admin import _admin, _post


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


def _next(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return markup.unescape(found.group(1)) if found else None


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="audit">.*?</tr>', page, flags=re.S)


async def test_the_audit_log_pages_newest_first_and_keeps_its_filter(
    web_client: TestClient, clock: FrozenClock
) -> None:
    _, cookies = await _admin(web_client)
    people = [await make_user(nickname=f"买家{i}") for i in range(3)]
    for person in people:  # three changes, through the page's own form, a minute apart
        clock.advance(timedelta(minutes=1))
        await _post(
            web_client,
            cookies,
            "/admin/users/role",
            "/admin/users",
            user_id=str(person.id),
            role="leader",
        )
    clock.advance(timedelta(minutes=1))
    await _post(
        web_client,
        cookies,
        "/admin/users/revoke",
        "/admin/users",
        user_id=str(people[0].id),
        role="leader",
    )
    assert await AuditEntry.all().count() == 4

    async def get(path: str) -> str:
        response = await web_client.get(path, headers={"Cookie": cookies})
        assert response.status == 200, await response.text()
        return await response.text()

    seen: list[str] = []
    path: str | None = "/admin/audit?size=3"
    while path is not None:
        page = await get(path)
        rows = _rows(page)
        assert 1 <= len(rows) <= 3
        seen += rows
        path = _next(page)
    assert len(seen) == 4 and len(set(seen)) == 4  # every entry once, none twice
    # Newest first: the revoke, then the grants from the last to the first.
    expected = [f"用户 {p.nickname}" for p in (people[0], *reversed(people))]
    assert all(target in row for target, row in zip(expected, seen, strict=True))

    # The target's filter is kept on the next page's link.
    target = f"user:{people[0].id}"
    first = await get(f"/admin/audit?target={target}&size=1")
    assert len(_rows(first)) == 1 and "user.role" in first
    second_path = _next(first)
    assert second_path is not None and f"target={target.replace(':', '%3A')}" in second_path
    second = await get(second_path)
    assert len(_rows(second)) == 1 and _next(second) is None and _rows(second) != _rows(first)

    # A page is bounded whatever is asked; a made-up cursor is a clear error page, not a 500.
    assert len(_rows(await get("/admin/audit?size=100000"))) == 4
    bad = await web_client.get("/admin/audit?after=nonsense", headers={"Cookie": cookies})
    assert bad.status == 422 and "翻页链接无效" in await bad.text()
