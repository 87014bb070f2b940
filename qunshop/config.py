"""Settings, read once from the environment (prefix ``QUNSHOP_``) and an optional ``.env``."""

from __future__ import annotations

import base64
import ipaddress
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL

from qunshop import dburl

# Values shipped as defaults so the demo runs with no setup; refused outside development.
PLACEHOLDER_PREFIX = "dev-placeholder"
DEV_AES_KEY = "devPlaceholderAesKeyForTheDemoShop000000000"
SECRET_FIELDS = (
    "wechat_secret",
    "wechat_token",
    "wechat_aes_key",
    "wecom_secret",
    "wecom_token",
    "wecom_aes_key",
    "wecom_bot_token",
    "wecom_bot_aes_key",
    "pay_api_key",
    "secret_key",
)


def _is_placeholder(value: str) -> bool:
    return value.startswith(PLACEHOLDER_PREFIX) or value == DEV_AES_KEY or not value


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def parse_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUNSHOP_", env_file=".env", extra="ignore", frozen=True
    )

    mode: Mode = Mode.DEVELOPMENT
    # Unset: the checkout's embedded PostgreSQL (qunshop/assembly/embedded_pg.py), data under var/.
    database_url: str | None = None
    redis_url: str | None = None
    # asyncpg's own default. With PostgreSQL on the same few cores (the embedded default), more
    # backends contend more than they overlap: 10 joined 8 % faster than 20 (BENCHMARKS, round 9).
    database_pool_size: int = Field(default=10, ge=1, le=200)
    wechat_appid: str = "wxd0000000000demo"
    wechat_secret: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-wechat-secret")
    wechat_token: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-token")
    # 43 base64 characters, as WeChat's EncodingAESKey is.
    wechat_aes_key: SecretStr = SecretStr(DEV_AES_KEY)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_corp_id: str = "ww0000000000demo"
    wecom_agent_id: int = 1000002
    wecom_secret: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-wecom-secret")
    wecom_token: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-wecom-token")
    wecom_aes_key: SecretStr = SecretStr(DEV_AES_KEY)
    # The intelligent bot has its own Token and EncodingAESKey (receive id "").
    wecom_bot_token: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-wecom-bot-token")
    wecom_bot_aes_key: SecretStr = SecretStr(DEV_AES_KEY)
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # Seconds a webhook timestamp may differ from now before the request counts as a replay.
    webhook_replay_window: int = Field(default=300, ge=10)
    # A handler finishing within this many seconds answers passively; later ones are sent.
    chat_reply_budget: float = Field(default=3.0, gt=0, le=4.5)
    # Messages the bot may send into one group chat per day, so the account is never banned.
    group_daily_quota: int = Field(default=60, ge=1)
    # The mini-program subscribe template of "N more needed" reminders (thing1, number2, time3).
    subscribe_template_team_reminder: str = "team-reminder"
    # Subscribe templates of the news (services/news.py); "" sends that news by customer
    # service only. Keys: team succeeded thing1 thing2 amount3; team failed thing1 amount2
    # thing3; arrived thing1 character_string2 thing3; refunded thing1 amount2 thing3;
    # order lapsing thing1 amount2 time3; order lapsed (seat released unpaid) thing1 amount2
    # thing3; pickup reminder thing1 character_string2 thing3.
    subscribe_template_team_succeeded: str = "team-succeeded"
    subscribe_template_team_failed: str = "team-failed"
    subscribe_template_arrived: str = "goods-arrived"
    subscribe_template_refunded: str = "refund-done"
    subscribe_template_order_lapsing: str = "order-lapsing"
    subscribe_template_order_lapsed: str = "order-lapsed"
    subscribe_template_pickup_reminder: str = "pickup-reminder"
    subscribe_template_after_sale: str = "after-sale-result"
    # Followers of a leader or community hear of a new campaign (services/follows.py).
    subscribe_template_new_campaign: str = "new-campaign"
    # Operators' messages to a segment of members (services/segments.py): thing1 thing2.
    subscribe_template_promotion: str = "promotion"
    # Days after pickup (核销) when an order completes and its earnings are released.
    auto_complete_days: int = Field(default=7, ge=0, le=60)
    # Minutes before an unpaid seat lapses when its buyer is warned, once.
    lapse_warning_minutes: int = Field(default=5, ge=1, le=60)
    # After-sales: a request nobody answers within these hours is approved by the clock.
    after_sale_response_hours: int = Field(default=48, ge=1, le=24 * 14)
    pay_mch_id: str = "1900000109"
    pay_api_key: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-pay-api-key-0123")
    pay_api_base: str = "https://api.mch.weixin.qq.com"
    # Unset in development: this server's own address and port (``_public_url_follows_the_port``).
    public_base_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Shanghai"
    secret_key: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-secret-key")
    host: str = "127.0.0.1"
    # Reverse proxies in front of the server (comma-separated addresses or CIDR networks):
    # a request from one of them is counted as the client its X-Forwarded-For names.
    trusted_proxies: str = ""
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    # text: one readable line per record; json: one JSON object per line, for collectors.
    log_format: Literal["text", "json"] = "text"
    # How often the server sends due outbox messages and sweeps lapsed deadlines.
    outbox_interval_seconds: float = Field(default=0.5, gt=0)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    scheduler_refresh_seconds: float = Field(default=5.0, gt=0)
    # all: web and clock in one process; web: no clock; scheduler: the clock (and health).
    role: Literal["all", "web", "scheduler"] = "all"
    # Mini-program codes (wxacode.getUnlimited) open this version of the mini-program.
    wxacode_env_version: Literal["release", "trial", "develop"] = "release"
    # Leaders' identity (services/identity.py): a leader verifies real name and phone before
    # their community may take payments. standin: the built-in provider of development and
    # tests (a mainland mobile number and a 2-20 character name pass; a name with 假 fails);
    # http: POST {identity_api_base}/verify with identity_api_key as a bearer token.
    leader_identity_required: bool = True
    identity_provider: Literal["standin", "http"] = "standin"
    identity_api_base: str = ""
    identity_api_key: SecretStr = SecretStr(f"{PLACEHOLDER_PREFIX}-identity-api-key")
    # encryptedData (group entries) older than this, by its watermark, is refused.
    open_data_max_age_seconds: int = Field(default=600, ge=30)
    # GET /metrics: with a token, only ``Authorization: Bearer <token>``; without one, only
    # loopback clients, and never in production (it must be asked for, not left open).
    metrics_token: SecretStr | None = None
    # AES-256-GCM key of phone numbers and real names at rest: 32 bytes, base64. Unset: one
    # derived from QUNSHOP_SECRET_KEY (HKDF), so changing that key makes them unreadable.
    personal_data_key: SecretStr | None = None
    # An erased account's orders and payments are kept, without identity, this many days
    # (the e-commerce law's three years), then their last traces go; sent messages, this many.
    order_retention_days: int = Field(default=3 * 365, ge=1)
    message_retention_days: int = Field(default=30, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        dburl.parse(value)  # its ValueError names what is wrong
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"must be addresses or networks, comma-separated: {exc}") from None
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.trusted_proxies)

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

    @model_validator(mode="before")
    @classmethod
    def _public_url_follows_the_port(cls, data: Any) -> Any:
        """In development, left unset, the public URL is where this server listens (as the
        API bases routed to the stand-in are): links, consoles and the stand-in's refund
        notify then reach it on QUNSHOP_PORT, not on 8080."""
        if not isinstance(data, dict) or data.get("public_base_url"):
            return data
        if str(data.get("mode", Mode.DEVELOPMENT.value)) != Mode.DEVELOPMENT.value:
            return data
        host = str(data.get("host") or "127.0.0.1")
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return {**data, "public_base_url": f"http://{host}:{data.get('port', 8080)}"}

    @field_validator("wechat_api_base", "wecom_api_base", "pay_api_base", "public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        # Checked here, not at the first call to it: a bad base would otherwise surface as
        # a failed payment or message long after start-up.
        try:
            url = URL(value)
        except ValueError as exc:
            raise ValueError(f"must be an http(s) URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host or url.query_string:
            raise ValueError("must be an http(s) URL with a host and no query")
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
        for name in ("wechat_aes_key", "wecom_aes_key", "wecom_bot_aes_key"):
            if len(getattr(self, name).get_secret_value()) != 43:
                raise ValueError(f"QUNSHOP_{name.upper()} must be 43 characters")
        return self

    @field_validator("personal_data_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except ValueError:
            raise ValueError("must be base64") from None
        if len(raw) != 32:
            raise ValueError("must be 32 bytes (44 base64 characters)")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def subscribe_templates(self) -> dict[str, str]:
        """The shop's subscribe templates by purpose (``subscribe_template_<purpose>``), the
        ones set: what the mini-program may ask consent for, and all a consent may name."""
        prefix = "subscribe_template_"
        return {
            name.removeprefix(prefix): value
            for name, value in self
            if name.startswith(prefix) and value
        }

    @property
    def single_process(self) -> bool:
        return self.redis_url is None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def development_by_omission(settings: Settings, host: str) -> str | None:
    """Why serving in development mode here was nobody's choice; None when it was.

    Development mode hands a token for any user to anyone who asks (``/api/v1/dev/session``).
    Left unset, ``QUNSHOP_MODE`` means development only for the demo on this machine: no
    database named and a loopback listener. Anything else must say ``QUNSHOP_MODE``.
    """
    if settings.mode is not Mode.DEVELOPMENT or "mode" in settings.model_fields_set:
        return None
    if "database_url" in settings.model_fields_set:
        return "QUNSHOP_DATABASE_URL names a database"
    if not _is_loopback(host):
        return f"the server would listen on {host or 'every address'}, not on loopback"
    return None
