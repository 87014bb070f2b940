"""Bounded bodies and hardened XML: nothing reaches wechatpy's parser unchecked.

defusedxml refuses any DTD (so no entity expansion, no external entities) before
xmltodict, inside wechatpy.parse_message, ever sees the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MAX_WEBHOOK_BYTES = 64 * 1024
_MAX_DEPTH = 8  # WeChat's XML is two or three levels deep


class BadXml(Exception):
    """Malformed, hostile or unexpected XML: answered 400."""


async def read_body(request: web.Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    """The raw body, or 413 as soon as it is known to be larger than ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The children of the ``<xml>`` root as a dict (text for leaves, dicts for nested)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise BadXml(f"{type(exc).__name__}: {exc}") from exc
    if root.tag != "xml":
        raise BadXml(f"unexpected root element {root.tag[:32]!r}")
    return _children(root, 0)


def _children(element: Element, depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise BadXml("XML nested too deeply")
    fields: dict[str, Any] = {}
    for child in element:
        fields[child.tag] = _children(child, depth + 1) if len(child) else (child.text or "")
    return fields
