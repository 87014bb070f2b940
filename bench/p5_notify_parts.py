"""Where the pay notify's PostgreSQL CPU goes: copies of the migrated ``qunshop_pay_order``
that each leave one part out, for bench/p5_notify_sql.py to interleave with the real one.

``python -m bench.p5_notify_parts [part ...]`` (after ``bench.p5_notify_sql prepare``): for
each part, a schema named after it holding a copy of the bench database's
``public.qunshop_pay_order`` (its text as migrated, from ``pg_get_functiondef``; the edits are
of 0200's texts) with that part left out; then ``python -m bench.p5_notify_sql public same
userlock ...`` pays the prepared orders, the copies taking turns. Measurement only: a copy that
leaves a part out is wrong (a payment without its tier, points or earnings), and its
difference from ``same`` (an unchanged copy, so that the copies' own placing is measured too)
is the part's cost.

``m0200`` and ``m0220`` are whole candidates: the functions as migration 0200 left them and as
0220 makes them, each in its schema (``python -m bench.p5_notify_sql m0200 m0220``: before and
after, alternated notify by notify, on the same tables).
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from bench.harness import connect

_0131 = importlib.import_module("migrations.0131_tiers_on_paid_never_fails_a_payment")
_0200 = importlib.import_module("migrations.0200_a_filling_payment_completes_its_team_alone")
_0220 = importlib.import_module("migrations.0220_member_growth_reads_the_members_orders")

_TIER_CALL = """    v_tier := qunshop_tiers_without_ladder(
        o.user_id, p_now, gen_random_uuid(), p_tier_window_days, p_tier_timezone, p_tier_rules_id
    );
    tier_settled := v_tier.written OR v_tier.failed IS NOT NULL;
    tier_failed := v_tier.failed;
"""
_POINTS = """        v_earned := qunshop_earn_points(
            o.user_id, o.community_id, o.id, o.amount, p_points_pct, p_now
        );
"""
_ACCRUE = """    SELECT count(*) INTO accrued
      FROM qunshop_accrue_order_earnings(ord, p_now, p_growth_scope, p_growth_bps, p_group_window);
"""
_USER_LOCK = "        PERFORM 1 FROM users WHERE id = o.user_id FOR UPDATE;\n"
_TIER_START = "    WITH r AS ("
_TIER_EXCEPTION = """EXCEPTION WHEN OTHERS THEN  -- rolled back alone: the payment stands
    written := false;
    failed := SQLSTATE || ': ' || SQLERRM;
"""

_GROWTH = """           greatest(
               coalesce((
                   SELECT sum(amount) FROM orders WHERE user_id = p_user_id AND paid_at >= r.since
               ), 0)
               - coalesce((
                   SELECT sum(f.amount) FROM refunds f JOIN orders o ON o.id = f.order_id
                    WHERE o.user_id = p_user_id AND o.paid_at >= r.since AND f.status <> 'failed'
               ), 0),
               0
           ),
"""
_ACCRUE_INSERT = "    RETURN QUERY\n    INSERT INTO earnings_ledger AS e\n"

Edits = tuple[tuple[str, str], ...]
_TIERS = "qunshop_tiers_without_ladder"
_ACCRUAL = "qunshop_accrue_order_earnings"

# part -> edits of qunshop_pay_order's text (old, new), and of the functions it calls that the
# part copies into its schema (and calls there)
PARTS: dict[str, tuple[Edits, dict[str, Edits]]] = {
    "same": ((), {}),
    "userlock": (((_USER_LOCK, ""),), {}),
    "tiers": (((_TIER_CALL, "    tier_settled := true;\n"),), {}),
    "tierexc": ((), {_TIERS: ((_TIER_EXCEPTION, ""),)}),
    "tiergrowth": ((), {_TIERS: ((_GROWTH, "           0,\n"),)}),
    "tierbody": ((), {_TIERS: ((_TIER_START, "    written := true; RETURN;\n" + _TIER_START),)}),
    "points": (((_POINTS, ""),), {}),
    "accrue": (((_ACCRUE, "    accrued := 0;\n"),), {}),
    "accruebody": ((), {_ACCRUAL: (("    SELECT CASE", "    RETURN;\n    SELECT CASE"),)}),
    "accrueinsert": ((), {_ACCRUAL: ((_ACCRUE_INSERT, "    RETURN;\n" + _ACCRUE_INSERT),)}),
    "payload": ((("p_payload, p_now\n", "'{{}}'::jsonb, p_now\n"),), {}),
    "seatteam": (
        (
            (
                "        UPDATE seats SET status = 'paid'"
                " WHERE id = v_seat AND status = 'reserved';\n",
                "        WITH s AS (UPDATE seats SET status = 'paid' WHERE id = v_seat"
                " AND status = 'reserved')\n",
            ),
        ),
        {},
    ),
}
_MIGRATED = ("qunshop_member_growth", "qunshop_tiers_without_ladder", "qunshop_pay_order")


def _migration(texts: list[str]) -> list[str]:
    """A migration's functions as made in ``{schema}``, calling each other there."""
    out = []
    for text in texts:
        text = text.replace("{", "{{").replace("}", "}}")
        for name in _MIGRATED:
            text = text.replace(f"{name}(", f"{{schema}}.{name}(")
        out.append(text)
    return out


# whole candidates: the functions of a migration (before and after 0220), made in a schema
MADE = {
    "m0200": _migration([_0131.FUNCTION, _0200.PAY_ORDER]),
    "m0220": _migration(_0220.FORWARD),
}


def _edit(text: str, edits: Edits, schema: str) -> str:
    for old, new in edits:
        assert text.count(old) == 1, (schema, old)
        text = text.replace(old, new.format(schema=schema))
    return text


async def _definition(conn, name: str) -> str:
    return await conn.fetchval(f"SELECT pg_get_functiondef('public.{name}'::regproc)")


async def main(parts: list[str]) -> None:
    unknown = [p for p in parts if p not in PARTS and p not in MADE]
    if unknown:  # "public" among them: never dropped
        raise SystemExit(f"not a part: {', '.join(unknown)} (parts: {', '.join([*PARTS, *MADE])})")
    conn = await connect()
    try:
        pay = await _definition(conn, "qunshop_pay_order")
        for part in parts:
            await conn.execute(f"DROP SCHEMA IF EXISTS {part} CASCADE; CREATE SCHEMA {part}")
            if part in MADE:
                for sql in MADE[part]:
                    await conn.execute(sql.format(schema=part))
                print(f"{part}: made")  # noqa: T201
                continue
            pay_edits, copies = PARTS[part]
            text = _edit(pay, pay_edits, part)
            for name, edits in copies.items():
                copy = _edit(await _definition(conn, name), edits, part)
                await conn.execute(copy.replace("public.", f"{part}.", 1))
                assert text.count(f"{name}(") == 1, (part, name)
                text = text.replace(f"{name}(", f"{part}.{name}(")
            await conn.execute(text.replace("public.", f"{part}.", 1))
            print(f"{part}: made")  # noqa: T201
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(PARTS)))
