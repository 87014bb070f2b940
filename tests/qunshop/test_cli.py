"""The CLI as a user runs it: one clear line and a non-zero exit on bad start-up input."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qunshop.assembly import cli
from qunshop.assembly.cli import build_parser
from qunshop.config import Mode, Settings, development_by_omission
from qunshop.errors import StartupError

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT = {"QUNSHOP_MODE": "development"}  # said, not left to the default


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
    result = run_cli(
        "serve",
        env={"QUNSHOP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", **DEVELOPMENT},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "QUNSHOP_DATABASE_URL" in last and "refused" in last.lower()


def test_unreachable_redis(database_url: str) -> None:
    env = {
        "QUNSHOP_DATABASE_URL": database_url,
        "QUNSHOP_REDIS_URL": "redis://127.0.0.1:1/0",
        **DEVELOPMENT,
    }
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


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QUNSHOP_DATABASE_URL": "postgres://qunshop@db.internal:5432/qunshop"}, "database"),
        ({"QUNSHOP_HOST": "0.0.0.0"}, "0.0.0.0"),
    ],
)
def test_a_deployment_that_forgets_qunshop_mode_does_not_start(
    env: dict[str, str], says: str
) -> None:
    """Development mode hands out admin tokens: it is never what a forgotten setting means."""
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "QUNSHOP_MODE is not set" in line and says in line and "Traceback" not in line


def test_development_mode_is_the_default_only_for_the_local_demo(
    caplog: pytest.LogCaptureFixture,
) -> None:
    demo = Settings(_env_file=None)
    assert demo.mode is Mode.DEVELOPMENT
    assert development_by_omission(demo, "127.0.0.1") is None
    assert development_by_omission(demo, "localhost") is None
    assert development_by_omission(demo, "::1") is None
    assert development_by_omission(demo, "0.0.0.0") is not None
    named = Settings(_env_file=None, database_url="postgres://q@db:5432/q")
    assert development_by_omission(named, "127.0.0.1") is not None
    chosen = Settings(_env_file=None, mode=Mode.DEVELOPMENT, database_url="postgres://q@db/q")
    assert development_by_omission(chosen, "0.0.0.0") is None
    with caplog.at_level("WARNING", logger="qunshop"):
        cli.check_mode(chosen, "0.0.0.0")  # allowed when said, and loud
    assert "DEVELOPMENT MODE" in caplog.text
    with pytest.raises(StartupError):
        cli.check_mode(named, "127.0.0.1")
