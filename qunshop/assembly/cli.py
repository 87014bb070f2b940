"""The ``qunshop`` command: serve, migrate, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

from pydantic import ValidationError

from qunshop.assembly.logs import configure_logging
from qunshop.config import Mode, Settings, development_by_omission
from qunshop.errors import StartupError

logger = logging.getLogger("qunshop")

# The cyclic collector's young pass ran every 700 allocations, about every few requests at
# chat rates, and its older passes walked everything start-up built (ORM models, templates,
# routes), which lives as long as the process. Measured on the webhook benchmark: 10-15% of
# the server's CPU per message. Cyclic garbage now waits for 100,000 allocations; the older
# generations keep their default pace relative to it (a full pass every 10M allocations).
# A flash-sale burst holds a thousand requests' objects alive at once, so a young pass walks
# many survivors and finds next to no garbage: at 20,000, 8-12 passes took 95-180 ms of the
# burst's CPU and freed 80-180 objects; at 100,000 one pass, 20 ms (gc callbacks, P3).
GC_THRESHOLDS = (100_000, 10, 10)
EMBEDDED_DATABASE = "qunshop"  # the database of serve/migrate/demo on the embedded server
# Connections waiting to be accepted. aiohttp's default, 128, drops the handshakes of a burst
# of new connections beyond it (the client retries after 1 s, then 3 s): a flash sale opened
# on 1,000 phones at once. The kernel caps it at net.core.somaxconn.
BACKLOG = 2048


def settle_gc() -> None:
    """Start-up is done: keep what it built out of the collector's walks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The server's event loop: uvloop's where it is installed (not on Windows), asyncio's
    otherwise. The same asyncio API, its loop and transports in C: a flash-sale burst costs
    the server ~16 % less CPU a buyer (BENCHMARKS.md, round 5). Tests run on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def load_settings(**overrides: object) -> Settings:
    """The environment's settings, with the command line's ``overrides`` (as if they were
    set there: validators run on them, so in development an unset public URL follows
    ``--port``)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"QUNSHOP_{field.upper()}" if err["loc"] else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise StartupError("configuration error: " + "; ".join(lines)) from None


async def _serve(settings: Settings, host: str, port: int) -> None:
    from aiohttp import web

    from qunshop.assembly.app import create_app

    # Not web.run_app: it skips the cleanup of the resources that did start when a later one
    # fails at start-up, which leaves threads behind and the process hanging.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_app(settings), access_log=None)
    try:
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, backlog=BACKLOG).start()
        except OSError as exc:
            raise StartupError(f"QUNSHOP_HOST/QUNSHOP_PORT ({host}:{port}): {exc}") from exc
        logger.info(
            "serving on http://%s:%s (%s mode, role %s)", host, port, settings.mode, settings.role
        )
        settle_gc()
        await stop.wait()
        logger.info("stopping")
    finally:
        await runner.cleanup()


def check_mode(settings: Settings, host: str) -> None:
    """No deployment serves the development endpoints because QUNSHOP_MODE was forgotten."""
    reason = development_by_omission(settings, host)
    if reason is not None:
        raise StartupError(
            f"QUNSHOP_MODE is not set and {reason}: set QUNSHOP_MODE=production (or "
            "QUNSHOP_MODE=development to serve the development endpoints, which log in as "
            "anyone)"
        )
    if settings.mode is Mode.DEVELOPMENT:
        logger.warning(
            "DEVELOPMENT MODE: POST /api/v1/dev/session gives anyone a token for any user; "
            "never expose this server"
        )


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """The settings with a database: QUNSHOP_DATABASE_URL, or else the checkout's embedded
    PostgreSQL (started or reused now, stopped when its last user leaves)."""
    if settings.database_url:
        yield settings
        return
    from qunshop.assembly.embedded_pg import EmbeddedPostgres

    with EmbeddedPostgres() as pg:
        url = pg.database(EMBEDDED_DATABASE)
        logger.info("QUNSHOP_DATABASE_URL is not set: using the embedded PostgreSQL (%s)", url)
        yield settings.model_copy(update={"database_url": url})


def serve_settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with ``serve``'s options. The address the server binds is
    also where it reaches its development stand-in and, in development, what its links and
    front page name."""
    chosen = {"role": args.role, "host": args.host, "port": args.port}
    return load_settings(**{name: value for name, value in chosen.items() if value})


def cmd_serve(args: argparse.Namespace) -> None:
    settings = serve_settings(args)
    configure_logging(settings.log_level, settings.log_format)
    check_mode(settings, settings.host)  # before the embedded database fills in a URL
    with database(settings) as settings, asyncio.Runner(loop_factory=event_loop()) as runner:
        runner.run(_serve(settings, settings.host, settings.port))


async def _migrate(settings: Settings) -> None:
    from qunshop.assembly.db import run_migrations

    applied = await run_migrations(settings.database_url)
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("the database is up to date")


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = load_settings()
    configure_logging("WARNING")
    with database(settings) as settings:
        asyncio.run(_migrate(settings))


async def _demo(settings: Settings) -> None:
    from qunshop.assembly.db import ensure_migrated, open_orm
    from services import demo

    ctx = await open_orm(settings.database_url)
    try:
        await ensure_migrated(ctx)
        summary = await demo.seed(settings=settings)
    finally:
        await ctx.close_connections()
    print(summary)


def cmd_demo(args: argparse.Namespace) -> None:
    settings = load_settings()
    configure_logging("WARNING")
    with database(settings) as settings:
        asyncio.run(_demo(settings))


def cmd_chat(args: argparse.Namespace) -> None:
    from qunshop.assembly.simulator import run

    settings = load_settings()
    configure_logging("WARNING")
    asyncio.run(
        run(
            url=args.url or f"http://{settings.host}:{settings.port}",
            settings=settings,
            platform=args.platform,
            user=args.user,
            group=None if args.single else args.group,
            api_port=args.api_port,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qunshop", description="Qunshop: group chats as storefronts."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server", description="Run the HTTP server.")
    serve.add_argument("--host", help="bind address (default: QUNSHOP_HOST)")
    serve.add_argument("--port", type=int, help="port (default: QUNSHOP_PORT)")
    serve.add_argument(
        "--role",
        choices=["all", "web", "scheduler"],
        help="all: web and clock (default, QUNSHOP_ROLE); web: no clock; scheduler: the clock "
        "(run exactly one per deployment)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply every pending migration to QUNSHOP_DATABASE_URL.",
    )
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser(
        "demo",
        help="seed a demo shop if the database is empty",
        description="Seed an admin, a leader with a group chat and pickup point, and products "
        "with SKUs and stock. Does nothing when the database already has users.",
    )
    demo.set_defaults(func=cmd_demo)

    chat = sub.add_parser(
        "chat",
        help="chat with a running server as WeChat would (a simulator)",
        description="Play WeChat/WeCom and a user: what you type is signed and encrypted as the "
        "platform does and posted to the server's webhook; replies are decrypted and printed.",
    )
    chat.add_argument("--url", help="the server (default: http://QUNSHOP_HOST:QUNSHOP_PORT)")
    chat.add_argument("--platform", choices=["wecom-bot", "wechat"], default="wecom-bot")
    chat.add_argument("--user", default="demo-shopper", help="who you are on the platform")
    chat.add_argument("--group", default="demo-group-chat", help="the group chat id")
    chat.add_argument("--single", action="store_true", help="a one-to-one chat, not a group")
    chat.add_argument("--api-port", type=int, default=8081, help="the platform-API listener")
    chat.set_defaults(func=cmd_chat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except StartupError as exc:
        print(f"qunshop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
