"""Liveness, readiness and the API's own description."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from miniapp_api.http import respond
from miniapp_api.openapi import build_openapi
from miniapp_api.schemas import Health, Readiness
from miniapp_api.spec import endpoint
from services import health

API_VERSION = "1.0.0"


@endpoint(summary="The process is alive", tags=("ops",), response=Health)
async def healthz() -> Health:
    return Health(status="ok")


@endpoint(summary="Database and Redis answer", tags=("ops",), response=Readiness, errors=(503,))
async def readyz(*, redis: Redis) -> web.Response:
    checks = await health.readiness(redis=redis)
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return respond(body, 200 if ready else 503)  # the status is known only now


async def openapi_json(request: web.Request) -> web.Response:
    doc = build_openapi(request.app, title="Qunshop API", version=API_VERSION)
    return web.json_response(doc)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/openapi.json", openapi_json)
