"""The template environments: globals, strict undefined, the fen filter."""

from __future__ import annotations

import jinja2
import pytest

from qunshop.templates import chat_environment, fen


def test_globals_are_overlaid_by_the_templates_own() -> None:
    env = chat_environment()
    env.globals["shop"] = "群团购"
    template = env.from_string("{{ shop }} {{ extra }}", {"extra": 1})

    assert template.render() == "群团购 1"
    assert template.render(extra=2) == "群团购 2"  # a render value wins


def test_chat_text_has_none_of_jinjas_default_globals() -> None:
    # Each render copies the globals; chat text uses none of range, lipsum, namespace...
    with pytest.raises(jinja2.UndefinedError):
        chat_environment().from_string("{{ range(2) | list }}").render()


def test_a_missing_value_fails_and_fen_formats() -> None:
    env = chat_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nobody }}").render()
    assert env.from_string("{{ 2990 | fen }}").render() == fen(2990) == "29.90"
