"""Joins stop sharing the campaign row: stock set aside in a few slices per campaign.

Every join used to take its unit with ``UPDATE campaigns SET stock_left = stock_left - 1``,
so all joins of a campaign queued on that one row lock until each commit was flushed. Now
``campaigns.stock_left`` is the campaign's reserve and ``campaign_stock_slices`` holds units
set aside from it, in up to ``SLICES`` rows per campaign; what is left to sell is the reserve
plus the slices (``services.campaigns.stock_left``). ``qunshop_take_stock(campaign)`` takes one
unit, each step a checked conditional update in its own subtransaction (see TAKE_SLICE):

1. from a slice picked at random (``stock_left >= 1``);
2. else it refills that slice with ``REFILL`` units from the reserve (``stock_left >= REFILL``),
   one of them for this join: the campaign row is updated once every ``REFILL`` joins of a
   slice, not on every join;
3. else, with fewer than ``REFILL`` in the reserve, one unit straight from the reserve;
4. else from whichever other slice still holds a unit (the last units, spread over slices);
5. else QS409 campaign_sold_out.

A slice only receives units from the reserve, and a seat given back returns its unit to the
reserve (services/groupbuy.py), so reserve + slices + units held by seats stays the stock cap,
and a join is refused only when the reserve and every slice read empty. ``qunshop_join_team``
(latest in 0019) and starting a team (services/join_sql.take_stock) both take stock here.
"""

import importlib

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SLICES = 8
REFILL = 16

_0019 = importlib.import_module("migrations.0019_campaign_pause")
# --- 0020: the one change to qunshop_join_team ---
_STOCK_BEFORE = """\
    -- The stock: a checked conditional update, which locks the campaign row (second). The
    -- inserts follow both locks: their foreign-key checks then lock rows this transaction
    -- already holds, instead of piling shared locks (multixacts) onto the hot rows.
    UPDATE campaigns SET stock_left = stock_left - 1 WHERE id = c.id AND stock_left >= 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'campaign_sold_out';
    END IF;
"""
_STOCK_AFTER = """\
    -- The stock: one unit from a slice of the campaign's stock (0020), which locks that
    -- slice's row (second) and, once every few joins, the campaign row to refill it.
    PERFORM qunshop_take_stock(c.id);
"""
# --- end of 0020's change ---
assert _0019.NEW.count(_STOCK_BEFORE) == 1
OLD_JOIN = _0019.NEW
NEW_JOIN = OLD_JOIN.replace(_STOCK_BEFORE, _STOCK_AFTER)

# Each attempt runs in its own subtransaction (a block with EXCEPTION). In READ COMMITTED, a
# conditional update that waited for a concurrent one and then finds the row no longer
# matching still keeps the lock it took to recheck it; rolling the attempt back releases that
# lock. So a join holds only rows it took stock from: without this, a join holding a slice it
# found empty waited for the campaign row while a refill holding the campaign row waited for
# that slice (a deadlock, found by 16 connections joining at once).
TAKE_SLICE = """
CREATE FUNCTION qunshop_take_slice(p_campaign_id uuid, p_slot smallint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_stock_slices SET stock_left = stock_left - 1
     WHERE campaign_id = p_campaign_id AND slot = p_slot AND stock_left >= 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'QS000';
    END IF;
    RETURN true;
EXCEPTION WHEN SQLSTATE 'QS000' THEN
    RETURN false;
END
$$
"""

TAKE_RESERVE = f"""
CREATE FUNCTION qunshop_take_reserve(p_campaign_id uuid, p_slot smallint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaigns SET stock_left = stock_left - {REFILL}
     WHERE id = p_campaign_id AND stock_left >= {REFILL};
    IF FOUND THEN
        INSERT INTO campaign_stock_slices (campaign_id, slot, stock_left)
        VALUES (p_campaign_id, p_slot, {REFILL - 1})
        ON CONFLICT (campaign_id, slot)
        DO UPDATE SET stock_left = campaign_stock_slices.stock_left + {REFILL - 1};
        RETURN true;
    END IF;
    UPDATE campaigns SET stock_left = stock_left - 1 WHERE id = p_campaign_id AND stock_left >= 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'QS000';
    END IF;
    RETURN true;
EXCEPTION WHEN SQLSTATE 'QS000' THEN
    RETURN false;
END
$$
"""

TAKE_STOCK = f"""
CREATE FUNCTION qunshop_take_stock(p_campaign_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_slot smallint := floor(random() * {SLICES});
BEGIN
    IF qunshop_take_slice(p_campaign_id, v_slot) THEN
        RETURN;
    END IF;
    IF qunshop_take_reserve(p_campaign_id, v_slot) THEN
        RETURN;
    END IF;
    FOR v_slot IN
        SELECT slot FROM campaign_stock_slices
         WHERE campaign_id = p_campaign_id AND stock_left >= 1 ORDER BY slot
    LOOP
        IF qunshop_take_slice(p_campaign_id, v_slot) THEN
            RETURN;
        END IF;
    END LOOP;
    RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'campaign_sold_out';
END
$$
"""

_FUNCTIONS = (
    (TAKE_SLICE, "qunshop_take_slice(uuid, smallint)"),
    (TAKE_RESERVE, "qunshop_take_reserve(uuid, smallint)"),
    (TAKE_STOCK, "qunshop_take_stock(uuid)"),
)


class Migration(migrations.Migration):
    dependencies = [("models", "0019_campaign_pause")]

    initial = False

    operations = [
        ops.CreateModel(
            name="StockSlice",
            fields=[
                ("id", fields.IntField(primary_key=True)),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        related_name="stock_slices",
                        on_delete=fields.CASCADE,
                    ),
                ),
                ("slot", fields.SmallIntField()),
                ("stock_left", fields.IntField()),
            ],
            options={
                "table": "campaign_stock_slices",
                "app": "models",
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        # CreateModel skips Meta.constraints (see 0003).
        ops.RunSQL(
            'ALTER TABLE "campaign_stock_slices" ADD CONSTRAINT "uq_stock_slice" '
            'UNIQUE (campaign_id, slot), ADD CONSTRAINT "ck_stock_slice_left" '
            "CHECK (stock_left >= 0)",
            reverse_sql='ALTER TABLE "campaign_stock_slices" DROP CONSTRAINT "uq_stock_slice", '
            'DROP CONSTRAINT "ck_stock_slice_left"',
        ),
        *(ops.RunSQL(sql, reverse_sql=f"DROP FUNCTION {name}") for sql, name in _FUNCTIONS),
        ops.RunSQL(NEW_JOIN, reverse_sql=OLD_JOIN),
    ]
