"""Foreign keys re-made under their own names with another ``ON DELETE`` rule, and the
migration state told (migrations 0280 and 0320). Not a migration (the name starts with ``_``).

A key is ``(model, its table, field, the model it names, related_name, shape)``: the shape is
whether the key is nullable, or ``"1:1"`` for a OneToOneField (``"1:1?"`` a nullable one), or
``"pk"`` for one that is the primary key."""

from __future__ import annotations

from tortoise import fields
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

Key = tuple[str, str, str, str, str, bool | str]


def _field(name: str, to: str, related_name: str, shape: bool | str) -> fields.Field:
    kwargs = {
        "source_field": f"{name}_id",
        "db_constraint": True,
        "to_field": "id",
        "related_name": related_name,
        "on_delete": OnDelete.RESTRICT,
    }
    if shape == "pk":  # PointsBalance: the user is the key
        return fields.OneToOneField(f"models.{to}", primary_key=True, db_index=True, **kwargs)
    if shape in ("1:1", "1:1?"):
        return fields.OneToOneField(f"models.{to}", null=shape == "1:1?", **kwargs)
    return fields.ForeignKeyField(f"models.{to}", null=shape, **kwargs)


def restricting(keys: list[Key]) -> StateOnly:
    """The state of ``keys`` as restricting fields, in one operation."""
    return StateOnly(
        *(
            ops.AlterField(model_name=model, name=name, field=_field(name, to, related_name, shape))
            for model, _, name, to, related_name, shape in keys
        )
    )


def by_table(keys: list[Key], tables: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Each child table's keys: (column, the table it names), ``tables`` naming each model's."""
    found: dict[str, list[tuple[str, str]]] = {}
    for _, table, name, to, _, _ in keys:
        found.setdefault(table, []).append((name, tables[to]))
    return found


def rekey(keys: list[Key], tables: dict[str, str], on_delete: str, *, valid: bool = True) -> str:
    """One ALTER TABLE per child table: each key dropped and made again under its name
    (``NOT VALID`` unless ``valid``: no row read, see :func:`validate`)."""
    check = "" if valid else " NOT VALID"
    return ";\n".join(
        f'ALTER TABLE "{table}"\n  '
        + ",\n  ".join(
            f'DROP CONSTRAINT "{table}_{name}_id_fkey", ADD CONSTRAINT "{table}_{name}_id_fkey" '
            f'FOREIGN KEY ("{name}_id") REFERENCES "{to}" ("id") ON DELETE {on_delete}{check}'
            for name, to in columns
        )
        for table, columns in by_table(keys, tables).items()
    )


def validate(table: str, columns: list[tuple[str, str]]) -> str:
    """Check ``table``'s rows against the keys made ``NOT VALID`` (a SHARE UPDATE EXCLUSIVE
    lock: reads and writes go on)."""
    return f'ALTER TABLE "{table}" ' + ", ".join(
        f'VALIDATE CONSTRAINT "{table}_{name}_id_fkey"' for name, _ in columns
    )
