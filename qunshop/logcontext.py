"""What every log line of a request (or of a chat update) carries: its request id and the
update's dedupe key. Context variables, so the tasks a request spawns carry them too (a task
copies the context it was created in); the log handler's filter (``qunshop.assembly.logs``) copies
them onto each record."""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("qunshop_request_id", default=None)
UPDATE_KEY: ContextVar[str | None] = ContextVar("qunshop_update_key", default=None)
