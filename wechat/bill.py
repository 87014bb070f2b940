"""WeChat Pay v2 bills (``downloadbill``), pure functions: the text table in and out.

The bill is CSV text: a header row, one row per trade or refund with every field prefixed
by a backtick, then a summary header and a summary row. Amounts are yuan with two
decimals; this module turns them into integer fen. Columns are found by their header
names, so the column order (and columns added later) does not matter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# The ALL bill's header (bill_type=ALL), as WeChat Pay documents it.
ALL_HEADER = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
]
SUMMARY_HEADER = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
]


class BillFormatError(Exception):
    """The text is not a bill this module can read."""


@dataclass(frozen=True)
class BillRow:
    trade_time: str  # yyyy-MM-dd HH:mm:ss, Shanghai
    transaction_id: str
    out_trade_no: str
    trade_state: str  # SUCCESS, REFUND, REVOKED ...
    total_fee: int  # fen: 订单金额 (else 应结订单金额)
    refund_id: str = ""
    out_refund_no: str = ""
    refund_fee: int = 0  # fen: 申请退款金额 (else 退款金额)
    refund_status: str = ""


def to_fen(text: str) -> int:
    """'12.34' (yuan) -> 1234. Refuses anything that is not a plain amount."""
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation as exc:
        raise BillFormatError(f"not an amount: {text!r}") from exc
    fen = value * 100
    if fen != fen.to_integral_value():
        raise BillFormatError(f"an amount finer than a fen: {text!r}")
    return int(fen)


def from_fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _cell(value: str) -> str:
    return value.strip().removeprefix("`")


def _unless_zero(value: str) -> str:
    """Payment rows carry "0" where a refund's numbers would be."""
    return "" if value in ("", "0") else value


def parse(text: str) -> list[BillRow]:
    """The trade and refund rows of a bill (the summary is left out)."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        return []
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [_cell(h) for h in next(reader)]
    where = {name: i for i, name in enumerate(header)}
    for needed in ("交易时间", "微信订单号", "商户订单号", "交易状态"):
        if needed not in where:
            raise BillFormatError(f"the bill has no {needed} column")
    total_col = where.get("订单金额", where.get("应结订单金额"))
    refund_col = where.get("申请退款金额", where.get("退款金额"))
    if total_col is None:
        raise BillFormatError("the bill has no amount column")
    rows = []
    for raw in reader:
        cells = [_cell(c) for c in raw]
        if cells and cells[0] == SUMMARY_HEADER[0]:
            break  # the summary follows
        if len(cells) < len(header):
            raise BillFormatError(f"a row has {len(cells)} fields, the header {len(header)}")

        def get(name: str, cells: list[str] = cells) -> str:
            return cells[where[name]] if name in where else ""

        rows.append(
            BillRow(
                trade_time=get("交易时间"),
                transaction_id=get("微信订单号"),
                out_trade_no=get("商户订单号"),
                trade_state=get("交易状态"),
                total_fee=to_fen(cells[total_col]),
                refund_id=_unless_zero(get("微信退款单号")),
                out_refund_no=_unless_zero(get("商户退款单号")),
                refund_fee=to_fen(cells[refund_col]) if refund_col is not None else 0,
                refund_status=get("退款状态"),
            )
        )
    return rows


def render(rows: Iterable[BillRow], *, appid: str, mch_id: str) -> str:
    """The ALL bill of ``rows``, as WeChat Pay writes it (the fakes in tests use this)."""
    rows = list(rows)
    out = [",".join(ALL_HEADER)]
    for row in rows:
        refund = row.trade_state == "REFUND"
        values = {
            "交易时间": row.trade_time,
            "公众账号ID": appid,
            "商户号": mch_id,
            "特约商户号": "0",
            "设备号": "",
            "微信订单号": row.transaction_id,
            "商户订单号": row.out_trade_no,
            "用户标识": "",
            "交易类型": "JSAPI",
            "交易状态": row.trade_state,
            "付款银行": "OTHERS",
            "货币种类": "CNY",
            "应结订单金额": from_fen(row.total_fee),
            "代金券金额": "0.00",
            "微信退款单号": row.refund_id or "0",
            "商户退款单号": row.out_refund_no or "0",
            "退款金额": from_fen(row.refund_fee) if refund else "0.00",
            "充值券退款金额": "0.00",
            "退款类型": "ORIGINAL" if refund else "",
            "退款状态": row.refund_status,
            "商品名称": "Qunshop order",
            "商户数据包": "",
            "手续费": "0.00",
            "费率": "0.60%",
            "订单金额": from_fen(row.total_fee),
            "申请退款金额": from_fen(row.refund_fee) if refund else "0.00",
            "费率备注": "",
        }
        out.append(",".join(f"`{values[name]}" for name in ALL_HEADER))
    paid = sum(r.total_fee for r in rows if r.trade_state != "REFUND")
    refunded = sum(r.refund_fee for r in rows if r.trade_state == "REFUND")
    out.append(",".join(SUMMARY_HEADER))
    summary = [str(len(rows)), from_fen(paid), from_fen(refunded), "0.00", "0.00"]
    summary += [from_fen(paid), from_fen(refunded)]
    out.append(",".join(f"`{v}" for v in summary))
    return "\r\n".join(out) + "\r\n"
