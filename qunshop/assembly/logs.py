"""Logging set up once at start: plain lines for people, JSON lines when asked.

``QUNSHOP_LOG_FORMAT=json`` writes one JSON object per line (python-json-logger), with the
fields a log line carries as ``extra`` (the access log's method, path, status, duration and
request id) as keys of their own. Every line made while a request or a chat update is
handled carries its ``request_id`` and ``update_key`` (``qunshop.logcontext``). APScheduler
reports every routine job run at INFO; those lines are demoted to DEBUG, so a server at INFO
logs what happened, not that the clock ticked.
"""

from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from qunshop.logcontext import REQUEST_ID, UPDATE_KEY

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message"]
ROUTINE = ("apscheduler.executors", "apscheduler.scheduler")

LogFormat = Literal["text", "json"]


class Routine(logging.Filter):
    """On a handler: APScheduler's INFO records become DEBUG ones, dropped unless DEBUG is on.

    A handler's filter, not a logger's: a logger's filters see only the records made on that
    very logger, and APScheduler logs on children (apscheduler.executors.default).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith(ROUTINE):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class Context(logging.Filter):
    """On a handler: the request id and the chat update key of the context the record was
    made in, as the record's ``request_id`` and ``update_key`` (JSON keys of their own).
    A value the call gave as ``extra`` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        key = UPDATE_KEY.get()
        if key is not None and not hasattr(record, "update_key"):
            record.update_key = key
        return True


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, fmt: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(Routine())
    handler.addFilter(Context())
    logging.basicConfig(level=level.upper(), handlers=[handler])  # no-op if configured
