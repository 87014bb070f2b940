"""An address nobody serves: a browser gets a page in Chinese, an API client a problem."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from qunshop.error_words import HAN, MESSAGES
from qunshop.errors import ErrorCode

# What Chromium sends for a page it navigates to.
BROWSER = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


@pytest.mark.parametrize("path", ["/consol", "/nope/deeper", "/favicon-of-nothing.png"])
async def test_a_browser_lost_outside_the_pages_gets_a_page_with_the_way_home(
    web_client: TestClient, path: str
) -> None:
    resp = await web_client.get(path, headers={"Accept": BROWSER})
    assert resp.status == 404 and resp.content_type == "text/html"
    html = await resp.text()
    assert "页面不存在" in html and '<a href="/">回到首页</a>' in html
    assert resp.headers["X-Request-ID"] in html


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/consol", "application/json"),
        ("/consol", "*/*"),  # curl
        ("/consol", "text/html, application/json"),  # JSON named as highly as the page
        ("/api/v1/nope", BROWSER),
        ("/bot/nope", BROWSER),
        ("/pay/nope", BROWSER),
    ],
)
async def test_api_clients_keep_the_problem(web_client: TestClient, path: str, accept: str) -> None:
    resp = await web_client.get(path, headers={"Accept": accept})
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert (await resp.json())["code"] == "route_not_found"


async def test_a_missing_console_page_still_goes_back_to_its_console(
    web_client: TestClient,
) -> None:
    resp = await web_client.get("/console/nope", headers={"Accept": BROWSER})
    html = await resp.text()
    assert resp.status == 404 and 'href="/console"' in html and "回到首页" not in html


def test_every_not_found_code_has_chinese_words_on_a_page() -> None:
    """A page names what was not found in Chinese, never the bare 页面不存在 nor the service's
    English: every not-found code has its words (a new one without fails here), and every
    word the catalogue answers is Chinese. The router's own 404 (route_not_found) reaches a
    page as http_404, which is 页面不存在 by its status."""
    missing = [
        code.value
        for code in ErrorCode
        if code.value.endswith("_not_found")
        and code is not ErrorCode.ROUTE_NOT_FOUND
        and not HAN.search(MESSAGES.get(code, ""))
    ]
    assert missing == []
    assert [code for code, words in MESSAGES.items() if not HAN.search(words)] == []
