"""The audit log stays append-only but for one change: an erased account's name as the actor
(``actor_name``) becomes its pseudonym (``erased:<id>``). Every other UPDATE, and every
DELETE, is still refused (0018)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

ALLOW_ERASURE = """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.actor_name LIKE 'erased:%'
       AND (NEW.id, NEW.actor_id, NEW.action, NEW.target, NEW.before, NEW.after, NEW.at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.actor_id, OLD.action, OLD.target, OLD.before, OLD.after, OLD.at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END $$"""

APPEND_ONLY = """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"""


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(ALLOW_ERASURE)


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql(APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("models", "0100_home_delivery_sealed")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
