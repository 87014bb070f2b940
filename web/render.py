"""The HTML environment (autoescaped) and the one way a page or an error page is rendered."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from qunshop.config import Mode
from qunshop.keys import SETTINGS
from qunshop.templates import TEMPLATES_DIR, fen, goods_name, order_state, person_name, sku_shown
from web import audit_words
from web.labels import (
    activity_kind,
    audit_action,
    campaign_state,
    local_time,
    percent,
    plain_json,
    role_name,
    team_state,
)

if TYPE_CHECKING:
    from qunshop.keys import Resources

TEMPLATES = web.AppKey("qunshop.web_templates", jinja2.Environment)
SCRIPT_DIR = TEMPLATES_DIR / "web" / "js"
HTML = "text/html"


def _script(name: str) -> str:
    return (SCRIPT_DIR / name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "web"),
        undefined=jinja2.StrictUndefined,  # a missing value fails a test, never renders blank
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        fen=fen,
        local_time=local_time,
        epoch_ms=epoch_ms,
        order_state=order_state,
        person_name=person_name,
        goods_name=goods_name,
        sku_shown=sku_shown,
        team_state=team_state,
        activity_kind=activity_kind,
        campaign_state=campaign_state,
        role_name=role_name,
        audit_action=audit_action,
        audit_values=audit_words.values,
        audit_target=audit_words.target,
        record_state=audit_words.state,
        plain_json=plain_json,
        percent=percent,
    )
    # The pages' one inline script, and its hash for the Content-Security-Policy: the
    # script is the same on every page, so no per-response nonce is needed.
    script = _script("page.js")
    env.globals.update(page_script=script)
    env.globals["csp"] = (
        "default-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; "
        f"script-src {_csp_hash(script)}; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return env


def render(
    config: Resources,
    name: str,
    values: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    env = config[TEMPLATES]
    settings = config[SETTINGS]
    body = env.get_template(name).render(
        values, base_url=settings.public_base_url, development=settings.mode is Mode.DEVELOPMENT
    )
    response = web.Response(text=body, status=status, content_type=HTML, charset="utf-8")
    response.headers["Content-Security-Policy"] = env.globals["csp"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if headers:
        response.headers.update(headers)
    return response
