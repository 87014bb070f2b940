from __future__ import annotations

import pytest
from pydantic import ValidationError

from qunshop.assembly.cli import build_parser, load_settings, serve_settings
from qunshop.config import DEV_AES_KEY, Mode, Settings
from qunshop.errors import StartupError
from tests.conftest import TEST_SECRETS


def test_defaults_run_embedded_in_development() -> None:
    s = Settings(_env_file=None)
    assert s.mode is Mode.DEVELOPMENT
    assert s.database_url is None  # the embedded PostgreSQL
    assert s.redis_url is None and s.single_process
    assert s.port == 8080
    assert s.timezone == "Asia/Shanghai"
    assert s.wechat_aes_key.get_secret_value() == DEV_AES_KEY
    assert len(DEV_AES_KEY) == 43


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNSHOP_PORT", "9090")
    monkeypatch.setenv("QUNSHOP_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("QUNSHOP_WECHAT_API_BASE", "http://127.0.0.1:1234/")
    s = Settings(_env_file=None)
    assert s.port == 9090
    assert s.redis_url == "redis://127.0.0.1:6379/3"
    assert s.wechat_api_base == "http://127.0.0.1:1234"


def test_secrets_do_not_show_in_repr() -> None:
    s = Settings(_env_file=None, mode=Mode.TEST, **TEST_SECRETS)
    assert TEST_SECRETS["pay_api_key"] not in repr(s)


@pytest.mark.parametrize("mode", [Mode.PRODUCTION, Mode.TEST])
def test_placeholder_secrets_refused_outside_development(mode: Mode) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(_env_file=None, mode=mode)
    assert "placeholder secrets are refused" in str(exc.value)
    assert "QUNSHOP_PAY_API_KEY" in str(exc.value)


def test_one_placeholder_left_is_named() -> None:
    values = {**TEST_SECRETS, "secret_key": "dev-placeholder-secret-key"}
    with pytest.raises(ValidationError) as exc:
        Settings(_env_file=None, mode=Mode.PRODUCTION, **values)
    assert "QUNSHOP_SECRET_KEY" in str(exc.value)
    assert "QUNSHOP_PAY_API_KEY" not in str(exc.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_url", "mysql://root@localhost/x"),
        ("redis_url", "http://localhost:6379"),
        ("timezone", "Mars/Olympus"),
        ("port", "0"),
        ("wechat_api_base", "api.weixin.qq.com"),
        ("pay_api_base", "https://"),
        ("pay_api_base", "http://:8080"),
        ("pay_api_base", "https://api.mch.weixin.qq.com:port"),
        ("wecom_api_base", "ftp://qyapi.weixin.qq.com"),
        ("public_base_url", "https://shop.example.com/?x=1"),
    ],
)
def test_bad_values_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})


def test_cli_names_the_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNSHOP_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(StartupError) as exc:
        load_settings()
    message = str(exc.value)
    assert "QUNSHOP_DATABASE_URL" in message
    assert "\n" not in message


def test_serve_port_is_where_development_links_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """`qunshop serve --port 8104` in development: the front page, chat links and the
    stand-in's refund notify name port 8104, not the default 8080 nobody listens on."""
    monkeypatch.delenv("QUNSHOP_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("QUNSHOP_MODE", "development")
    settings = serve_settings(build_parser().parse_args(["serve", "--port", "8104"]))
    assert settings.port == 8104
    assert settings.public_base_url == "http://127.0.0.1:8104"
