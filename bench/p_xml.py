"""`python -m bench.p_xml`: how fast the webhook XML reader answers hostile bodies.

Safe mode parses the envelope before the signature is checked, so anyone can send these;
each should be read or refused in milliseconds. The tests only check the answer
(tests/bot/test_safexml.py); the time is measured here, best of three, on an idle machine.
"""

from __future__ import annotations

import contextlib
import sys
import timeit

from bot.safexml import BadXml, parse_xml

BODIES = {
    "openings": "<xml>" + "<a>" * 21_000,
    "cdata-openings": "<xml><a>" + "<![CDATA[" * 7_000,
    "declaration-then-openings": "<!x" + "<![CDATA[" * 7_000,
    "unterminated-cdata": "<xml><a><![CDATA[" + "x" * 65_000,
    "unclosed-text": "<xml><a>" + "x" * 65_000,
    "late-failure": "<xml>" + "<a>x</a>" * 8_000 + "<",
    "flat-and-valid": "<xml>" + "<a>x</a>\n" * 7_000 + "</xml>",
}


def _read(text: str) -> None:
    with contextlib.suppress(BadXml):
        parse_xml(text)


def main() -> int:
    for name, text in BODIES.items():
        best = min(timeit.repeat(lambda text=text: _read(text), number=1, repeat=3))
        sys.stdout.write(f"{name:28} {len(text):>6} chars  {best * 1000:7.2f} ms\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
