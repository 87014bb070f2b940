"""Field types of request bodies, and the JSON Schema generator /openapi.json uses for them.

A request the schema allows is never refused for its shape: what the server checks on
every string (no NUL, which PostgreSQL cannot store; not blank once trimmed) is written into
the schema here, once, from each field's own constraints.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict, TypeAdapter, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from models.limits import INT_MAX, MAX_PRICE
from models.user import Role

# Unicode White_Space, what pydantic's strip_whitespace trims (Python's isspace() differs).
_SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
NO_SPACE = rf"^[^\x00{_SPACE}]+$"
# An http(s) URL: no control character and no space, spelled out rather than \s, whose
# meaning differs between JSON Schema (ECMA) and the server's regex engine (\x85).
WEB_URL = rf"^https?://[^\x00-\x20\x7f-\x9f{_SPACE}]+$"
SHARE_CODE = r"^[2-9A-HJ-NP-Za-hj-np-z]{18}$"  # services.share_codes: 18 of its alphabet


def _json_integer(value: object) -> object:
    """A JSON integer (3, or 3.0 as JSON Schema counts it): not true, not "3"."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON integer, not a boolean or a string")
    return value


def integer(ge: int, le: int, **field: Any) -> Any:
    """A body integer: a JSON number only, bounded (at most what an integer column holds).
    The bounds go before the validator, or the schema loses them."""
    assert -INT_MAX <= ge <= le <= INT_MAX
    return Annotated[int, Field(ge=ge, le=le, **field), BeforeValidator(_json_integer)]


# A model's own field: ``n: JsonInt = Field(ge=1, le=99)`` (bounds at the field work too).
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
Count = integer(0, INT_MAX)
Fen = integer(0, MAX_PRICE, description="fen")
Flag = Annotated[bool, Strict()]
Id = Annotated[uuid.UUID, Field(description="an id, as the API gave it")]
ShareCode = Annotated[str, Field(pattern=SHARE_CODE, description="an 18-character share code")]


class RequestSchema(GenerateJsonSchema):
    """Request strings say what the server checks: no NUL anywhere; not blank where a
    trimmed string must keep a character."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        out = super().str_schema(schema)
        if self.mode == "validation" and "pattern" not in out:
            trimmed = schema.get("strip_whitespace") and schema.get("min_length", 0) >= 1
            out["pattern"] = NOT_BLANK if trimmed else NO_NUL
        return out


# Path parameters, by name: ids are UUIDs, codes are what the services issue.
_ID: dict[str, Any] = {"type": "string", "format": "uuid"}
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(
        (
            "campaign_id",
            "community_id",
            "activity_id",
            "order_id",
            "sale_id",
            "product_id",
            "sku_id",
            "user_id",
            "application_id",
            "batch_id",
            "supplier_id",
            "review_id",
            "template_id",
            "offer_id",
            "segment_id",
        ),
        _ID,
    ),
    "role": {"type": "string", "enum": [role.value for role in Role]},
    "team_ref": {
        "type": "string",
        "pattern": r"^[0-9A-Za-z-]{1,36}$",
        "description": "a team's code or id",
    },
    "code": {"type": "string", "pattern": SHARE_CODE},
    "bargain_ref": {
        "type": "string",
        "pattern": r"^[0-9A-Za-z-]{1,36}$",
        "description": "a bargain's code or id",
    },
}


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may be left out but not null")
    return value


def omittable(tp: Any) -> Any:
    """A PATCH field: may be left out, never null. The schema offers no null (the field's
    default, None, means "not sent"), and a null sent is refused."""
    shown = TypeAdapter(tp).json_schema(mode="validation", schema_generator=RequestSchema)
    return Annotated[
        tp | None,
        WithJsonSchema(shown),
        BeforeValidator(_not_null),
        Field(json_schema_extra=_no_default),
    ]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # None is "not sent", which a schema default cannot say
