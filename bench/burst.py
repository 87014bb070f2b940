"""A burst driven by wrk: each pre-built request sent once, all released together.

The same measure as a Python client's ``asyncio.gather`` of one request per person, from the
first request sent to the last answer, with every status counted, at a fraction of the
client's CPU (the client shares the server's two cores). Every connection opens first and holds
its first request for ``HOLD_MS``, so the burst measures the server, not TCP set-up.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOLD_MS = 1000
LIMIT_SECONDS = 60  # a burst still unanswered then has failed


@dataclass(frozen=True)
class Burst:
    seconds: float  # the first request sent to the last answer
    statuses: Counter[int]

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def burst(url: str, lines: list[str], *, connections: int) -> Burst:
    """``lines`` as bench/burst.lua reads them: METHOD \\t PATH \\t AUTH \\t TYPE \\t BODY."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (make bench does it)")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    try:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{LIMIT_SECONDS}s", "--timeout", "60s"]
        cmd += ["-s", str(HERE / "burst.lua"), url, "--", handle.name, str(HOLD_MS)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        Path(handle.name).unlink()

    if "burst unfinished" in out:
        raise RuntimeError(f"not every request was answered within {LIMIT_SECONDS} s:\n{out}")
    seconds = float(re.search(r"^burst seconds ([\d.]+)$", out, re.M).group(1))
    statuses = Counter(
        {int(s): int(n) for s, n in re.findall(r"^burst status (\d+) (\d+)$", out, re.M)}
    )
    return Burst(round(seconds, 3), statuses)
