"""The router on its own: order, filters, and routes added after it first answered."""

from __future__ import annotations

import inspect
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers import build_router
from handlers.routing import Always, Command, Context, Event, Handler, Regex, Roles, Router
from models.user import Role
from qunshop.chat import ChatType, Platform, Reply, Update
from services.auth import Principal

_ids = itertools.count(1)
NO_RESOURCES: dict[str, Any] = {"redis": None, "settings": None, "templates": None}


def context(
    text: str | None = None, *, event: str | None = None, role: Role | None = None
) -> Context:
    update = Update(
        platform=Platform.WECOM_BOT,
        chat_id="group-1",
        chat_type=ChatType.GROUP,
        sender="zhangsan",
        msg_id=str(next(_ids)),
        created_at=datetime.now(tz=UTC),
        text=text,
        event=event,
    )
    ctx = Context(update=update, now=update.created_at, **NO_RESOURCES)  # matching needs none
    if role is not None:
        ctx.principal = Principal(user_id=uuid.uuid4(), role=role)
    return ctx


async def walk_every_route(router: Router, ctx: Context) -> tuple[Handler, dict[str, Any]] | None:
    """The plain reading of the rules: every route in order, every filter called."""
    for filters, handler in router.walk():
        values: dict[str, Any] = {}
        for flt in filters:
            result = flt(ctx)
            if inspect.isawaitable(result):
                result = await result
            if result is False:
                break
            if isinstance(result, dict):
                values.update(result)
        else:
            return handler, values
    return None


def handler_named(name: str) -> Handler:
    async def handle(ctx: Context, **values: Any) -> Reply | None:
        return None

    handle.__name__ = name
    return handle


TEXTS = [
    None,
    "",
    "   ",
    "/",
    "help",
    "HELP",
    "/help",
    "/Help  ",
    " help me please ",
    "帮助",
    "菜单",
    "help\nmore",
    "参团",
    "参团 ABCD1234",
    "参团 x",
    "join abcd",
    "开团",
    "开团 2",
    "开团 abc",
    "start 1000",
    "绑定",
    "bind short",
    "bind robot-key-123",
    "公告",
    "公告 明天提货",
    "统计",
    "stats now",
    "收益",
    "earnings",
    "核销 CODE1234",
    "verify !",
    "提货单",
    "邀请",
    "invite",
    "活动",
    "activity",
    "checkin",
    "打卡",
    "签到",
    "团购",
    "deals",
    "我的订单",
    "orders",
    "付款",
    "取消订单1",
    "cancel12",
    "售后1 坏了",
    "售后1坏了",
    "取货码１",
    "团购2",
    "参团ABCD1234",
    "今天天气怎么样",
    "help/",
    "//help",
]
EVENTS = [None, "subscribe", "SCAN", "unsubscribe", "enter_chat", "CLICK", "some_new_event"]


@pytest.mark.parametrize("role", [None, *Role])
async def test_real_routers_answer_as_walking_every_route_would(role: Role | None) -> None:
    root = build_router()
    for text, event in itertools.product(TEXTS, EVENTS):
        found = await root.match(context(text, event=event, role=role))
        expected = await walk_every_route(root, context(text, event=event, role=role))
        assert found == expected, (text, event, role)


async def test_first_match_answers_in_inclusion_order() -> None:
    first, second, root = Router("first"), Router("second"), Router("root")
    first.route(Command("help"), Roles(Role.ADMIN))(handler_named("admin_help"))
    second.route(Regex(r"^help"))(handler_named("regex"))
    second.route(Command("help"))(handler_named("help"))
    root.include(first, second)

    found = await root.match(context("help"))
    assert found is not None and found[0].__name__ == "regex"
    found = await root.match(context("/HELP", role=Role.ADMIN))
    assert found is not None and found[0].__name__ == "admin_help"


async def test_routes_added_after_the_first_match_take_effect() -> None:
    topic, root = Router("topic"), Router("root")
    root.include(topic)
    assert await root.match(context("ping")) is None

    topic.route(Command("ping"))(handler_named("ping"))
    found = await root.match(context("ping"))
    assert found is not None and found[0].__name__ == "ping"

    late = Router("late")
    late.route(Event("subscribe"))(handler_named("welcome"))
    root.include(late)
    found = await root.match(context(event="SUBSCRIBE"))
    assert found is not None and found[0].__name__ == "welcome"

    root.route(Always)(handler_named("root_first"))  # a router's own routes precede its children
    found = await root.match(context("ping"))
    assert found is not None and found[0].__name__ == "root_first"


