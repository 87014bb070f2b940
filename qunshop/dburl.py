"""PostgreSQL URLs as people write them, read once into asyncpg's connection parameters.

``postgres://``, ``postgresql://`` (libpq, most cloud consoles), ``postgresql+asyncpg://``
(SQLAlchemy style) and ``asyncpg://`` (Tortoise's own) all name the same thing. A Unix socket
is libpq's ``?host=/socket/dir``. Without ``sslmode``, a server on a socket or on the loopback
is reached without trying TLS first (asyncpg's default, "prefer", costs a refused TLS
handshake on every new connection to a server that has none); any other host keeps "prefer".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg", "asyncpg")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
EXAMPLE = "postgres://user:password@host:5432/dbname"


@dataclass(frozen=True)
class PgUrl:
    host: str | None  # a name, an address, a Unix socket dir ("/..."); None: asyncpg picks
    port: int
    user: str | None
    password: str | None
    database: str
    sslmode: str | None  # None: decided by the host (see the module's docstring)
    application_name: str | None = None

    @property
    def on_socket(self) -> bool:
        return self.host is not None and self.host.startswith("/")

    @property
    def local(self) -> bool:
        if self.host is None or self.on_socket or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def ssl(self) -> str:
        """asyncpg's ``ssl`` argument: the URL's sslmode, else disable on a local server."""
        if self.sslmode is not None:
            return self.sslmode
        return "disable" if self.local else "prefer"

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``asyncpg.connect`` / ``create_pool``."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "ssl": self.ssl,
        }
        if self.application_name:
            kwargs["server_settings"] = {"application_name": self.application_name}
        return kwargs

    def with_database(self, name: str) -> PgUrl:
        return replace(self, database=name)

    def url(self, *, hide_password: bool = False) -> str:
        """As libpq writes it (``postgresql://``), for messages, psql and other processes."""
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self.password:
                auth += ":" + ("***" if hide_password else quote(self.password, safe=""))
            auth += "@"
        query: dict[str, str] = {}
        if self.host is None:
            netloc = auth
        elif self.on_socket:
            netloc = auth
            query["host"] = self.host
            if self.port != 5432:
                query["port"] = str(self.port)
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            netloc = f"{auth}{host}:{self.port}"
        if self.sslmode:
            query["sslmode"] = self.sslmode
        if self.application_name:
            query["application_name"] = self.application_name
        tail = f"?{urlencode(query, safe='/')}" if query else ""
        return f"postgresql://{netloc}/{quote(self.database, safe='')}{tail}"


def parse(url: str) -> PgUrl:
    """Read a database URL; ValueError says what is wrong with it."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise ValueError(f"must be a PostgreSQL URL such as {EXAMPLE}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"cannot be read ({exc}); write it as {EXAMPLE}") from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = query.pop("host", None) or parts.hostname or None
    if "port" in query:
        try:
            port = int(query.pop("port"))
        except ValueError:
            raise ValueError("its port must be a number") from None
    sslmode = query.pop("sslmode", None)
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    application_name = query.pop("application_name", None)
    if query:
        raise ValueError(
            f"unknown option(s) {', '.join(sorted(query))}; "
            "known: host, port, sslmode, application_name"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError(f"names no database; write it as {EXAMPLE}")
    return PgUrl(
        host=host,
        port=port or 5432,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=database,
        sslmode=sslmode,
        application_name=application_name,
    )


def describe(url: str) -> str:
    """The URL without its password, for messages (also for a URL that does not parse)."""
    try:
        return parse(url).url(hide_password=True)
    except ValueError:
        scheme, _, rest = url.partition("://")
        if "@" in rest:
            creds, _, host = rest.rpartition("@")
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
        return url
