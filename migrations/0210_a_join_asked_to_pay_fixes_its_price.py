"""A join asked to pay fixes its order's price at insert and reads what WeChat Pay needs.

The mini-program pays as soon as a shopper joins. That was two requests and two statements:
the join (``qunshop_join_team``) and the prepay (services/prepays.py ``_PREPAY_SQL``), which
read the order back, the payer's openid and the leader's verification, and set ``prepaid_at``
(the price is fixed from then on: WeChat Pay keeps the amount it is told). Now the join,
asked with ``p_pay``, does the prepay's part of the database work itself:

- it inserts the order with ``prepaid_at`` when prepay's checks pass for it, and returns the
  payer's openid and whether the community's leader is verified, so the server asks WeChat
  Pay at once and no prepay statement runs (services/join_pay.py);
- prepay's checks are written once, here, and both statements call them:
  ``qunshop_leader_verified(community)`` (no community: nothing to wait for; else its leader
  has a verified identity) and ``qunshop_may_prepay(...)`` (awaiting payment, price not yet
  fixed, inside its window, the leader verified unless not required). The order a join
  inserts is the caller's own and awaits payment with no price fixed, so of those the window
  and the leader decide. ``qunshop_may_prepay`` is a plain SQL expression (inlined where it is
  called); the leader's read is PL/pgSQL (its plan kept for the session).

Asked without ``p_pay`` (the default: every caller of 0180's function), the join is 0180's,
reading nothing more. Its rules and their order are 0180's; only two parameters with
defaults, two OUT parameters, the reads before the order's insert and its ``prepaid_at`` are
added (marked below). The result type changes, so this drops and creates the function (0180's
text, backward).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0120 = importlib.import_module("migrations.0120_join_asks_for_member_prices")
_0180 = importlib.import_module("migrations.0180_join_seat_by_code_plain_insert")

SIGNATURE = (
    "qunshop_join_team(uuid, varchar, uuid, timestamptz, timestamptz, uuid, uuid, varchar, "
    "varchar, boolean, boolean, boolean)"
)

LEADER_VERIFIED = """
CREATE FUNCTION qunshop_leader_verified(p_community_id uuid)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN  -- a community takes payments once its leader's identity is verified
    RETURN p_community_id IS NULL OR EXISTS (
        SELECT 1 FROM communities c JOIN leader_identities i ON i.user_id = c.leader_id
         WHERE c.id = p_community_id AND i.status = 'verified'
    );
END
$$
"""

MAY_PREPAY = """
CREATE FUNCTION qunshop_may_prepay(
    p_status varchar, p_prepaid_at timestamptz, p_reserved_until timestamptz,
    p_now timestamptz, p_leader_verified boolean, p_leader_required boolean
) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    -- Prepay's checks of an order (beside whose it is): awaiting payment, its price not yet
    -- fixed, inside its payment window, its leader verified unless that is not required.
    SELECT p_status = 'pending_payment' AND p_prepaid_at IS NULL
       AND (p_reserved_until IS NULL OR p_reserved_until > p_now)
       AND (p_leader_verified OR NOT p_leader_required)
$$
"""

# --- 0210: the changes to qunshop_join_team ---
_PARAM_BEFORE = "    p_member_prices boolean,\n    OUT team teams,"
_PARAM_AFTER = """\
    p_member_prices boolean,
    p_pay boolean DEFAULT false,  -- 0210: fix the price for WeChat Pay, read its payer
    p_leader_required boolean DEFAULT true,
    OUT team teams,"""
_OUT_BEFORE = "    OUT members qunshop_member[]\n)"
_OUT_AFTER = """\
    OUT members qunshop_member[],
    OUT payer_openid varchar,  -- 0210: asked with p_pay, what the unified order needs
    OUT leader_verified boolean
)"""
_INSERT_BEFORE = """\
    v_until := p_now + make_interval(mins => c.reservation_minutes);
    INSERT INTO orders (
        id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id, team_id, quantity,
        unit_price, amount, status, reserved_until, chat_id, created_at, updated_at
    ) VALUES (
        p_order_id, p_out_trade_no, 'group', p_user_id, c.community_id, c.sku_id, c.id, team.id,
        1, c.group_price, c.group_price, 'pending_payment', v_until, p_chat_id, p_created_at,
        p_created_at
    ) RETURNING * INTO ord;
"""
_INSERT_AFTER = """\
    v_until := p_now + make_interval(mins => c.reservation_minutes);
    -- Asked to pay (0210): the payer and the leader's verification, and the price fixed at
    -- insert when prepay's checks pass for this new order of the caller's (pending, no price
    -- fixed yet): no prepay statement follows.
    IF p_pay THEN
        SELECT openid INTO payer_openid FROM users WHERE id = p_user_id;
        leader_verified := qunshop_leader_verified(c.community_id);
    END IF;
    INSERT INTO orders (
        id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id, team_id, quantity,
        unit_price, amount, status, reserved_until, chat_id, created_at, updated_at, prepaid_at
    ) VALUES (
        p_order_id, p_out_trade_no, 'group', p_user_id, c.community_id, c.sku_id, c.id, team.id,
        1, c.group_price, c.group_price, 'pending_payment', v_until, p_chat_id, p_created_at,
        p_created_at,
        CASE WHEN p_pay AND qunshop_may_prepay(
            'pending_payment', NULL, v_until, p_now, leader_verified, p_leader_required
        ) THEN p_now END
    ) RETURNING * INTO ord;
"""
# --- end of 0210's change ---
OLD_JOIN = _0180.NEW_JOIN
for _before in (_PARAM_BEFORE, _OUT_BEFORE, _INSERT_BEFORE):
    assert OLD_JOIN.count(_before) == 1, _before
NEW_JOIN = (
    OLD_JOIN.replace(_PARAM_BEFORE, _PARAM_AFTER)
    .replace(_OUT_BEFORE, _OUT_AFTER)
    .replace(_INSERT_BEFORE, _INSERT_AFTER)
    .replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1)
)

FORWARD = [LEADER_VERIFIED, MAY_PREPAY, f"DROP FUNCTION {_0120.SIGNATURE}", NEW_JOIN]
BACKWARD = [
    f"DROP FUNCTION {SIGNATURE}",
    OLD_JOIN.replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1),
    "DROP FUNCTION qunshop_may_prepay(varchar, timestamptz, timestamptz, timestamptz, boolean, "
    "boolean)",
    "DROP FUNCTION qunshop_leader_verified(uuid)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0200_a_filling_payment_completes_its_team_alone")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
