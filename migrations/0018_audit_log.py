"""The operators' audit log, append-only as the points ledger is (0009): PostgreSQL refuses
every UPDATE and DELETE of a row (TRUNCATE, the tests' cleanup, is not a row change)."""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

MESSAGE = "audit_log is append-only"


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    await schema_editor._run_sql(
        'CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE '
        'ON "audit_log" FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()'
    )


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql('DROP TRIGGER "audit_log_append_only" ON "audit_log"')
    await schema_editor._run_sql("DROP FUNCTION audit_log_append_only()")


class Migration(migrations.Migration):
    dependencies = [("models", "0017_idempotency_records")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("actor_id", fields.UUIDField()),
                ("actor_name", fields.CharField(max_length=64)),
                ("action", fields.CharField(max_length=64)),
                ("target", fields.CharField(max_length=128, db_index=True)),
                ("before", fields.JSONField(default=dict)),
                ("after", fields.JSONField(default=dict)),
                ("at", fields.DatetimeField(db_index=True)),
            ],
            options={"table": "audit_log", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
