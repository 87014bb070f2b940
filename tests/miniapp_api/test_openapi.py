from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts  # noqa: F401  (ensures 3.1 support)

from miniapp_api.spec import spec_of
from qunshop.errors import ErrorCode


async def test_document_is_valid_openapi_31(client: TestClient) -> None:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on an invalid document


async def test_every_json_endpoint_is_documented(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    app = client.server.app
    declared = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if spec_of(route.handler) is not None and route.method != "HEAD"
    }
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert declared and declared == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)
            assert "500" in op["responses"]
            if "requestBody" in op:
                assert "422" in op["responses"], (path, method)


async def test_problem_schema_is_shared(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    ready = doc["paths"]["/readyz"]["get"]["responses"]
    assert ready["503"]["content"]["application/problem+json"]["schema"]["$ref"].endswith(
        "/Problem"
    )


async def test_every_operation_has_an_id_a_summary_and_its_error_codes(
    client: TestClient,
) -> None:
    doc = await (await client.get("/openapi.json")).json()
    known = {c.value for c in ErrorCode}
    ids = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            ids.append(op["operationId"])
            assert op["summary"].strip(), where
            for status, answer in op["responses"].items():
                if int(status) < 400:
                    continue
                schema = answer["content"]["application/problem+json"]["schema"]
                listed = schema["properties"]["code"]["enum"]
                assert listed and set(listed) <= known, (where, status)
                assert set(listed) <= set(op["x-error-codes"]), (where, status)
    assert len(ids) == len(set(ids)), "operationIds must be unique"


async def test_error_codes_are_read_from_the_code_each_view_runs(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()

    def codes(method: str, path: str, status: str) -> set[str]:
        answer = doc["paths"][path][method]["responses"][status]
        return set(
            answer["content"]["application/problem+json"]["schema"]["properties"]["code"]["enum"]
        )

    join = "/api/v1/teams/{team_ref}/join"
    assert codes("post", join, "404") == {"team_not_found"}
    # team_closed says which way the team closed: its state is documented beside the code.
    refused = doc["paths"][join]["post"]["responses"]["409"]["content"]
    members = refused["application/problem+json"]["schema"]["properties"]
    assert members["state"]["enum"] == ["succeeded", "failed", "ended"], members
    assert {"team_full", "team_closed", "already_in_team", "campaign_sold_out"} <= codes(
        "post", join, "409"
    )
    assert codes("post", join, "401") == {"unauthenticated", "token_expired", "account_erased"}
    simulate = "/api/v1/dev/orders/{order_id}/simulate-payment"
    assert codes("post", simulate, "409") == {"order_not_payable"}
    assert codes("post", simulate, "403") == {"simulation_disabled"}
    assert codes("post", "/api/v1/session", "429") == {"rate_limited", "wechat_rate_limited"}
    # A public read with no role check promises no 403.
    assert "403" not in doc["paths"]["/api/v1/orders"]["get"]["responses"]
    assert doc["paths"]["/api/v1/products"]["get"]["security"] == [{}, {"bearer": []}]


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


async def test_no_pattern_lets_a_nul_through(client: TestClient) -> None:
    # The server refuses a NUL in any string (miniapp_api.http), so a pattern that accepts one
    # would let a generated client send what the schema allows and the server refuses.
    doc = await (await client.get("/openapi.json")).json()
    patterns = set(_patterns(doc))
    assert patterns
    samples = ["https://a\x00b", "a\x00b", "\x00"]
    leaky = sorted(p for p in patterns for s in samples if re.search(p, s))
    assert not leaky


async def test_no_pattern_leans_on_the_engines_idea_of_space(client: TestClient) -> None:
    # \s means one set in JSON Schema (ECMA) and another in the server's regex engine (\x85,
    # for one), so a client fuzzed from the schema sent an image URL the server refused.
    # Patterns spell their spaces out (miniapp_api.fields).
    doc = await (await client.get("/openapi.json")).json()
    vague = sorted(p for p in set(_patterns(doc)) if re.search(r"\\[sS]", p))
    assert not vague
