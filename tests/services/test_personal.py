"""Personal details sealed with AES-256-GCM: bound to their owner, refused with another key."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from qunshop.errors import Unavailable
from services.personal import data_key, seal, unseal

KEY = base64.b64encode(bytes(range(32))).decode()


def test_sealed_values_open_for_their_owner_only(make_settings: Any) -> None:
    settings = make_settings(personal_data_key=KEY)
    key, owner = data_key(settings), uuid.uuid4()
    sealed = seal("13800138000", key=key, owner=owner)
    assert sealed.startswith("v1:") and "13800138000" not in sealed
    assert seal("13800138000", key=key, owner=owner) != sealed  # a fresh nonce each time
    assert unseal(sealed, key=key, owner=owner) == "13800138000"
    with pytest.raises(Unavailable):
        unseal(sealed, key=key, owner=uuid.uuid4())  # copied onto another person's row
    with pytest.raises(Unavailable):
        unseal(sealed, key=data_key(make_settings()), owner=owner)  # the derived key
    assert seal("", key=key, owner=owner) == "" and unseal("", key=key, owner=owner) == ""


def test_the_key_must_be_32_bytes_of_base64(make_settings: Any) -> None:
    with pytest.raises(ValidationError):
        make_settings(personal_data_key=base64.b64encode(b"short").decode())
    with pytest.raises(ValidationError):
        make_settings(personal_data_key="not base64!")
