"""Two Jinja environments: chat text (StrictUndefined, no escaping) and HTML (autoescape)."""

from __future__ import annotations

from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def fen(amount: int) -> str:
    """2990 -> '29.90'."""
    return f"{amount // 100}.{amount % 100:02d}"


def chat_environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "chat"),
        undefined=jinja2.StrictUndefined,  # a missing variable fails a test, never sends a blank
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat() per render
    )
    env.filters["fen"] = fen
    return env


def html_environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "pages"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters["fen"] = fen
    return env
