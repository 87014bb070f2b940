from __future__ import annotations

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts  # noqa: F401  (ensures 3.1 support)

from miniapp_api.spec import spec_of


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
