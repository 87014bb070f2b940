"""Two Jinja environments: chat text (StrictUndefined, no escaping) and HTML (autoescape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def fen(amount: int) -> str:
    """2990 -> '29.90'."""
    return f"{amount // 100}.{amount % 100:02d}"


ORDER_STATES = {
    "pending_payment": "待支付",
    "paid_awaiting_team": "已付款，等成团",
    "confirmed": "已成团，待到货",
    "ready_for_pickup": "已到货，待自提",
    "picked_up": "已自提",
    "completed": "已完成",
    "cancelled": "已取消",
    "refunding": "退款中",
    "refunded": "已退款",
}
# A confirmed order without a team (direct, flash, bargain) was paid, never 成团.
PAID_WITHOUT_TEAM = "已付款，待到货"


def order_state(status: Any, kind: Any = None) -> str:
    """An order's status as people read it, in the chat and on every page; ``kind`` (the
    order's) words a confirmed order that has no team. An unknown key shows as itself."""
    key = getattr(status, "value", status)
    if key == "confirmed" and kind is not None and getattr(kind, "value", kind) != "group":
        return PAID_WITHOUT_TEAM
    return ORDER_STATES.get(key, str(key))


def person_name(nickname: str | None, order_no: str = "") -> str:
    """A person as every reply and page names them (pick lists, pickups, consoles, H5): their
    nickname; without one (a buyer known only by chat never gave one), 顾客 and, on a line
    about an order, its number's last four: a leader reading a pick list out tells two such
    buyers apart by it, and the buyer finds it as 商户单号 on their WeChat Pay record."""
    name = (nickname or "").strip()
    if name:
        return name
    return f"顾客（单号尾号 {order_no[-4:]}）" if order_no else "顾客（未设昵称）"


# The name of a product's one SKU when there is no choice to name (the shop's new products
# and the demo's): a placeholder, never shown after the product's title.
DEFAULT_SKU = "默认"


def sku_shown(sku_name: str | None) -> str:
    """A SKU's name as people read it: "" for the placeholder of a product's only SKU."""
    name = (sku_name or "").strip()
    return "" if name == DEFAULT_SKU else name


def goods_name(title: str, sku_name: str | None = None, *, brackets: bool = False) -> str:
    """A product and its SKU as every reply, page, card and message names them: the SKU's
    name after the title (in （）, as the chat's lists write it, with ``brackets``), unless it
    is the placeholder of a product's only SKU (``sku_shown``)."""
    sku = sku_shown(sku_name)
    if not sku:
        return title
    return f"{title}（{sku}）" if brackets else f"{title} {sku}"


_DAYS = {"mon": "一", "tue": "二", "wed": "三", "thu": "四", "fri": "五", "sat": "六", "sun": "日"}
_DAYS.update({str(i): d for i, d in enumerate("日一二三四五六")} | {"7": "日"})


def schedule(cron: str) -> str:
    """A crontab line as people say it: '0 8 * * *' -> '每天 08:00'; others stay cron."""
    parts = cron.split()
    hour_minute = len(parts) == 5 and parts[0].isdecimal() and parts[1].isdecimal()
    if hour_minute and parts[2:4] == ["*", "*"]:
        at = f"{int(parts[1]):02d}:{int(parts[0]):02d}"
        day = parts[4].lower()
        if day == "*":
            return f"每天 {at}"
        if day in ("mon-fri", "1-5"):
            return f"工作日 {at}"
        if day in ("sat,sun", "sat-sun", "6,0", "0,6", "6-7"):
            return f"每周末 {at}"
        if day in _DAYS:
            return f"每周{_DAYS[day]} {at}"
    return f"按「{cron}」重复"


def chat_environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "chat"),
        undefined=jinja2.StrictUndefined,  # a missing variable fails a test, never sends a blank
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat() per render
    )
    env.filters["fen"] = fen
    env.filters["schedule"] = schedule
    env.filters["order_state"] = order_state
    env.filters["goods_name"] = goods_name
    # No chat template uses Jinja's default globals (range, dict, lipsum, cycler, joiner,
    # namespace), and every render copies the globals it has: ~3 us of a ~5 us reply.
    env.globals.clear()
    return env


def html_environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "pages"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters["fen"] = fen
    return env
