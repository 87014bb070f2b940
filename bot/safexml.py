"""Bounded bodies and hardened XML: nothing reaches a parser unchecked.

Any markup declaration outside CDATA (a DOCTYPE, ENTITY, comment) is refused before the
text is parsed, and expat refuses a DOCTYPE the moment it meets one (defusedxml's
``forbid_dtd``; it also catches one hidden behind a CDATA marker inside a processing
instruction, which the text check cannot see). So there is no DTD: no entity expansion, no
external entities. Only then does wechatpy's xmltodict (for events) see the text.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn
from xml.parsers.expat import ExpatError, ParserCreate

from aiohttp import web

MAX_WEBHOOK_BYTES = 64 * 1024
_MAX_DEPTH = 9  # levels below the root; WeChat nests a few at most
_NOT_CDATA = re.compile(r"<!(?!\[CDATA\[)")  # a "<!" that does not open a CDATA section
_REFUSED = "markup declarations (DTD, entities, comments) are not accepted"


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
    if "\x00" in text:
        raise BadXml(_REFUSED)
    if _declaration_outside_cdata(text):
        raise BadXml(_REFUSED)
    try:
        ((tag, fields),) = _elements(text).items()
    except (ExpatError, ValueError) as exc:
        raise BadXml(f"{type(exc).__name__}: {exc}") from exc
    if tag != "xml":
        raise BadXml(f"unexpected root element {tag[:32]!r}")
    return fields if isinstance(fields, dict) else {}  # a root without children


def _declaration_outside_cdata(text: str) -> bool:
    if _NOT_CDATA.search(text) is None:  # every "<!" opens CDATA: no declaration anywhere
        return False
    # Rare: a "<!" inside a message's text, or an attack. Skip the CDATA sections with
    # str.find, in linear time (a regex deleting them, ``.*?`` per opening, took a second
    # over 64 KiB of unterminated openings, before any signature was checked).
    at = text.find("<!")
    while at != -1:
        if not text.startswith("<![CDATA[", at):
            return True
        end = text.find("]]>", at + 9)
        if end == -1:  # unterminated: what follows is not known to be CDATA
            return True
        at = text.find("<!", end + 3)
    return False


def _refuse_dtd(*_: object) -> NoReturn:
    # A handler's exception stops expat at once: the internal subset is never read.
    raise BadXml(_REFUSED)


def _elements(text: str) -> dict[str, Any]:
    """``{root tag: children}`` from expat's events: a child with children is a dict, any
    other its text, and a repeated tag keeps its last value.

    Not ElementTree: its parser costs more to construct than this small tree costs to
    build, and a DOCTYPE refused by its target only stops the tree, not the parse."""
    open_elements: list[dict[str, Any]] = [{}]  # the children so far of each open element
    chunks: list[str] = []  # the text since the last start tag: a leaf's text at its end

    def start(tag: str, _attributes: object) -> None:
        if len(open_elements) > _MAX_DEPTH + 1:  # refused before the rest is read
            raise BadXml("XML nested too deeply")
        open_elements.append({})
        chunks.clear()

    def end(tag: str) -> None:
        children = open_elements.pop()
        open_elements[-1][tag] = children or "".join(chunks)

    parser = ParserCreate()  # no namespace processing: WeChat's XML has no namespaces
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chunks.append
    parser.Parse(text, True)  # a str: any encoding declared inside is ignored
    return open_elements[0]
