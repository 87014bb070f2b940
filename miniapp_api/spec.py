"""What each JSON endpoint takes and gives, declared beside the view; /openapi.json reads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    auth: bool = False
    optional_auth: bool = False  # with auth: readable without a token too
    idempotent_key: bool = False
    errors: tuple[int, ...] = ()
    # Non-JSON endpoints (the pay notify XML) describe their media type here.
    request_media: str = "application/json"
    response_media: str = "application/json"


def endpoint(**kwargs: Any) -> Callable[[F], F]:
    spec = EndpointSpec(**kwargs)

    def mark(view: F) -> F:
        view.__endpoint__ = spec  # type: ignore[attr-defined]
        return view

    return mark


def spec_of(view: Any) -> EndpointSpec | None:
    return getattr(view, "__endpoint__", None)
