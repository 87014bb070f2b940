"""Rows as a CSV file for a spreadsheet: UTF-8 with a byte-order mark (Excel then reads the
Chinese), and no text cell that a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode()


# The consoles' sheets, for a person: Chinese headers, money in yuan with two decimals (the
# API's dashboard.csv keeps its field names and fen, for programs).
HEADERS = {
    "day": "日期",
    "week": "周",
    "shared": "分享",
    "opened": "打开",
    "joined": "下单",
    "paid": "付款",
    "picked_up": "提货",
    "gmv": "付款额（元）",
    "net": "成交额（元，已扣退款）",
    "refunds": "退款笔数",
    "refunded": "退款额（元）",
    "average_order": "客单价（元）",
    "campaign_id": "活动编号",
    "title": "名称",
    "members": "新成员",
    "buyers": "下单人数",
    "repeaters": "复购人数",
    "repeat_rate": "复购率",
    "buyer_rate": "下单率",
    "sku_id": "规格编号",
    "sku_name": "规格",
    "orders": "订单数",
    "quantity": "件数",
    "community_id": "社区编号",
    "name": "社区",
    "leader_id": "团长编号",
    "joined_paid": "下单后已付款",
    "joined_picked_up": "付款后已提货",
    "joined_paid_rate": "付款率（占下单）",
    "joined_picked_up_rate": "提货率（占付款）",
}
MONEY = frozenset({"gmv", "net", "refunded", "average_order"})


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def readable_csv_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    """``csv_bytes`` of the rows with each known column named in Chinese and money in yuan
    (an unknown column keeps its name)."""
    return csv_bytes(
        [
            {
                HEADERS.get(k, k): yuan(int(v)) if k in MONEY and v is not None else v
                for k, v in row.items()
            }
            for row in rows
        ]
    )
