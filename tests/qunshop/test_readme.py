"""The README's shell steps reach the server wherever it listens, not only on 8080."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def _commands() -> list[str]:
    """The README's shell lines, a line continued with a backslash joined to the next."""
    text = "\n".join(SHELL_BLOCK.findall(README.read_text(encoding="utf-8")))
    return [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_chat_simulator_and_curl_steps_go_to_the_server_named_once() -> None:
    """``QS=…`` names the server once; a simulator started without ``--url`` or a curl of a
    fixed port would miss a server started with ``qunshop serve --port 8101``."""
    lines = _commands()
    assert any(line.startswith("QS=http://127.0.0.1:8080") for line in lines)
    chats = [line for line in lines if re.search(r"qunshop chat\b", line)]
    assert chats and all("--url $QS" in line for line in chats), chats
    fixed = [line for line in lines if re.search(r"(localhost|127\.0\.0\.1):8080/", line)]
    assert not fixed, fixed
