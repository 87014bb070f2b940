"""What every benchmark shares: a fresh database, the server as a subprocess, wrk, results."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRETS = {
    "wechat_appid": "wxbench0000000001",
    "wechat_secret": "bench-wechat-secret",
    "wechat_token": "benchtoken",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wecom_corp_id": "wwbench",
    "wecom_secret": "bench-wecom-secret",
    "wecom_token": "benchwecom",
    "wecom_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wecom_bot_token": "benchbot",
    "wecom_bot_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "pay_mch_id": "1230000109",
    "pay_api_key": "192006250b4c09247ec02edce69f6a2d",
    "secret_key": "bench-secret-key-for-tokens",
}


@dataclass
class Result:
    id: str
    value: float
    unit: str
    goal: float
    better: str  # "higher" or "lower"
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.better == "higher" else self.value <= self.goal

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        return data

    def line(self) -> str:
        mark = "met" if self.met else "NOT met"
        op = ">=" if self.better == "higher" else "<="
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.id}: {self.value:g} {self.unit} (goal {op} {self.goal:g}: {mark}) [{extra}]"


def database_url() -> str:
    return os.environ.get(
        "QUNSHOP_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qunshop_bench"
    )


def redis_url() -> str:
    return os.environ.get("QUNSHOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")


def _dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _on_database(url: str, name: str) -> str:
    """The same server's database ``name``: the URL's path replaced, its query (a Unix
    socket's ``?host=``) kept."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def fresh_database() -> str:
    """Drop and create the bench database, then migrate it with the real CLI."""
    url = database_url()
    name = _database_name(url)
    conn = await asyncpg.connect(_dsn(_on_database(url, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    env = server_env()
    subprocess.run(
        [sys.executable, "-m", "qunshop", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.Redis.from_url(redis_url())
    await client.flushdb()
    await client.aclose()
    return url


def postgres_cpu_seconds() -> float | None:
    """User plus system CPU the bench database's PostgreSQL backends have used so far (from
    /proc: their titles read ``postgres: ... <user> <database> <client> ...``); None when the
    server is not on this machine. The server's pool keeps its backends for the whole run."""
    name = _database_name(database_url())
    total, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
            if not title or title[0] != b"postgres:" or name.encode() not in title:
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        total += int(stat[11]) + int(stat[12])
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


async def connect() -> asyncpg.Connection:
    return await asyncpg.connect(_dsn(database_url()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUNSHOP_")}
    values: dict[str, Any] = {
        "mode": "test",
        "database_url": database_url(),
        "redis_url": redis_url(),
        "log_level": "WARNING",
        **BENCH_SECRETS,
        **extra,
    }
    env.update({f"QUNSHOP_{k.upper()}": str(v) for k, v in values.items()})
    return env


class Server:
    """``python -m qunshop serve`` in its own process; its peak RSS is read from /proc."""

    def __init__(self, *args: str, **settings: Any) -> None:
        self.port = free_port()
        self.args = args
        self.env = server_env(**settings)
        self.log = tempfile.NamedTemporaryFile(prefix="qunshop-bench-", suffix=".log")  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> float:
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qunshop", "serve", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        async with aiohttp.ClientSession() as http:
            while time.perf_counter() - self.started_at < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(Path(self.log.name).read_text(errors="replace")[-3000:])
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return time.perf_counter() - self.started_at
                await asyncio.sleep(0.05)
        raise TimeoutError("server did not start")

    def cpu_seconds(self) -> float:
        """User plus system CPU the server process has used so far (from /proc)."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return round(int(match.group(1)) / 1024, 1) if match else 0.0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@contextlib.contextmanager
def lua_script(text: str) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(text)
    try:
        yield handle.name
    finally:
        os.unlink(handle.name)


@dataclass(frozen=True)
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx plus socket errors


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    script: str | None = None,
    threads: int = 1,
    extra: list[str] | None = None,
) -> WrkRun:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (make bench does it)")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    cmd += extra or []
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def parse(v: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", v)
        return _ms(m.group(1), m.group(2))

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkRun(
        rps=rps, p50_ms=parse(pct["50"]), p99_ms=parse(pct["99"]), requests=requests, errors=errors
    )


def paced_script(base: str, rate_per_connection: float) -> str:
    """A wrk script that paces each connection, so the load is about a target rate."""
    delay_ms = max(int(1000 / rate_per_connection), 1)
    return base + f"\nfunction delay()\n  return {delay_ms}\nend\n"


def write_results(results: list[Result], path: Path) -> None:
    path.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
