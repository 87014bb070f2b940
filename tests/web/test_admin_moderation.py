"""The operator console's moderation pages: the word list edited, the queue decided."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.moderation import BannedWord, ItemStatus, ModerationItem
from models.user import User
from qunshop.config import Settings
from tests.support.factories import auth, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.web.test_admin import _admin, _post


async def test_an_operator_edits_the_word_list_and_decides_the_queue(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    _, cookies = await _admin(web_client)
    html = await _post(
        web_client,
        cookies,
        "/admin/words/add",
        "/admin/words",
        words="代购，加 V\n刷单",
        category="广告",
    )
    assert "已添加 3 个词" in html and 'data-word="加v"' in html
    assert sorted(await BannedWord.all().values_list("word", flat=True)) == ["代购", "刷单", "加v"]
    word = await BannedWord.get(word="刷单")
    html = await _post(
        web_client, cookies, "/admin/words/remove", "/admin/words", word_id=str(word.id)
    )
    assert "已删除" in html and 'data-word="刷单"' not in html

    # A nickname WeChat wants reviewed waits in the queue; the operator approves it.
    wechat.review_words["团长"] = 21000
    user = await make_user(nickname="小李")
    resp = await web_client.patch(
        "/api/v1/me/profile", json={"nickname": "真团长"}, headers=auth(user, settings)
    )
    assert resp.status == 200
    page = await (await web_client.get("/admin/moderation", headers={"Cookie": cookies})).text()
    item = await ModerationItem.get(kind="nickname")
    assert f'data-item="{item.id}"' in page and "真团长" in page and "昵称" in page
    html = await _post(
        web_client, cookies, "/admin/moderation/approve", "/admin/moderation", item_id=str(item.id)
    )
    assert "已通过：昵称" in html and f'data-item="{item.id}"' not in html
    assert (await User.get(id=user.id)).nickname == "真团长"
    assert (await ModerationItem.get(id=item.id)).status is ItemStatus.APPROVED
    assert await AuditEntry.filter(action="moderation.approved").count() == 1
    decided = await web_client.get("/admin/moderation?status=approved", headers={"Cookie": cookies})
    assert "真团长" in await decided.text()
    # Shoppers never see these pages.
    shopper_page = await web_client.get("/admin/words", allow_redirects=False)
    assert shopper_page.status in (302, 303, 401, 403)
