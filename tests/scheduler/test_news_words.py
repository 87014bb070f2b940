"""The words of the news: every template renders with what the fan-out hands it, with and
without a pickup point, and every subscribe message fits WeChat's value limits."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from models.community import Community, PickupPoint
from models.groupbuy import Team
from models.order import Order, OrderKind
from models.user import User
from qunshop.config import Settings
from qunshop.templates import chat_environment
from scheduler.news import NewsWords
from services import news

LONG = "超长的商品名称一二三四五六七八九十一二三四五六七八九十"


def _facts(event: str, *, point: PickupPoint | None, titles: list[str]) -> news.Facts:
    until = datetime(2026, 3, 1, 4, 5, tzinfo=UTC)  # 12:05 in Shanghai
    items = [
        news.Item(
            order=Order(id=uuid.uuid4(), amount=1990, reserved_until=until, kind=OrderKind.GROUP),
            user=User(id=uuid.uuid4(), openid="o-x"),
            title=title,
            amount=1990,
            code="7K3MXQ2A",
        )
        for title in titles
    ]
    return news.Facts(
        event=event,
        ref="ref",
        title=titles[0] if len(set(titles)) == 1 else "",
        team=Team(code="ABCD2345"),
        community=Community(name="阳光花园"),
        pickup_point=point,
        items=items,
    )


@pytest.fixture
def words(settings: Settings) -> NewsWords:
    return NewsWords(settings=settings, templates=chat_environment())


@pytest.mark.parametrize("event", news.EVENTS)
def test_every_news_renders_with_and_without_a_pickup_point(words: NewsWords, event: str) -> None:
    point = PickupPoint(name="门口小店", address="1 号楼", hours="")
    for where, expected in ((point, "「门口小店」（1 号楼）"), (None, "团长的自提点")):
        facts = _facts(event, point=where, titles=["脐橙", "苹果"])
        member = words.member(facts, facts.items[0])
        assert member["type"] == "text" and member["text"]
        if event in (news.ARRIVED, news.TEAM_SUCCEEDED, news.PICKUP_REMINDER):
            assert expected in member["text"]
        if event in (news.TEAM_SUCCEEDED, news.TEAM_FAILED, news.ARRIVED):
            assert words.group(facts)["text"]


def test_mixed_goods_arrive_without_a_title(words: NewsWords) -> None:
    facts = _facts(news.ARRIVED, point=None, titles=["脐橙", "苹果"])
    assert words.group(facts)["text"] == (
        "📦 到货啦！2 份订单已到团长的自提点。\n"
        "请凭提货码取货：提货码已私信发给各位，没收到的在小程序订单页或发「我的订单」查看。"
    )
    lapsing = _facts(news.ORDER_LAPSING, point=None, titles=["脐橙"])
    assert words.member(lapsing, lapsing.items[0])["text"] == (
        "⏰ 你在「脐橙」的座位将在 12:05 释放，请尽快到小程序支付 ¥19.90。"
    )


def test_an_unpaid_order_without_a_team_lapses_without_a_seat(words: NewsWords) -> None:
    """A bargain's (or a direct or flash) order holds no seat: it is cancelled unpaid."""
    lapsing = _facts(news.ORDER_LAPSING, point=None, titles=["五常大米 20斤"])
    lapsing.items[0].order.kind = OrderKind.BARGAIN
    assert words.member(lapsing, lapsing.items[0])["text"] == (
        "⏰ 你的「五常大米 20斤」订单还没付款，将在 12:05 自动取消，请尽快到小程序支付 ¥19.90。"
    )


@pytest.mark.parametrize("event", news.EVENTS)
def test_subscribe_values_fit_their_types(words: NewsWords, event: str) -> None:
    facts = _facts(event, point=PickupPoint(name=LONG, address="", hours=""), titles=[LONG])
    template_id, page, data = words.subscribe(facts, facts.items[0])
    if event == news.AFTER_SALE_ASKED:  # the leader is told in chat only
        assert (template_id, page, data) == ("", "", {})
        return
    assert template_id and page.startswith("pages/order/index?id=")
    for key, value in data.items():
        if key.startswith("thing"):
            assert 0 < len(value) <= 20
        elif key.startswith("amount"):
            assert value == "¥19.90"
        elif key.startswith("character_string"):
            assert value == "7K3MXQ2A"
        elif key.startswith("time"):
            assert value == "2026-03-01 12:05"


@pytest.mark.parametrize(
    ("kind", "note", "joinable", "line"),
    [
        ("direct", "", True, "还有货，想要请在小程序里重新下单。"),
        ("direct", "ended", False, "这件商品已经下架了。"),
        ("flash", "", True, "秒杀还在进行，想要请在小程序里尽快重新抢购。"),
        ("flash", "sold_out", False, "这场秒杀已经抢完了。"),
        ("flash", "ended", False, "这场秒杀已经结束了。"),
        ("flash", "limit", False, "未付款的订单也算在这场秒杀的每人限购里，这次不能再抢了。"),
    ],
)
def test_a_lapsed_order_of_no_team_has_no_team_code(
    words: NewsWords, kind: str, note: str, joinable: bool, line: str
) -> None:
    """A direct or flash order's lapse: no 团码 nor 参团, and the way back (or why none)."""
    lapsed = _facts(news.ORDER_LAPSED, point=None, titles=["脐橙"])
    item = dataclasses.replace(
        lapsed.items[0], order=Order(amount=1990, kind=kind), note=note, joinable=joinable
    )
    lapsed = dataclasses.replace(lapsed, team=None, items=[item])
    text = words.member(lapsed, item)["text"]
    assert text.endswith(line) and "团码" not in text and "参团" not in text
    assert words.subscribe(lapsed, item)[2]["thing3"] == "超时未付款，订单已取消"


def test_a_seat_released_when_its_team_succeeded_says_so(words: NewsWords) -> None:
    lapsed = _facts(news.ORDER_LAPSED, point=None, titles=["脐橙"])
    item = dataclasses.replace(lapsed.items[0], note=news.TEAM_SUCCEEDED)
    assert words.member(lapsed, item)["text"].startswith(
        "⌛ 「脐橙」（团码 ABCD2345）到截止时间已成团"
    )
    assert words.subscribe(lapsed, item)[2]["thing3"] == "已成团，未付款的座位已释放"
