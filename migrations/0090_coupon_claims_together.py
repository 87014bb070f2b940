"""Claims of one coupon template made together: one statement, one lock, one commit.

``qunshop_claim_coupon`` took the template row's lock for each claim and held it until its
commit was flushed, so a burst's winners queued there one flush at a time (P8: about 1,000
flushes in a row). ``qunshop_claim_coupons`` now holds the rule once for any number of people:
it locks the template, checks it is claimable (else QS404/QS409 for all), then for each person
in order checks the stock left and their limit (counting their coupons, the ones this
statement just issued too) and inserts their coupon, and finally takes the coupons issued off
the stock by one checked conditional update (``ck_coupon_stock`` backs it). Each person gets a
row: a refusal code, or their coupon; every row carries the template as it then stands.
``qunshop_claim_coupon`` (one person, in the caller's transaction) is the same statement for
one, raising its refusal as before.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

CLAIM_MANY = """
CREATE FUNCTION qunshop_claim_coupons(
    p_template uuid,
    p_users uuid[],
    p_now timestamptz,
    p_ids uuid[],
    p_source varchar,
    p_source_refs varchar[],
    p_by_user boolean
) RETURNS TABLE (refusal varchar, coupon coupons, template coupon_templates)
LANGUAGE plpgsql AS $$
DECLARE
    t coupon_templates;
    v_count integer := coalesce(array_length(p_users, 1), 0);
    v_refusals varchar[] := '{}';
    v_coupons coupons[] := '{}';
    v_taken integer := 0;
    v_nth integer;
    v_from timestamptz;
    v_until timestamptz;
    c coupons;
BEGIN
    SELECT * INTO t FROM coupon_templates WHERE id = p_template FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'QS404', MESSAGE = 'coupon_template_not_found';
    END IF;
    IF NOT t.active OR (p_by_user AND NOT t.claimable)
       OR (t.valid_until IS NOT NULL AND t.valid_until <= p_now) THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'coupon_not_claimable';
    END IF;
    IF t.valid_days IS NOT NULL THEN
        v_from := p_now;
        v_until := p_now + make_interval(days => t.valid_days);
    ELSE
        v_from := coalesce(t.valid_from, p_now);
        v_until := t.valid_until;
    END IF;

    FOR i IN 1 .. v_count LOOP
        c := NULL;
        IF v_taken >= t.stock_left THEN
            v_refusals[i] := 'coupons_gone';
        ELSE
            -- Under the template row's lock: this person's earlier claims have committed, and
            -- those of this statement are counted too.
            SELECT count(*) + 1 INTO v_nth FROM coupons
             WHERE template_id = t.id AND user_id = p_users[i];
            IF v_nth > t.per_user_limit THEN
                v_refusals[i] := 'coupon_limit_reached';
            ELSE
                INSERT INTO coupons (
                    id, template_id, user_id, nth, status, source, source_ref, valid_from,
                    valid_until, claimed_at
                ) VALUES (
                    p_ids[i], t.id, p_users[i], v_nth, 'available', p_source, p_source_refs[i],
                    v_from, v_until, p_now
                )
                ON CONFLICT DO NOTHING
                RETURNING * INTO c;
                IF FOUND THEN
                    v_taken := v_taken + 1;
                ELSIF p_source_refs[i] IS NOT NULL AND EXISTS (
                    SELECT 1 FROM coupons WHERE source_ref = p_source_refs[i]
                ) THEN
                    v_refusals[i] := 'coupon_already_granted';
                ELSE
                    v_refusals[i] := 'coupon_limit_reached';
                END IF;
            END IF;
        END IF;
        v_coupons[i] := c;
    END LOOP;

    IF v_taken > 0 THEN
        UPDATE coupon_templates SET stock_left = stock_left - v_taken
         WHERE id = t.id AND stock_left >= v_taken
        RETURNING * INTO t;
        IF NOT FOUND THEN  -- cannot happen under the row's lock; checked all the same
            RAISE EXCEPTION 'coupon template %: stock changed under its lock', t.id;
        END IF;
    END IF;
    template := t;
    FOR i IN 1 .. v_count LOOP
        refusal := v_refusals[i];
        coupon := v_coupons[i];
        RETURN NEXT;
    END LOOP;
END
$$
"""
CLAIM_MANY_SIGNATURE = (
    "qunshop_claim_coupons(uuid, uuid[], timestamptz, uuid[], varchar, varchar[], boolean)"
)

CLAIM_ONE = """
CREATE OR REPLACE FUNCTION qunshop_claim_coupon(
    p_template uuid,
    p_user uuid,
    p_now timestamptz,
    p_id uuid,
    p_source varchar,
    p_source_ref varchar,
    p_by_user boolean
) RETURNS coupons LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM qunshop_claim_coupons(
        p_template, ARRAY[p_user], p_now, ARRAY[p_id], p_source, ARRAY[p_source_ref], p_by_user
    );
    IF r.refusal IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = r.refusal;
    END IF;
    RETURN r.coupon;
END
$$
"""


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(CLAIM_MANY)
    await schema_editor._run_sql(CLAIM_ONE)


async def backward(apps, schema_editor) -> None:
    before = importlib.import_module("migrations.0031_coupons").CLAIM
    await schema_editor._run_sql(before.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    await schema_editor._run_sql(f"DROP FUNCTION {CLAIM_MANY_SIGNATURE}")


class Migration(migrations.Migration):
    dependencies = [("models", "0085_clock_indexes")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
