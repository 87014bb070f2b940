"""Mobile numbers written into free text, masked where the text is kept but the number must
not be: an erased person's claims and notes (``services.privacy_roles``) and every audit
entry (``services.audit``). One pattern, one mask."""

from __future__ import annotations

import re
from typing import Any

# A mainland mobile number, bare or with +86 and spaces or dashes, not inside a longer number
# (an order number or a licence).
MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
MASKED = "[号码已删除]"


def mask_mobiles(text: str) -> str:
    return MOBILE.sub(MASKED, text)


def mask_within(value: Any) -> Any:
    """``value`` (JSON: strings, lists, dicts, scalars) with every string masked."""
    if isinstance(value, str):
        return mask_mobiles(value)
    if isinstance(value, list):
        return [mask_within(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_within(v) for k, v in value.items()}
    return value
