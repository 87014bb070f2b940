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
