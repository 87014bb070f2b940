"""The template environments: plain-dict globals, strict undefined, the fen filter."""

from __future__ import annotations

import jinja2
import pytest

from qunshop.templates import chat_environment, fen


def test_globals_are_overlaid_by_the_templates_own() -> None:
    env = chat_environment()
    env.globals["shop"] = "群团购"
    template = env.from_string("{{ shop }} {{ range(2) | list }} {{ extra }}", {"extra": 1})

    assert template.render() == "群团购 [0, 1] 1"
    assert template.render(extra=2) == "群团购 [0, 1] 2"  # a render value wins


def test_a_missing_value_fails_and_fen_formats() -> None:
    env = chat_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nobody }}").render()
    assert env.from_string("{{ 2990 | fen }}").render() == fen(2990) == "29.90"