async def test_one_router_included_in_two_parents() -> None:
    shared, a, b = Router("shared"), Router("a"), Router("b")
    a.include(shared)
    b.include(shared)
    assert await a.match(context("x")) is None and await b.match(context("x")) is None
    shared.route(Always)(handler_named("any"))
    assert await a.match(context("x")) is not None and await b.match(context("x")) is not None


async def test_command_head_word_rest_and_pattern() -> None:
    router = Router("r")
    router.route(Command("参团", "Join", pattern=r"(?P<code>[A-Z0-9]{4})"))(handler_named("join"))
    router.route(Command("help"))(handler_named("help"))

    assert (await router.match(context("/JOIN  AB12 ")))[1] == {"args": "AB12", "code": "AB12"}
    assert (await router.match(context("参团 ab")))[1] == {"args": "ab", "bad_args": True}
    assert (await router.match(context("help  me ")))[1] == {"args": "me"}
    assert await router.match(context("helpme")) is None
    assert await router.match(context("help\nme")) is None  # only a space ends the head word
    # A Chinese IME in full-width mode types U+3000 between the command and its argument.
    assert (await router.match(context("参团\u3000AB12")))[1] == {"args": "AB12", "code": "AB12"}
    assert (await router.match(context("help\u3000a b")))[1] == {"args": "a b"}
    assert await router.match(context(event="help")) is None


async def test_a_number_glued_to_a_command_that_takes_one_is_read_as_spaced() -> None:
    router = Router("r")
    number = r"(?P<number>\d{1,2})(?:\s+(?P<words>.+))?"
    router.route(Command("售后", "aftersale", pattern=number, glued=True))(handler_named("sale"))
    router.route(Command("团购", "top10"))(handler_named("deals"))
    router.route(Command("参团", pattern=r"(?P<code>[A-Z0-9]{8})"))(handler_named("join"))

    for text, rest in (
        ("售后1", "1"),
        ("售后12 坏了", "12 坏了"),
        ("售后1坏了", "1 坏了"),  # no space anywhere: the digits still end the name
        ("/AfterSale3", "3"),
        ("售后１　坏了", "１ 坏了"),  # full-width digit and space
    ):
        found = await router.match(context(text))
        assert found is not None and found[0].__name__ == "sale", text
        assert found[1]["args"] == rest, (text, found[1])
    assert (await router.match(context("售后１")))[1]["number"] == "１"  # int() reads it as 1
    # Only commands that take a number are unglued: the others' heads stay whole.
    assert await router.match(context("团购2")) is None
    assert (await router.match(context("top10")))[0].__name__ == "deals"
    assert await router.match(context("参团AB12CD34")) is None  # 参团 here is not glued
    assert await router.match(context("售后员")) is None  # no digits: not a glued number
    # A command that takes a code reads one glued on (the card's button shows 参团<code>).
    glued_join = Router("g")
    code = r"(?P<code>[A-Za-z0-9]{4,16})"
    glued_join.route(Command("参团", "join", pattern=code, glued=True))(handler_named("join"))
    for text in ("参团AB12CD34", "参团ABCDEFGH", "joinAB12CD34", "参团7K3MXQ2A"):
        found = await glued_join.match(context(text))
        assert found is not None and found[1]["code"].upper() == text[-8:], text
    for text in ("参团吧", "参团了吗", "joinus", "参团AB"):  # words, or too short for a code
        assert await glued_join.match(context(text)) is None, text
    # The same reading when the Command is not a route's first filter (no index).
    glued = Command("售后", pattern=number, glued=True)
    assert glued(context("售后1 坏了")) == {"args": "1 坏了", "number": "1", "words": "坏了"}
    assert Command("团购")(context("团购2")) is False


async def test_async_filters_and_values_merge_in_order() -> None:
    calls: list[str] = []

    async def staff_only(ctx: Context) -> dict[str, Any] | bool:
        calls.append("staff_only")
        return {"staff": True} if ctx.principal and ctx.principal.role is Role.LEADER else False

    class Tagged:
        def __call__(self, ctx: Context) -> Any:
            async def tag() -> dict[str, Any]:
                return {"tag": "x", "args": "overridden"}

            return tag()

    router = Router("r")
    router.route(Command("stats"), staff_only, Tagged())(handler_named("stats"))
    router.route(Always, Command("stats"))(handler_named("anyone"))  # Command not first

    found = await router.match(context("stats today", role=Role.LEADER))
    assert found is not None and found[0].__name__ == "stats"
    assert found[1] == {"args": "overridden", "staff": True, "tag": "x"}

    found = await router.match(context("stats today", role=Role.SHOPPER))
    assert found is not None and found[0].__name__ == "anyone" and found[1] == {"args": "today"}

    calls.clear()
    assert await router.match(context("help", role=Role.LEADER)) is None
    assert calls == []  # a route whose Command cannot match calls nothing after it
