"""A benchmark world written straight into PostgreSQL (COPY), and the requests to replay."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bench.harness import BENCH_SECRETS, connect
from models.user import Role
from services.auth import issue_token

TEAM_SIZE = 50


@dataclass
class World:
    campaign_id: uuid.UUID
    users: list[uuid.UUID]
    tokens: list[str]
    team_codes: list[str]
    senders: list[str]


async def seed_campaign(
    conn: asyncpg.Connection,
    now: datetime,
    *,
    team_size: int,
    stock_cap: int,
    name: str = "bench",
) -> tuple[uuid.UUID, uuid.UUID]:
    """A leader, their community, a product with a SKU and a running campaign on it (``name``
    tells communities apart when a world has several)."""
    leader, community, product, sku, campaign = (uuid.uuid4() for _ in range(5))
    await conn.execute(
        "INSERT INTO users (id, openid, nickname, role, created_at) "
        "VALUES ($1, $3, 'leader', 'leader', $2)",
        leader,
        now,
        f"{name}-leader",
    )
    await conn.execute(
        "INSERT INTO communities (id, name, leader_id, chat_id, timezone, created_at) "
        "VALUES ($1, $4, $2, $5, 'Asia/Shanghai', $3)",
        community,
        leader,
        now,
        name,
        f"{name}-group",
    )
    await conn.execute(
        "INSERT INTO products (id, title, description, category, images, community_id, "
        "created_by_id, active, created_at, updated_at) "
        "VALUES ($1, 'p', '', '', '[]', $2, $3, true, $4, $4)",
        product,
        community,
        leader,
        now,
    )
    await conn.execute(
        "INSERT INTO skus (id, product_id, name, price, stock) VALUES ($1, $2, 's', 990, 0)",
        sku,
        product,
    )
    await conn.execute(
        "INSERT INTO campaigns (id, community_id, sku_id, title, group_price, price_tiers, "
        "team_size, team_hours, reservation_minutes, starts_at, ends_at, stock_cap, "
        "stock_left, per_user_limit, guaranteed, created_by_id, created_at, "
        "reminder_minutes) VALUES ($1, $2, $3, 'bench', 990, '[]', $4, 24, 15, $5, $6, "
        "$7, $7, 1, false, $8, $5, '[]')",
        campaign,
        community,
        sku,
        team_size,
        now - timedelta(hours=1),
        now + timedelta(days=2),
        stock_cap,
        leader,
    )
    return leader, campaign


async def build(*, users: int, teams: int, senders: int) -> World:
    now = datetime.now(tz=UTC)
    conn = await connect()
    try:
        leader, campaign = await seed_campaign(
            conn, now, team_size=TEAM_SIZE, stock_cap=users * 2 + 10
        )
        user_ids = [uuid.uuid4() for _ in range(users)]
        await conn.copy_records_to_table(
            "users",
            records=[(u, f"bench-{i}", "", "shopper", now) for i, u in enumerate(user_ids)],
            columns=["id", "openid", "nickname", "role", "created_at"],
        )
        codes = [f"T{i:07d}" for i in range(teams)]
        await conn.copy_records_to_table(
            "teams",
            records=[
                (
                    uuid.uuid4(),
                    code,
                    TEAM_SIZE,
                    0,
                    0,
                    "open",
                    now + timedelta(hours=20),
                    now,
                    campaign,
                    leader,
                )
                for code in codes
            ],
            columns=[
                "id",
                "code",
                "size",
                "seats_held",
                "seats_paid",
                "status",
                "deadline_at",
                "created_at",
                "campaign_id",
                "head_id",
            ],
        )
        sender_ids = [f"o-bench-{i}" for i in range(senders)]
        await conn.copy_records_to_table(
            "chat_identities",
            records=[
                (uuid.uuid4(), "wechat", s, now, now, user_ids[i % len(user_ids)])
                for i, s in enumerate(sender_ids)
            ],
            columns=["id", "platform", "external_id", "last_seen_at", "created_at", "user_id"],
        )
        for table in ("users", "teams", "chat_identities"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    secret = BENCH_SECRETS["secret_key"]
    tokens = [
        issue_token(user=SimpleNamespace(id=u, role=Role.SHOPPER), secret=secret, now=now)[0]
        for u in user_ids
    ]
    return World(campaign, user_ids, tokens, codes, sender_ids)


async def verify_leader(conn: asyncpg.Connection, leader: uuid.UUID, now: datetime) -> None:
    """The leader's identity verified, as services/identity.verify leaves it: a real shop takes
    no payment before this (services/identity.ensure_may_take_payments)."""
    await conn.execute(
        "INSERT INTO leader_identities (id, user_id, status, provider, reference, reason, "
        "verified_at, updated_at) VALUES ($1, $2, 'verified', 'standin', 'standin-0000', '', "
        "$3, $3) ON CONFLICT (user_id) DO NOTHING",
        uuid.uuid4(),
        leader,
        now,
    )


async def add_order_teams(world: World, *, size: int, teams: int) -> list[str]:
    """P5's world on top of ``build``'s: ``teams`` open teams of ``size`` seats in the same
    campaign, to be filled during the run, and the leader verified so the community takes
    payments. Returns the teams' codes, in the order they are to fill."""
    now = datetime.now(tz=UTC)
    conn = await connect()
    try:
        leader = await conn.fetchval(
            "SELECT c.created_by_id FROM campaigns c WHERE c.id = $1", world.campaign_id
        )
        await verify_leader(conn, leader, now)
        codes = [f"S{size:02d}{i:06d}" for i in range(teams)]
        await conn.copy_records_to_table(
            "teams",
            records=[
                (
                    uuid.uuid4(),
                    code,
                    size,
                    0,
                    0,
                    "open",
                    now + timedelta(hours=20),
                    now,
                    world.campaign_id,
                    leader,
                )
                for code in codes
            ],
            columns=[
                "id",
                "code",
                "size",
                "seats_held",
                "seats_paid",
                "status",
                "deadline_at",
                "created_at",
                "campaign_id",
                "head_id",
            ],
        )
        await conn.execute("ANALYZE teams")
    finally:
        await conn.close()
    return codes


