"""The CLI as a user runs it: one clear line and a non-zero exit on bad start-up input."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qunshop import cli
from qunshop.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUNSHOP_")}
    return subprocess.run(
        [sys.executable, "-m", "qunshop", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("command", ["serve", "migrate", "demo"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([command, "--help"])
    assert exc.value.code == 0
    assert "usage: qunshop " + command in capsys.readouterr().out


def test_malformed_database_url() -> None:
    result = run_cli("serve", env={"QUNSHOP_DATABASE_URL": "mysql://root@localhost/x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "QUNSHOP_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database() -> None:
    result = run_cli("serve", env={"QUNSHOP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "QUNSHOP_DATABASE_URL" in last and "refused" in last.lower()


def test_unreachable_redis(database_url: str) -> None:
    env = {"QUNSHOP_DATABASE_URL": database_url, "QUNSHOP_REDIS_URL": "redis://127.0.0.1:1/0"}
    assert run_cli("migrate", env=env).returncode == 0
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "QUNSHOP_REDIS_URL" in last


def test_placeholder_secrets_refused_in_production() -> None:
    result = run_cli("serve", env={"QUNSHOP_MODE": "production"})
    assert result.returncode == 2
    assert "placeholder secrets are refused" in result.stderr


def test_settle_gc_freezes_startup_and_spaces_young_passes() -> None:
    before = gc.get_threshold()
    try:
        kept = type("Kept", (), {})()  # a tracked object start-up made
        cli.settle_gc()
        assert gc.get_threshold() == cli.GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of every walk
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
