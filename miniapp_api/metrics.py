"""``GET /metrics``: the Prometheus text exposition, for the operators' scraper only.

With ``QUNSHOP_METRICS_TOKEN`` set, the scraper sends ``Authorization: Bearer <token>``;
without one, only a loopback client may read it (a process-local scraper or an SSH
tunnel), and in production nobody: exposing it is a choice, never an omission.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import RootModel

from miniapp_api.remote import client_address
from miniapp_api.spec import endpoint
from qunshop.config import Mode
from qunshop.errors import ErrorCode, Forbidden, Unauthenticated
from qunshop.keys import CLOCK, METRICS, SETTINGS

if TYPE_CHECKING:
    from qunshop.config import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the format render() writes


class MetricsText(RootModel[str]):
    """Prometheus text exposition format 0.0.4."""


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


def check_scraper(request: web.Request, settings: Settings) -> None:
    token = settings.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthenticated(
                ErrorCode.UNAUTHENTICATED, "the metrics token is missing or wrong"
            )
        return
    if settings.mode is Mode.PRODUCTION:
        raise Forbidden(ErrorCode.FORBIDDEN, "set QUNSHOP_METRICS_TOKEN to expose the metrics")
    if not _loopback(client_address(request)):
        raise Forbidden(ErrorCode.FORBIDDEN, "metrics are served to loopback clients only")


@endpoint(
    summary="Prometheus metrics (text exposition format)",
    tags=("ops",),
    response=MetricsText,
    errors=(401, 403),
    response_media=CONTENT_TYPE,
)
async def metrics(*, request: web.Request) -> web.Response:
    app = request.config_dict
    check_scraper(request, app[SETTINGS])
    collected = app[METRICS]
    await collected.refresh(app[CLOCK].now())
    return web.Response(body=collected.render(), headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
