"""The keyword filter: the operators' word list (``banned_words``) as one Aho-Corasick
automaton (pyahocorasick), so a text is searched for every word in one pass.

Words and texts are compared normalised: NFKC (full-width letters and digits fold to their
ASCII forms), case-folded, with spaces, punctuation and symbols dropped, so "微 信-加 我"
still contains "微信加我". The automaton is rebuilt when the list changed: its version (the
number of words and the newest word's time) is read from the database on every check, one
indexed aggregate, so every worker sees an operator's edit at its next check.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ahocorasick
from tortoise import connections
from tortoise.transactions import in_transaction

from models.moderation import BannedWord
from qunshop.errors import ErrorCode, Invalid, NotFound
from services import audit
from services.auth import Principal

WORD_MAX = 64
_DROPPED = ("P", "Z", "S", "C")  # punctuation, separators, symbols, controls


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(_DROPPED))


@dataclass(frozen=True)
class Hit:
    word: str
    category: str


class _Automaton:
    """The built automaton and the version of the list it was built from (one per process:
    a pure function of the table, checked against the table's version at every use)."""

    version: tuple[Any, ...] | None = None
    automaton: Any = None


_BUILT = _Automaton()
_VERSION_SQL = "SELECT count(*) AS n, max(created_at) AS newest FROM banned_words"


async def _automaton() -> Any:
    rows = await connections.get("default").execute_query_dict(_VERSION_SQL)
    version = (rows[0]["n"], rows[0]["newest"])
    if version != _BUILT.version:
        built = ahocorasick.Automaton()
        for word, category in await BannedWord.all().values_list("word", "category"):
            built.add_word(word, Hit(word=word, category=category))
        if len(built):
            built.make_automaton()
        _BUILT.automaton, _BUILT.version = (built if len(built) else None), version
    return _BUILT.automaton


async def find(text: str) -> Hit | None:
    """The first banned word ``text`` contains (normalised), or None."""
    automaton = await _automaton()
    if automaton is None:
        return None
    for _end, hit in automaton.iter(normalise(text)):
        return hit  # type: ignore[no-any-return]
    return None


async def words() -> list[BannedWord]:
    return await BannedWord.all().order_by("category", "word")


async def add_words(
    *, actor: Principal, words: list[str], category: str, now: datetime
) -> list[BannedWord]:
    """Add words to the list; ones already there (normalised) are skipped."""
    audit.ensure_admin(actor)
    wanted = []
    for raw in words:
        word = normalise(raw)
        if not word or len(word) > WORD_MAX:
            raise Invalid(ErrorCode.WORD_INVALID, f"not a word the filter can match: {raw!r}")
        wanted.append(word)
    added = []
    async with in_transaction():
        for word in dict.fromkeys(wanted):
            if await BannedWord.exists(word=word):
                continue  # already listed
            added.append(
                await BannedWord.create(word=word, category=category.strip(), created_at=now)
            )
        if added:
            await audit.record(
                actor=actor,
                action="moderation.words.add",
                target=f"banned_words:{category.strip() or '-'}",
                before={},
                after={"words": [w.word for w in added]},
                now=now,
            )
    return added


async def remove_word(*, actor: Principal, word_id: str, now: datetime) -> None:
    audit.ensure_admin(actor)
    try:
        found = await BannedWord.get_or_none(id=uuid.UUID(word_id))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(ErrorCode.WORD_NOT_FOUND, "no such word in the list")
    async with in_transaction():
        await found.delete()
        await audit.record(
            actor=actor,
            action="moderation.words.remove",
            target=f"banned_words:{found.category or '-'}",
            before={"word": found.word},
            after={},
            now=now,
        )
