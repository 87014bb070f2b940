"""A join asks whether any tier gives a discount inside its own statement, not in a query before.

Since members' discounts go into the order's price from the start, every join first asked
``tier_levels`` whether any level gives a discount (``tiers.discount_bps_for``): a round trip of
its own on every join, answered "no" in a shop without tier discounts. Now
``qunshop_join_team`` takes ``p_member_prices``: false when the caller has not looked up the
member's discount. Then, if any level gives one, the function refuses before it writes
anything (SQLSTATE QS001, ``member_prices``) and the caller looks it up and joins again with
``p_member_prices`` true, pricing the order in the same transaction (services/join_sql.py).
Without tier discounts a join is one round trip again. The join's rules are 0095's text
unchanged; only the parameter and the check at its start are added (marked below). A
function's parameters cannot change in place, so this drops and creates it (0095's text,
backward).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0010 = importlib.import_module("migrations.0010_join_team_function")
_0095 = importlib.import_module("migrations.0095_join_answer")

SIGNATURE = (
    "qunshop_join_team(uuid, varchar, uuid, timestamptz, timestamptz, uuid, uuid, varchar, "
    "varchar, boolean)"
)

# --- 0120: the one change to qunshop_join_team ---
_PARAM_BEFORE = "    p_chat_id varchar,\n    OUT team teams,"
_PARAM_AFTER = "    p_chat_id varchar,\n    p_member_prices boolean,\n    OUT team teams,"
_START_BEFORE = """\
BEGIN
    IF v_team_id IS NULL THEN"""
_START_AFTER = """\
BEGIN
    -- A member's tier discount is priced by the caller (services/join_sql.py, 0120): a caller
    -- that has not looked it up is sent back to, before anything is written, if any tier
    -- gives a discount.
    IF NOT p_member_prices AND EXISTS (SELECT 1 FROM tier_levels WHERE discount_bps > 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'QS001', MESSAGE = 'member_prices';
    END IF;

    IF v_team_id IS NULL THEN"""
# --- end of 0120's change ---
OLD_JOIN = _0095.NEW_JOIN
assert OLD_JOIN.count(_PARAM_BEFORE) == 1 and OLD_JOIN.count(_START_BEFORE) == 1
NEW_JOIN = OLD_JOIN.replace(_PARAM_BEFORE, _PARAM_AFTER).replace(_START_BEFORE, _START_AFTER)

FORWARD = [f"DROP FUNCTION {_0010.SIGNATURE}", NEW_JOIN]
BACKWARD = [f"DROP FUNCTION {SIGNATURE}", OLD_JOIN]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0112_models_agree_again")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
