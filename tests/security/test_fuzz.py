"""Stateless fuzzing of every operation in /openapi.json with schemathesis.

The schema is the one the running test app serves (built through the real factory). Each
operation is called with generated data (valid, valid with real ids in the path, and
invalid), anonymously where it is public and else as a shopper, a leader and an admin,
against a world with two communities. Every response passes every schemathesis check: no
server error, a documented status code, content type and body; data the schema refuses is
refused; data the schema allows is never refused for its shape. A 422 for data the schema
allows is right only where a business rule refuses a value no schema can judge (a share
code's MAC, ends_at after starts_at, a leader who does not exist): those carry their own
stable code, never ``validation_failed`` from the request's parsing.

The app runs on the test's event loop; schemathesis calls it with blocking ``requests``, so
the fuzzing runs in a worker thread while the loop serves.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, get_args

import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic_core.core_schema import ErrorType
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from models.user import Role
from qunshop.config import Settings
from tests.security.world import World, build_world
from tests.support.factories import auth, make_user
from tests.support.fake_wechat import FakeWeChat

# What the request's parsing reports: pydantic's error types, and the NUL check before it.
SHAPE_ERRORS = {*get_args(ErrorType), "nul_char"}


def _refused_for_its_shape(response: Any) -> bool:
    try:
        problem = json.loads(response.content)
    except ValueError:
        return True
    if isinstance(problem, dict) and problem.get("code") == "malformed_json":
        return True
    if not isinstance(problem, dict) or problem.get("code") != "validation_failed":
        return False  # a business rule's own code: the value, not the shape, was refused
    return any(e.get("type") in SHAPE_ERRORS for e in problem.get("errors") or [{}])


def shape_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive_data_acceptance, where a 400 or 422 naming a business rule
    (a link token whose signature does not check out, a community that does not exist)
    passes."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if response.status_code in (400, 422) and not _refused_for_its_shape(response):
            return None
        raise


# Examples per operation, per caller, per kind of data: bounded so the whole run stays well
# under a minute.
EXAMPLES = {"random": 5, "known_ids": 4, "invalid": 3}


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written under .hypothesis/
        derandomize=True,  # the same cases every run: a CI failure reproduces locally
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case
        suppress_health_check=list(HealthCheck),
    )


def _known_ids(world: World) -> dict[str, str]:
    """Real path values, so generated requests also reach past the not-found branch."""
    a = world.a
    return {
        "campaign_id": a.campaign_id,
        "community_id": a.community_id,
        "activity_id": a.activity_id,
        "order_id": a.group_order_id,
        "sale_id": a.sale_id,
        "product_id": a.product_id,
        "sku_id": a.sku_id,
        "team_ref": a.team_code,
        "code": a.share_code,
        "user_id": str(a.shopper.id),
        "role": "leader",
        "application_id": "00000000-0000-4000-8000-000000000000",
        "after_sale_id": a.after_sale_id,
        "claim_id": "00000000-0000-4000-8000-00000000c1a1",
        "bill_date": "2026-01-01",
        "difference_id": "00000000-0000-4000-8000-0000000d1ff0",
        "batch_id": a.batch_id,
        "supplier_id": "00000000-0000-4000-8000-000000000000",
        "review_id": "00000000-0000-4000-8000-000000000000",
        "offer_id": a.bargain_offer_id,
        "bargain_ref": a.bargain_code,
        "item_id": "00000000-0000-4000-8000-000000000000",
        "word_id": "00000000-0000-4000-8000-000000000000",
        "post_id": "00000000-0000-4000-8000-000000000000",
        "follow_id": "00000000-0000-4000-8000-000000000000",
        "question_id": "00000000-0000-4000-8000-000000000000",
        "answer_id": "00000000-0000-4000-8000-000000000000",
        "segment_id": "00000000-0000-4000-8000-000000000000",
        "template_id": "00000000-0000-4000-8000-000000000000",  # no coupon template
    }


@dataclass
class Run:
    base_url: str
    callers: dict[str, dict[str, str]]
    known: dict[str, str]
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: int = 0

    def fuzz(self, operation: Any) -> None:
        callers = self.callers if operation.definition.raw.get("security") else {"anonymous": {}}
        path_names = [p.name for p in operation.path_parameters]
        variants: dict[str, Any] = {
            "random": GenerationMode.POSITIVE,
            "invalid": GenerationMode.NEGATIVE,
        }
        if path_names:
            variants["known_ids"] = GenerationMode.POSITIVE
        for caller, headers in callers.items():
            for variant, mode in variants.items():
                fixed = (
                    {name: self.known[name] for name in path_names}
                    if variant == "known_ids"
                    else None
                )
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                self._run(operation.label, caller, variant, strategy, headers)

    def _run(self, label: str, caller: str, variant: str, strategy: Any, headers: dict) -> None:
        @_settings(EXAMPLES[variant])
        @given(case=strategy)
        def one(case: Any) -> None:
            self.calls += 1
            response = case.call(base_url=self.base_url, headers=headers, timeout=10)
            try:
                case.validate_response(  # every check schemathesis has
                    response,
                    headers=headers,
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[shape_acceptance],
                )
            # A failed check is an AssertionError; several at once, a BaseExceptionGroup.
            except (AssertionError, BaseExceptionGroup) as exc:
                kinds = getattr(exc, "exceptions", None) or (exc,)
                key = ", ".join(sorted({getattr(f, "title", type(f).__name__) for f in kinds}))
                self.failures.setdefault((label, key), f"{caller}: {exc}")

        try:
            one()
        except Unsatisfiable:
            # No invalid value exists (e.g. a free-form string path parameter is all there
            # is): nothing to send.
            assert variant == "invalid", (label, caller, variant)


async def test_every_operation_survives_fuzzing(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await build_world(client, settings, wechat)
    doc = await (await client.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(doc, config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    # aiohttp answers HEAD with the GET handler (the document lists both): fuzzing GET
    # covers the code, and HEAD responses have no body to check.
    operations = [op for op in operations if op.method.upper() != "HEAD"]
    assert len(operations) >= 50
    run = Run(
        base_url=str(client.make_url("")).rstrip("/"),
        callers={
            "shopper": world.headers(world.a.shopper),
            "leader": world.headers(world.a.leader),
            "admin": world.headers(world.admin),
        },
        known=_known_ids(world),
    )

    def fuzz_all() -> None:
        for operation in operations:
            run.fuzz(operation)

    await asyncio.to_thread(fuzz_all)

    report = "\n\n".join(f"{label}\n{text}" for (label, _), text in sorted(run.failures.items()))
    assert not run.failures, f"{len(run.failures)} distinct failures:\n\n{report}"
    assert run.calls >= 10 * len(operations)
    assert (await client.get("/healthz")).status == 200


# What the fuzzing found, kept as plain regressions -------------------------------------------


async def test_a_team_ref_longer_than_any_code_is_not_found(
    client: TestClient, settings: Settings
) -> None:
    """Tortoise refuses to filter by a value longer than the column: that was a 500."""
    ref = "X" * 40
    headers = auth(await make_user(), settings)
    for method, path in [
        ("GET", f"/api/v1/teams/{ref}"),
        ("GET", f"/api/v1/teams/{ref}/share"),
        ("POST", f"/api/v1/teams/{ref}/join"),
    ]:
        resp = await client.request(method, path, json={}, headers=headers)
        assert resp.status == 404, (path, await resp.text())
        assert (await resp.json())["code"] == "team_not_found"


async def test_a_pickup_code_longer_than_any_code_is_not_found(
    client: TestClient, settings: Settings
) -> None:
    resp = await client.post(
        "/api/v1/pickups/verify",
        json={"code": "Y" * 30},
        headers=auth(await make_user(Role.LEADER), settings),
    )
    assert resp.status == 404, await resp.text()
    assert (await resp.json())["code"] == "pickup_code_not_found"


async def test_undocumented_answers_found_are_documented(
    client: TestClient, settings: Settings
) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert "404" in doc["paths"]["/api/v1/flash-sales/{sale_id}"]["get"]["responses"]
    op = doc["paths"]["/api/v1/orders/{order_id}/prepay"]["post"]
    [key] = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 128)
    assert {"409", "422"} <= set(op["responses"])
    resp = await client.post(
        "/api/v1/orders/nope/prepay",
        headers={**auth(await make_user(), settings), "Idempotency-Key": ""},
    )
    assert resp.status == 422


async def test_nul_characters_are_refused_not_sent_to_the_database(
    client: TestClient, settings: Settings
) -> None:
    """PostgreSQL cannot store NUL: a NUL in a path, query or body was a 500 there. In a
    URL one guard refuses it (url_has_nul); in a body each field does."""
    headers = auth(await make_user(Role.LEADER), settings)
    cases = [
        ("GET", "/api/v1/teams/A%00B", None, 400),
        ("POST", "/api/v1/teams/A%00B/join", {}, 400),
        ("GET", "/api/v1/products?q=a%00b", None, 400),
        ("POST", "/api/v1/pickups/verify", {"code": "A\u0000B"}, 422),
        ("PUT", "/api/v1/communities/x/pickup-point", {"name": "a", "address": "\u0000"}, 422),
    ]
    for method, path, body, status in cases:
        resp = await client.request(method, path, json=body, headers=headers)
        assert resp.status == status, (path, await resp.text())


async def test_json_nested_beyond_the_parser_is_malformed(
    client: TestClient, settings: Settings
) -> None:
    headers = {**auth(await make_user(), settings), "Content-Type": "application/json"}
    for depth in (990, 100_000):
        body = "[" * depth + "]" * depth
        resp = await client.post("/api/v1/orders", data=body, headers=headers)
        assert resp.status == 400, (depth, await resp.text())
        assert (await resp.json())["code"] == "malformed_json"
