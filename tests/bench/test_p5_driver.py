"""P5's driver side: the lean HTTP/1.1 client and server, and the fake WeChat Pay on them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench import http1
from bench.p5_orders import APPID, KEY, MCH_ID, FakePay
from wechat import pay
from wechat.api import PayClient, PayError


async def test_a_connection_sends_requests_one_after_another_on_one_socket() -> None:
    seen: list[tuple[str, bytes, str | None, int]] = []

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername")[1] if request.transport else 0
        seen.append((request.path, body, request.headers.get("X-Token"), peer))
        return web.json_response({"got": body.decode()}, status=201)

    app = web.Application()
    app.router.add_post("/{name}", echo)
    async with TestServer(app, host="127.0.0.1") as server:
        assert server.port is not None
        http = http1.Connection("127.0.0.1", server.port)
        first = await http.request("POST", "/a", b'{"x": 1}', {"X-Token": "t"})
        second = await http.request("POST", "/b")
        http.close()
    assert first == (201, b'{"got": "{\\"x\\": 1}"}')
    assert second == (201, b'{"got": ""}')
    assert [s[:3] for s in seen] == [("/a", b'{"x": 1}', "t"), ("/b", b"", None)]
    assert seen[0][3] == seen[1][3]  # kept alive: the same client port


async def test_the_fake_answers_unified_orders_as_wechat_pay_does() -> None:
    fake = FakePay()
    await fake.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = PayClient(http=session, base=fake.url, appid=APPID, mch_id=MCH_ID, api_key=KEY)
            for fee in (990, 1990):  # two orders on one kept-alive connection
                answer = await client.unified_order(
                    out_trade_no=f"QS{fee}",
                    body="Qunshop order",
                    total_fee=fee,
                    openid="o-buyer",
                    notify_url="https://shop.example.com/pay/wechat/notify",
                    client_ip="127.0.0.1",
                )  # PayClient checks the answer's signature
                notify = pay.parse_xml(fake.notify(answer["prepay_id"], f"42{fee}"))
                assert pay.verify(notify, KEY)
                assert (notify["out_trade_no"], notify["total_fee"]) == (f"QS{fee}", str(fee))
            wrong = PayClient(http=session, base=fake.url, appid=APPID, mch_id=MCH_ID, api_key="x")
            with pytest.raises(PayError) as refused:
                await wrong.unified_order(
                    out_trade_no="QS1",
                    body="Qunshop order",
                    total_fee=1,
                    openid="o-buyer",
                    notify_url="https://shop.example.com/pay/wechat/notify",
                    client_ip="127.0.0.1",
                )
            assert refused.value.code == "签名错误"
            async with session.get(f"{fake.url}/elsewhere") as missing:
                assert missing.status == 404
    finally:
        await fake.stop()


async def test_the_listener_reads_requests_however_their_bytes_arrive() -> None:
    fake = FakePay()
    await fake.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", fake.port)
        request = b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        writer.write(request[:20])  # a request in two pieces
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(request[20:] + request)  # its end, and a whole second one, in one write
        answers = [await reader.readuntil(b"\r\n\r\n") for _ in range(2)]
        writer.close()
    finally:
        await fake.stop()
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 404 Not Found"] * 2
    assert all(b"Content-Length: 0" in a for a in answers)


async def test_a_connection_reopens_after_a_close_and_refuses_a_chunked_answer() -> None:
    async def closing(request: web.Request) -> web.Response:
        answer = web.Response(text="bye")
        answer.force_close()
        return answer

    async def chunked(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse()
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        await answer.write(b"part")
        await answer.write_eof()
        return answer

    app = web.Application()
    app.router.add_get("/closing", closing)
    app.router.add_get("/chunked", chunked)
    async with TestServer(app, host="127.0.0.1") as server:
        assert server.port is not None
        http = http1.Connection("127.0.0.1", server.port)
        assert await http.request("GET", "/closing") == (200, b"bye")
        assert await http.request("GET", "/closing") == (200, b"bye")  # on a new connection
        with pytest.raises(ValueError, match="chunked"):
            await http.request("GET", "/chunked")
        http.close()