async def mark_senders_seen(world: World) -> None:
    """Every sender's last-seen mark set to now, just before P2: its messages then come from
    people who wrote within 5 minutes however long the set-up took. A mark found older costs
    the message a write (services/chat_users), which would make P2 depend on the set-up's
    pace (BENCHMARKS.md, round 5 webhook)."""
    conn = await connect()
    try:
        await conn.execute(
            "UPDATE chat_identities SET last_seen_at = now() WHERE external_id = ANY($1::text[])",
            world.senders,
        )
    finally:
        await conn.close()


def join_lines(world: World, start: int, count: int) -> list[str]:
    """Each user once, filling teams in order (49 joiners a team keeps a seat free)."""
    lines = []
    for k in range(start, start + count):
        code = world.team_codes[k // (TEAM_SIZE - 1)]
        lines.append(
            f"POST\t/api/v1/teams/{code}/join\tBearer {world.tokens[k]}\tapplication/json\t{{}}"
        )
    return lines


# P1's teams, as groups make them (BENCHMARKS.md, round 3 join): teams of 3 to 10, one
# community running a campaign per size, and joins spread over many teams forming at once.
GROUP_TEAM_SIZES = tuple(range(3, 11))
FORMING = 256  # teams taking members at the same time, joins interleaved over them


@dataclass
class Groups:
    codes: list[str]
    sizes: list[int]


async def add_groups(*, teams: int, sizes: tuple[int, ...] = GROUP_TEAM_SIZES) -> Groups:
    """One community per team size, each running a campaign of that size, and ``teams`` open
    teams (codes G...) dealt over the campaigns in turn; every team starts empty."""
    now = datetime.now(tz=UTC)
    conn = await connect()
    try:
        campaigns = [
            await seed_campaign(
                conn, now, team_size=size, stock_cap=teams * size, name=f"group-{size}"
            )
            for size in sizes
        ]
        codes = [f"G{i:07d}" for i in range(teams)]
        team_sizes = [sizes[i % len(sizes)] for i in range(teams)]
        await conn.copy_records_to_table(
            "teams",
            records=[
                (uuid.uuid4(), code, size, 0, 0, "open", now + timedelta(hours=20), now, c, h)
                for code, size, (h, c) in zip(
                    codes, team_sizes, itertools.cycle(campaigns), strict=False
                )
            ],
            columns=[
                "id",
                "code",
                "size",
                "seats_held",
                "seats_paid",
                "status",
                "deadline_at",
                "created_at",
                "campaign_id",
                "head_id",
            ],
        )
        await conn.execute("ANALYZE teams")
    finally:
        await conn.close()
    return Groups(codes, team_sizes)


def group_join_lines(world: World, groups: Groups, first_user: int, count: int) -> list[str]:
    """Each user once, filling every team to its size; FORMING teams at a time take their
    members in turns, so neighbouring joins are in different teams, as many groups' are."""
    lines: list[str] = []
    user = first_user
    for start in range(0, len(groups.codes), FORMING):
        window = range(start, min(start + FORMING, len(groups.codes)))
        for seat in range(max(groups.sizes[t] for t in window)):
            for t in window:
                if seat < groups.sizes[t]:
                    if len(lines) == count:
                        return lines
                    lines.append(
                        f"POST\t/api/v1/teams/{groups.codes[t]}/join\t"
                        f"Bearer {world.tokens[user]}\tapplication/json\t{{}}"
                    )
                    user += 1
    raise ValueError(f"{len(groups.codes)} teams hold fewer than {count} joins: add teams")


_msg_ids = itertools.count(int(datetime.now(tz=UTC).timestamp() * 1000))


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def webhook_lines(world: World, count: int) -> list[str]:
    """Encrypted OA help commands (safe mode), each a new MsgId, as WeChat would send them."""
    token, appid = BENCH_SECRETS["wechat_token"], BENCH_SECRETS["wechat_appid"]
    crypto = WeChatCrypto(token, BENCH_SECRETS["wechat_aes_key"], appid)
    prp = PrpCrypto(crypto.key)
    ts = str(int(datetime.now(tz=UTC).timestamp()))
    lines = []
    for k in range(count):
        sender = world.senders[k % len(world.senders)]
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[帮助]]></Content><MsgId>{next(_msg_ids)}</MsgId></xml>"
        )
        encrypt = prp.encrypt(xml, appid).decode()
        nonce = str(100000 + k)
        path = (
            f"/bot/wechat?signature={_sha1(token, ts, nonce)}&timestamp={ts}&nonce={nonce}"
            f"&openid={sender}&encrypt_type=aes&msg_signature={_sha1(token, ts, nonce, encrypt)}"
        )
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        lines.append(f"POST\t{path}\t\ttext/xml\t{body}")
    return lines


def bare_lines(count: int) -> list[str]:
    return ["GET\t/healthz\t\tapplication/json\t" for _ in range(count)]


def dump(lines: list[str], path: str) -> None:
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


__all__ = [
    "World",
    "Groups",
    "build",
    "add_groups",
    "group_join_lines",
    "add_order_teams",
    "verify_leader",
    "mark_senders_seen",
    "join_lines",
    "webhook_lines",
    "bare_lines",
    "dump",
    "json",
]
