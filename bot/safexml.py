"""Bounded bodies and hardened XML: nothing reaches a parser unchecked.

Any markup declaration outside CDATA (a DOCTYPE, ENTITY, comment) is refused before the
text is parsed, so there is no DTD: no entity expansion, no external entities, exactly what
defusedxml's ``forbid_dtd`` guards, without building its Python parser for every message.
Only then does the stdlib's C parser (or wechatpy's xmltodict, for events) see the text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError, fromstring

from aiohttp import web

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MAX_WEBHOOK_BYTES = 64 * 1024
_MAX_DEPTH = 8  # WeChat's XML is two or three levels deep
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)


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
    try:  # WeChat sends UTF-8; a UTF-16 body would hide a DOCTYPE from the check below
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise BadXml("the body is not UTF-8") from exc
    outside_cdata = _CDATA.sub("", text) if "<![CDATA[" in text else text
    if "<!" in outside_cdata or "\x00" in text:
        raise BadXml("markup declarations (DTD, entities, comments) are not accepted")
    try:
        root = fromstring(text)  # a str: any encoding declared inside is ignored
    except (ParseError, ValueError) as exc:
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
