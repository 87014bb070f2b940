"""problem+json bodies: the part rendered once per refusal gives the same bytes as a whole."""

from __future__ import annotations

import json

import pytest

from qunshop.assembly.middlewares import problem


def _whole(status: int, code: str, detail: str, rid: str, **extra: object) -> bytes:
    body = {
        "type": f"urn:qunshop:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": rid,
        **extra,
    }
    return json.dumps(body, ensure_ascii=False, default=str).encode()


@pytest.mark.parametrize(
    ("status", "code", "detail", "rid"),
    [
        (409, "out_of_stock", "the flash sale is sold out", "0123456789abcdef0123456789abcdef"),
        (409, "out_of_stock", "the flash sale is sold out", "another.request-id_2"),
        (422, "validation_failed", 'quantity "x": 中文 \\ \n', "trace-id-12345"),
    ],
)
def test_a_refusal_renders_as_one_json_document(
    status: int, code: str, detail: str, rid: str
) -> None:
    for _ in range(2):  # rendered, then from the part kept
        answer = problem(status, code, detail, rid)
        assert answer.body == _whole(status, code, detail, rid)
        assert json.loads(answer.body)["request_id"] == rid
        assert answer.status == status
        assert answer.headers["Content-Type"] == "application/problem+json; charset=utf-8"
        assert answer.headers["X-Request-ID"] == rid


def test_a_refusal_with_more_fields_keeps_them_in_order() -> None:
    errors = [{"loc": ["quantity"], "msg": "over the limit", "type": "invalid_quantity"}]
    answer = problem(422, "validation_failed", "bad", "rid-12345678", errors=errors)
    assert answer.body == _whole(422, "validation_failed", "bad", "rid-12345678", errors=errors)
