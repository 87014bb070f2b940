"""A join's answer says whether its team is guaranteed.

Every view of a team tells whether the merchant completes it at its deadline with any paid
member: its campaign's ``guaranteed`` (services/groupbuy.py ``Reservation.guaranteed``). A
join is answered from its one statement alone (0095), which reads the campaign row but did not
return that flag, so the answer said null. Now ``qunshop_join_team`` returns it too, from the
campaign row it already holds: no read more, no round trip more.

Its rules and their order are 0210's; only one OUT parameter and its assignment are added
(marked below). The result type changes, so this drops and creates the function (0210's text,
backward).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0210 = importlib.import_module("migrations.0210_a_join_asked_to_pay_fixes_its_price")

# --- 0230: the changes to qunshop_join_team ---
_OUT_BEFORE = "    OUT leader_verified boolean\n)"
_OUT_AFTER = """\
    OUT leader_verified boolean,
    OUT guaranteed boolean  -- 0230: the campaign completes the team at its deadline
)"""
_READ_BEFORE = "    SELECT * INTO c FROM campaigns WHERE id = team.campaign_id;\n"
_READ_AFTER = _READ_BEFORE + "    guaranteed := c.guaranteed;  -- 0230\n"
# --- end of 0230's change ---
OLD_JOIN = _0210.NEW_JOIN
for _before in (_OUT_BEFORE, _READ_BEFORE):
    assert OLD_JOIN.count(_before) == 1, _before
NEW_JOIN = OLD_JOIN.replace(_OUT_BEFORE, _OUT_AFTER).replace(_READ_BEFORE, _READ_AFTER)

FORWARD = [f"DROP FUNCTION {_0210.SIGNATURE}", NEW_JOIN]
BACKWARD = [f"DROP FUNCTION {_0210.SIGNATURE}", OLD_JOIN]


class Migration(migrations.Migration):
    dependencies = [("models", "0220_member_growth_reads_the_members_orders")]

    initial = False

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
