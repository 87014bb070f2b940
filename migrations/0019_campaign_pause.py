"""A leader may pause a campaign and resume it: ``campaigns.paused_at`` (NULL when running).

``qunshop_join_team`` (latest in 0011) gains one check, marked below: a paused campaign
refuses joins with QS409 campaign_paused. Nothing else in the function changes; this is
0011's text with that check added after its window check.
"""

import importlib

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_0011 = importlib.import_module("migrations.0011_join_campaign_window")
_AFTER = _0011._CHECK
# --- 0019: the one change to the function ---
_PAUSED = """
    IF c.paused_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'campaign_paused';
    END IF;
"""
# --- end of 0019's change ---
assert _0011.NEW.count(_AFTER) == 1
OLD = _0011.NEW
NEW = OLD.replace(_AFTER, _AFTER + _PAUSED)


class Migration(migrations.Migration):
    dependencies = [("models", "0018_audit_log")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Campaign",
            name="paused_at",
            field=fields.DatetimeField(null=True),
        ),
        ops.RunSQL(NEW, reverse_sql=OLD),
    ]
