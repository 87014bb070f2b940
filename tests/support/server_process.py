"""Run the real server as a subprocess (``python -m qunshop serve``) for restart tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(*, database_url: str, redis_url: str, api_base: str, **extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUNSHOP_")}
    values: dict[str, Any] = {
        "mode": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "wechat_api_base": api_base,
        "pay_api_base": api_base,
        "wecom_api_base": api_base,
        **TEST_SECRETS,
        **extra,
    }
    env.update({f"QUNSHOP_{k.upper()}": str(v) for k, v in values.items()})
    return env


class ServerProcess:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.env = env
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="qunshop-server-", suffix=".log")  # noqa: SIM115
        self._last_output = ""  # what the log held when it was closed (and deleted)

    async def start(self, timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qunshop", "serve", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.output())
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("the server did not come up")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crash or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self._close_log()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    async def stop_async(self, timeout: float = 10.0) -> None:
        """As ``stop()``, without blocking the loop: proxies in this process keep serving the
        server's last queries while it shuts down."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            deadline = asyncio.get_running_loop().time() + timeout
            while self.proc.poll() is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        self.stop()

    def _close_log(self) -> None:
        if not self.log.closed:
            self._last_output = self.output()
            self.log.close()

    def output(self) -> str:
        if self.log.closed:
            return self._last_output
        return Path(self.log.name).read_text(errors="replace")
