"""Which error codes an endpoint can answer, read from the code it runs.

A view's declaration names its statuses; the codes come from the view itself and every
project function it can reach (``services.x.f(...)``, ``f(...)``, through the modules'
globals): each ``SomeError(ErrorCode.X, ...)`` raised or built there, each
``(SomeError, ErrorCode.X, ...)`` row of a table they read, the checks of the project's
classes they build (``__init__``, ``__post_init__``), and each call of a function
that builds an error from a code it is given (``join_sql.refusal(ErrorCode.TEAM_FULL)``,
asked once which error it builds). So /openapi.json lists what the code can raise, and a
new ``raise`` shows up there without anyone remembering to declare it. What a ``try:`` body
raises is left out when its ``except QunshopError`` answers every project error and raises
nothing again (the error becomes part of the answer, as a join's payment_error).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from qunshop.errors import ErrorCode, QunshopError

PROJECT = ("services.", "miniapp_api.", "qunshop.", "models.")
Found = dict[int, set[ErrorCode]]


def _is_error_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, QunshopError)


def _ours(value: object) -> bool:
    module = getattr(value, "__module__", "") or ""
    return inspect.isfunction(value) and module.startswith(PROJECT)


def _ours_class(value: object) -> bool:
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, type) and module.startswith(PROJECT) and not _is_error_class(value)


def _constructors(cls: type) -> list[Callable[..., Any]]:
    """The project's own __init__ and __post_init__ (a dataclass's validation) of ``cls``."""
    found = []
    for klass in cls.__mro__:
        for name in ("__init__", "__post_init__"):
            method = klass.__dict__.get(name)
            if _ours(method):
                found.append(method)
    return found


def _resolve(node: ast.AST, scope: dict[str, Any]) -> object:
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, scope)
        if isinstance(owner, types.ModuleType) or owner is ErrorCode:
            return getattr(owner, node.attr, None)
    return None


def _rows(value: object) -> Iterator[tuple[Any, ...]]:
    """(error class, code, ...) rows of a module-level table."""
    items = value.values() if isinstance(value, dict) else value
    if isinstance(items, (list, tuple, type({}.values()))):
        for row in items:
            if isinstance(row, tuple) and len(row) >= 2:
                yield row


def _built_by(factory: Callable[..., Any], code: ErrorCode) -> int | None:
    """The status of the error ``factory(..., code, ...)`` builds: the class it declares it
    returns, or else (a factory that picks the class by code) what ``factory(code)`` builds."""
    returns = getattr(factory, "__annotations__", {}).get("return", "")
    declared = factory.__globals__.get(returns) if isinstance(returns, str) else returns  # type: ignore[attr-defined]
    if _is_error_class(declared) and declared is not QunshopError:
        return declared.status  # type: ignore[union-attr]
    if "Error" not in str(returns):
        return None
    try:
        built = factory(code)
    except Exception:
        return None
    return built.status if isinstance(built, QunshopError) else None


def _answers_every_error(handler: ast.ExceptHandler, scope: dict[str, Any]) -> bool:
    """``except QunshopError`` (every project error) that raises nothing again."""
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    if not any(n is not None and _resolve(n, scope) is QunshopError for n in names):
        return False
    return not any(isinstance(n, ast.Raise) for n in ast.walk(handler))


def _caught(tree: ast.AST, scope: dict[str, Any]) -> set[int]:
    """The nodes of each ``try:`` body whose handler answers every project error itself: what
    they raise becomes part of an answer (join_pay's payment_error), not an error answer."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_answers_every_error(h, scope) for h in node.handlers):
            inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def _scan(func: Callable[..., Any], found: Found, calls: list[Callable[..., Any]]) -> None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return
    for top in tree.body:  # the decorator is the declaration, read from the spec itself
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top.decorator_list = []
    scope = func.__globals__  # type: ignore[attr-defined]
    caught = _caught(tree, scope)
    for node in ast.walk(tree):
        if id(node) in caught:
            continue
        if isinstance(node, ast.Call):
            callee = _resolve(node.func, scope)
            first = _resolve(node.args[0], scope) if node.args else None
            if _is_error_class(callee) and isinstance(first, ErrorCode):
                found[callee.status].add(first)  # type: ignore[union-attr]
            elif _ours_class(callee):  # building one of our objects runs its checks
                calls.extend(_constructors(callee))  # type: ignore[arg-type]
            elif _ours(callee):
                calls.append(callee)  # type: ignore[arg-type]
                given = [node.args[0]] if node.args else []
                given += node.args[1:] + [k.value for k in node.keywords]
                for arg in given:  # a code handed to a helper that builds the error
                    code = first if arg is given[0] else _resolve(arg, scope)
                    if isinstance(code, ErrorCode) and (status := _built_by(callee, code)):
                        found[status].add(code)
        elif isinstance(node, ast.Tuple) and len(node.elts) >= 2:
            cls, code = (_resolve(e, scope) for e in node.elts[:2])
            if _is_error_class(cls) and isinstance(code, ErrorCode):
                found[cls.status].add(code)  # type: ignore[union-attr]
        elif isinstance(node, ast.Name) and isinstance(scope.get(node.id), (dict, tuple, list)):
            for cls, code, *_ in _rows(scope[node.id]):
                if _is_error_class(cls) and isinstance(code, ErrorCode):
                    found[cls.status].add(code)


@cache
def reachable_codes(view: Callable[..., Any]) -> dict[int, frozenset[ErrorCode]]:
    """Status -> the codes ``view`` and what it calls can answer with."""
    found: Found = defaultdict(set)
    seen: set[Callable[..., Any]] = set()
    todo: list[Callable[..., Any]] = [view]
    while todo:
        func = inspect.unwrap(todo.pop())
        if func in seen:
            continue
        seen.add(func)
        _scan(func, found, todo)
    return {status: frozenset(codes) for status, codes in found.items()}
