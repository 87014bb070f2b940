"""What the integer columns hold: every money and count field is bounded by these."""

from __future__ import annotations

INT_MAX = 2**31 - 1  # a PostgreSQL integer column
MAX_PRICE = 100_000_000  # fen (1,000,000 yuan): any one price a shop sets
MAX_AMOUNT = INT_MAX  # fen: what one order charges (orders.amount), price x quantity
