"""A P2 profile by stage: ``python -m bench.spy_stages STACKS [US_PER_MESSAGE]``.

``STACKS`` is py-spy's collapsed output (``python -m bench.p2_webhook --spy STACKS``). Each
sample goes to the stage of its deepest frame that a rule below names; samples waiting in a
socket write or ``epoll`` are left out (py-spy counts a thread that waits for a CPU as busy,
and on a loaded machine the write that wakes PostgreSQL or Redis is where it waits). With
``US_PER_MESSAGE`` (the server's CPU a message), each share is also given in µs.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

# (stage, a pattern on one frame); the deepest frame that matches names the sample's stage.
RULES = [
    (
        "aiohttp: request in, routing",
        r"RequestHandler\.(data_received|start)|_read_ready|BaseRequest|Application\._handle \("
        r"|UrlDispatcher|Resource\.resolve|URL\.build|StreamReader",
    ),
    (
        "aiohttp: response out",
        r"finish_response|Response\.(prepare|write_eof|_start)|StreamResponse|StreamWriter",
    ),
    ("middleware: request id", r"request_id_middleware"),
    ("middleware: metrics", r"metrics_middleware"),
    ("middleware: errors", r"error_middleware \(qunshop"),
    ("middleware: page errors", r"page_error_middleware"),
    ("middleware: principal", r"principal_middleware"),
    ("middleware: the one (round 6)", r"edge_middleware\.<locals>\.edge"),
    ("middleware: caller (round 6)", r"read_caller"),
    ("webhook: refusing (webhook metrics)", r"refusing\.<locals>\.guarded"),
    ("webhook: receive's own lines", r"receive \(bot/wechat_oa"),
    ("webhook: read_body", r"read_body"),
    ("xml: both parses", r"parse_xml|_elements|_declaration_outside"),
    ("crypto: open (verify, AES, base64)", r"Account\.open"),
    ("update: from_xml", r"from_xml"),
    ("moderation: media-check test", r"read_media_check_event"),
    ("answer_xml's own lines", r"answer_xml"),
    ("claim (gate batcher, counted)", r"claim \(bot/dedupe"),
    ("reply budget (task, wait)", r"dispatch_within"),
    ("render_xml", r"render_xml"),
    ("crypto: seal (AES, base64, SHA-1)", r"seal_xml"),
    ("dispatch task: dispatcher", r"_dispatch \(bot/budget|ChatDispatcher"),
    ("dispatch: senders (batcher call)", r"Senders\.__call__"),
    ("dispatch: help template", r"show_help|Context\.render"),
    ("dispatch: router match", r"Router\.match|Command|command_parts"),
    ("batch: Redis gate script", r"_admit_all"),
    ("batch: PostgreSQL senders", r"_find_all"),
    ("batch: other", r"TurnBatcher\._send|TurnBatcher\._flush"),
    ("tasks: tracker", r"TaskTracker"),
]
WAITS = ("SelectorSocketTransport.write", "EpollSelector.select", "writelines")
COMPILED = [(name, re.compile(pattern)) for name, pattern in RULES]


def stage(frames: list[str]) -> str:
    found = "event loop, other"
    for frame in frames:
        for name, pattern in COMPILED:
            if pattern.search(frame):
                found = name
                break
    return found


def main() -> None:
    path = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else None
    counts: Counter[str] = Counter()
    waits = 0
    with open(path) as handle:
        for line in handle:
            stack, count = line.rstrip().rsplit(" ", 1)
            frames = stack.split(";")
            if any(wait in frames[-1] for wait in WAITS):
                waits += int(count)
                continue
            counts[stage(frames)] += int(count)
    total = sum(counts.values())
    out = [f"{total} samples ({waits} waiting in a write or epoll, left out)"]
    for name, count in counts.most_common():
        share = count / total
        micro = f" {share * scale:6.1f} µs" if scale is not None else ""
        out.append(f"{share * 100:5.1f} %{micro}  {name}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
