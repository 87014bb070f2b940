"""Settings, read once from the environment (prefix ``QUNSHOP_``) and an optional ``.env``."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values shipped as defaults so the demo runs with no setup; refused outside development.
PLACEHOLDER_PREFIX = "dev-placeholder"
DEV_AES_KEY = "devPlaceholderAesKeyForTheDemoShop000000000"
SECRET_FIELDS = ("wechat_secret", "wechat_token", "wechat_aes_key", "pay_api_key", "secret_key")


def _is_placeholder(value: str) -> bool:
    return value.startswith(PLACEHOLDER_PREFIX) or value == DEV_AES_KEY or not value


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUNSHOP_", env_file=".env", extra="ignore", frozen=True
    )

    mode: Mode = Mode.DEVELOPMENT
    database_url: str = "sqlite://var/qunshop.sqlite3"
    redis_url: str | None = None
    wechat_appid: str = "wxd0000000000demo"
    wechat_secret: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-wechat-secret")
    wechat_token: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-token")
    # 43 base64 characters, as WeChat's EncodingAESKey is.
    wechat_aes_key: SecretStr = SecretStr(DEV_AES_KEY)
    wechat_api_base: str = "https://api.weixin.qq.com"
    pay_mch_id: str = "1900000109"
    pay_api_key: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-pay-api-key-0123")
    pay_api_base: str = "https://api.mch.weixin.qq.com"
    public_base_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Shanghai"
    secret_key: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-secret-key")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    # How often the server sends due outbox messages and sweeps lapsed deadlines.
    outbox_interval_seconds: float = Field(default=0.5, gt=0)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
            raise ValueError(
                "must look like sqlite://path/to/file.sqlite3 or postgres://user@host:5432/db"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must look like redis://host:6379/0")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("wechat_api_base", "pay_api_base", "public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _no_placeholders_outside_development(self) -> Settings:
        if self.mode is Mode.DEVELOPMENT:
            return self
        bad = [
            f"QUNSHOP_{name.upper()}"
            for name in SECRET_FIELDS
            if _is_placeholder(getattr(self, name).get_secret_value())
        ]
        if bad:
            raise ValueError(
                f"placeholder secrets are refused in {self.mode} mode: set {', '.join(bad)}"
            )
        if len(self.wechat_aes_key.get_secret_value()) != 43:
            raise ValueError("QUNSHOP_WECHAT_AES_KEY must be 43 characters")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def single_process(self) -> bool:
        return self.redis_url is None
