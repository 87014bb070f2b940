"""A member's growth reads the member's own orders, whatever the planner knows of ``orders``.

Growth is the amount of the member's orders paid within the tier window, less what was
refunded of those orders (refunds not closed as failed): services/tiers.py. It was written
twice, in services/tiers.py (``growth_of``) and in ``qunshop_tiers_without_ladder`` (0131),
both as ``WHERE user_id = $1 AND paid_at >= $2``. Without statistics on ``orders`` (a young
database, or autovacuum off, as on the bench machine) the plan of that condition ANDs the
member's index entries with every ``idx_orders_paid_at`` entry in the window: each payment's
tier recalculation read every order paid in the last year. Measured on one connection
(bench/p5_notify_sql.py, 4,800 payments, BENCHMARKS.md round 10): ~110 µs of a ~1,100 µs
notify went on growth, and it grows with the orders paid.

- ``qunshop_member_growth(user, since)`` is the rule, written once: the window is an
  aggregate ``FILTER``, not a ``WHERE``, so the plan finds the member's orders by their index
  alone and judges ``paid_at`` on those rows. Same sums, same types, same answers.
  services/tiers.growth_of asks it; so does
- ``qunshop_tiers_without_ladder`` (0131's statement otherwise unchanged, its ``EXCEPTION``
  block too: measured, the subtransaction costs ~0-1 % of a notify).
- ``qunshop_pay_order`` (0200) says why it locks the buyer's row even when no new-user offer
  or first-order coupon makes "paid before" matter: the tier's growth read after the lock
  counts a payment of the same person committed meanwhile (tests/services/
  test_pay_concurrency.py). Only its comment changes.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0131 = importlib.import_module("migrations.0131_tiers_on_paid_never_fails_a_payment")
_0200 = importlib.import_module("migrations.0200_a_filling_payment_completes_its_team_alone")

MEMBER_GROWTH = """
CREATE FUNCTION qunshop_member_growth(p_user_id uuid, p_since timestamptz)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN  -- PL/pgSQL: its plan is kept for the session (a SQL function's is made at each call)
    -- Paid since p_since, less the refunds of those orders not closed as failed. The window
    -- is a FILTER: the member's orders are found by their index, never by paid_at's.
    RETURN greatest(
        coalesce((
            SELECT sum(amount) FILTER (WHERE paid_at >= p_since)
              FROM orders WHERE user_id = p_user_id
        ), 0)
        - coalesce((
            SELECT sum(f.amount) FILTER (WHERE o.paid_at >= p_since)
              FROM refunds f JOIN orders o ON o.id = f.order_id
             WHERE o.user_id = p_user_id AND f.status <> 'failed'
        ), 0),
        0
    );
END
$$
"""

_GROWTH_0131 = """           greatest(
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


def _edited(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


TIERS_WITHOUT_LADDER = _edited(
    _0131.FUNCTION,
    (
        ("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
        (_GROWTH_0131, "           qunshop_member_growth(p_user_id, r.since),\n"),
    ),
)

PAY_ORDER = _edited(
    _0200.PAY_ORDER,
    (
        (
            "        -- One person's payments one at a time, so \"never paid before\" is read truly.\n",
            "        -- One person's payments one at a time: \"never paid before\" is read truly, and\n"
            "        -- the tier's growth, read after this lock, counts a payment of theirs that\n"
            "        -- committed meanwhile (so the lock is taken for every payment).\n",
        ),
    ),
)

FORWARD = [MEMBER_GROWTH, TIERS_WITHOUT_LADDER, PAY_ORDER]
BACKWARD = [
    _0200.PAY_ORDER,
    _0131.FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    "DROP FUNCTION qunshop_member_growth(uuid, timestamptz)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0210_a_join_asked_to_pay_fixes_its_price")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
