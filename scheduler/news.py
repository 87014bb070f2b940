"""The words of the news (services/news.py): chat text from templates/chat/news/, and the
data of each subscribe message. The outbox's fan-out asks for them after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from qunshop.templates import fen
from services import news, notify

if TYPE_CHECKING:
    from datetime import datetime

    import jinja2

    from qunshop.config import Settings

THING_MAX = 20  # a subscribe message's "thing" value (WECHAT.md 2.4)
CODE_MAX = 32  # character_string


@dataclass(frozen=True)
class NewsWords:
    settings: Settings
    templates: jinja2.Environment

    def _render(self, name: str, facts: news.Facts, **values: Any) -> str:
        template = self.templates.get_template(name)
        return template.render(facts=facts, point=facts.pickup_point, **values).strip()

    def group(self, facts: news.Facts) -> dict[str, Any]:
        total = sum(item.amount for item in facts.items)
        return notify.text(self._render(f"news/{facts.event}_group.j2", facts, total=total))

    def member(self, facts: news.Facts, item: news.Item) -> dict[str, Any]:
        kept = facts.bargain.deadline_at if facts.bargain else None  # its price, kept till then
        return notify.text(
            self._render(
                f"news/{facts.event}.j2",
                facts,
                item=item,
                deadline=self._local(item.order.reserved_until, "%H:%M"),
                kept_until=self._local(kept, "%m-%d %H:%M"),
            )
        )

    def _local(self, at: datetime | None, fmt: str) -> str:
        return at.astimezone(ZoneInfo(self.settings.timezone)).strftime(fmt) if at else ""

    def subscribe(self, facts: news.Facts, item: news.Item) -> tuple[str, str, dict[str, Any]]:
        s = self.settings
        title = item.title[:THING_MAX]
        amount = f"¥{fen(item.amount)}"
        where = (facts.pickup_point.name if facts.pickup_point else "团长的自提点")[:THING_MAX]
        code = item.code[:CODE_MAX]
        if facts.event == news.AFTER_SALE_ASKED:
            return "", "", {}  # the leader: no subscribe template, the chat only
        if facts.event == news.TEAM_FAILED and not item.amount:
            return "", "", {}  # nothing was paid: no refund template; the chat tells them
        by_event: dict[str, tuple[str, dict[str, Any]]] = {
            news.TEAM_SUCCEEDED: (
                s.subscribe_template_team_succeeded,
                {"thing1": title, "thing2": where, "amount3": amount},
            ),
            news.TEAM_FAILED: (
                s.subscribe_template_team_failed,
                {"thing1": title, "amount2": amount, "thing3": "未成团，原路退款"},
            ),
            news.ARRIVED: (
                s.subscribe_template_arrived,
                {"thing1": title, "character_string2": code, "thing3": where},
            ),
            news.REFUNDED: (
                s.subscribe_template_refunded,
                {"thing1": title, "amount2": amount, "thing3": "已原路退回"},
            ),
            news.SHORTAGE: (
                s.subscribe_template_refunded,
                {"thing1": title, "amount2": amount, "thing3": "到货缺货，原路退款"},
            ),
            news.ORDER_LAPSING: (
                s.subscribe_template_order_lapsing,
                {"thing1": title, "amount2": amount, "time3": self._lapse_time(item)},
            ),
            news.ORDER_LAPSED: (
                s.subscribe_template_order_lapsed,
                {"thing1": title, "amount2": amount, "thing3": self._lapsed_why(facts, item)},
            ),
            news.PICKUP_REMINDER: (
                s.subscribe_template_pickup_reminder,
                {"thing1": title, "character_string2": code, "thing3": where},
            ),
            news.AFTER_SALE_REJECTED: (
                s.subscribe_template_after_sale,
                {"thing1": title, "amount2": amount, "thing3": (item.note or "未通过")[:THING_MAX]},
            ),
        }
        template_id, data = by_event[facts.event]
        return template_id, f"pages/order/index?id={item.order.id}", data

    @staticmethod
    def _lapsed_why(facts: news.Facts, item: news.Item) -> str:
        if facts.team is None:
            return "超时未付款，订单已取消"
        if item.note == news.TEAM_SUCCEEDED:
            return "已成团，未付款的座位已释放"
        return "超时未付款，座位已释放"

    def _lapse_time(self, item: news.Item) -> str:
        return self._local(item.order.reserved_until, "%Y-%m-%d %H:%M")
