"""``qunshop chat``: a terminal that plays WeChat (or WeCom) and a user against a server.

What you type is signed and encrypted exactly as the platform does, posted to the webhook,
and the reply is decrypted and printed. A small platform-API listener prints what the server
sends on its own (customer-service messages, group-robot posts, response_url answers): start
the server with QUNSHOP_WECHAT_API_BASE and QUNSHOP_WECOM_API_BASE pointing at it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import xmltodict
from aiohttp import web
from wechatpy.crypto import PrpCrypto as OAPrp
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from qunshop.assembly.standin import StandIn
from qunshop.config import Settings

Print = Callable[[str], None]
_ids = itertools.count(int(time.time() * 1000))


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _nonce() -> str:
    return str(secrets.randbelow(10**9))


class Simulator:
    def __init__(
        self,
        *,
        url: str,
        settings: Settings,
        platform: str,
        user: str,
        group: str | None,
        http: aiohttp.ClientSession,
        out: Print,
    ) -> None:
        self.url = url.rstrip("/")
        self.settings = settings
        self.platform = platform
        self.user = user
        self.group = group
        self.http = http
        self.out = out

    async def say(self, text: str) -> list[str]:
        """Send one message as the user; returns (and prints) what the bot answered."""
        if self.platform == "wechat":
            lines = await self._oa(text)
        else:
            lines = await self._wecom_bot(text)
        for line in lines:
            self.out(f"bot> {line}")
        return lines

    async def _oa(self, text: str) -> list[str]:
        s = self.settings
        token, appid = s.wechat_token.get_secret_value(), s.wechat_appid
        crypto = WeChatCrypto(token, s.wechat_aes_key.get_secret_value(), appid)
        ts, nonce = str(int(time.time())), _nonce()
        xml = (
            f"<xml><ToUserName><![CDATA[gh_qunshop]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.user}]]></FromUserName><CreateTime>{ts}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{next(_ids)}</MsgId></xml>"
        )
        encrypt = OAPrp(crypto.key).encrypt(xml, appid).decode()
        query = {
            "signature": _sign(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": self.user,
            "encrypt_type": "aes",
            "msg_signature": _sign(token, ts, nonce, encrypt),
        }
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        async with self.http.post(f"{self.url}/bot/wechat", params=query, data=body) as resp:
            reply = await resp.text()
        if resp.status != 200:
            return [f"(HTTP {resp.status}) {reply}"]
        if reply in ("", "success"):
            return ["(no passive reply: the answer comes through the messenger)"]
        env = xmltodict.parse(reply)["xml"]
        plain = crypto.decrypt_message(reply, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
        msg = xmltodict.parse(plain)["xml"]
        if msg.get("MsgType") == "news":
            items = msg["Articles"]["item"]
            items = items if isinstance(items, list) else [items]
            return [f"[card] {i['Title']} | {i['Description']} | {i['Url']}" for i in items]
        return str(msg.get("Content", "")).splitlines()

    def _bot_crypto(self) -> tuple[str, WeComCrypto]:
        s = self.settings
        token = s.wecom_bot_token.get_secret_value()
        return token, WeComCrypto(token, s.wecom_bot_aes_key.get_secret_value(), "")

    async def _bot_post(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        token, crypto = self._bot_crypto()
        ts, nonce = str(int(time.time())), _nonce()
        plain = json.dumps(payload, ensure_ascii=False)
        encrypt = WeComPrp(crypto.key).encrypt(plain, "").decode()
        query = {"msg_signature": _sign(token, ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
        async with self.http.post(
            f"{self.url}/bot/wecom-bot", params=query, data=json.dumps({"encrypt": encrypt})
        ) as resp:
            body = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {body}")
        if not body:
            return None
        envelope = json.loads(body)
        return json.loads(WeComPrp(crypto.key).decrypt(envelope["encrypt"], ""))

    async def _wecom_bot(self, text: str) -> list[str]:
        base = {
            "aibotid": "SIMULATOR",
            "chattype": "group" if self.group else "single",
            "from": {"userid": self.user},
            "response_url": f"{self.url}/__simulator_has_no_response_url",
        }
        if self.group:
            base["chatid"] = self.group
        payload = {
            **base,
            "msgid": str(next(_ids)),
            "msgtype": "text",
            "text": {"content": f"@群团购助手 {text}" if self.group else text},
        }
        frame = await self._bot_post(payload)
        lines: list[str] = []
        for _ in range(40):  # refresh polls until finish, as WeCom does
            if frame is None:
                return ["(empty reply)"]
            card = frame.get("template_card")
            if card:
                main = card.get("main_title", {})
                lines.append(f"[card] {main.get('title', '')} | {main.get('desc', '')}")
            stream = frame.get("stream", {})
            if stream.get("finish", True):
                lines[:0] = str(
                    stream.get("content", frame.get("text", {}).get("content", ""))
                ).splitlines()
                return lines
            await asyncio.sleep(0.3)
            refresh = {
                **base,
                "msgid": str(next(_ids)),
                "msgtype": "stream",
                "stream": {"id": stream["id"]},
            }
            frame = await self._bot_post(refresh)
        return [*lines, "(still working after 12 s)"]


def platform_api(out: Print, settings: Settings | None = None) -> web.Application:
    """The platforms' APIs as the stand-in (qunshop/assembly/standin.py) plays them, printed."""
    return StandIn(settings or Settings(_env_file=None), sink=out).build()


def banner(*, url: str, user: str, platform: str, group: str | None, api_port: int) -> str:
    """The first lines: who is chatting where, and where the server's own sends really go.
    This listener sees them only when the server is pointed at it; a development server left
    at its defaults sends them to its built-in stand-in, which logs them."""
    base = f"http://127.0.0.1:{api_port}"
    return (
        f"Chatting with {url} as {user!r} on {platform}"
        f"{f' in group {group!r}' if group else ''}.\n"
        "Messages the server sends on its own (customer-service messages, group-robot posts) "
        "go where its QUNSHOP_WECHAT_API_BASE and QUNSHOP_WECOM_API_BASE point. In development "
        "with them unset, that is the server's built-in stand-in (/__dev/wechat): they appear in "
        "the server's log as 'server sent ...' lines, not here. To see them here, start it with "
        f"QUNSHOP_WECHAT_API_BASE={base} QUNSHOP_WECOM_API_BASE={base}.\n"
        "Type a message; Ctrl-D quits."
    )


async def run(
    *, url: str, settings: Settings, platform: str, user: str, group: str | None, api_port: int
) -> None:
    runner = web.AppRunner(platform_api(print, settings))  # noqa: T201 - a terminal program prints
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    print(banner(url=url, user=user, platform=platform, group=group, api_port=api_port))  # noqa: T201
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            sim = Simulator(
                url=url,
                settings=settings,
                platform=platform,
                user=user,
                group=group,
                http=http,
                out=print,
            )  # noqa: T201
            while True:
                try:
                    text = await asyncio.to_thread(input, f"{user}> ")
                except EOFError:
                    break
                if text.strip():
                    try:
                        await sim.say(text.strip())
                    except (aiohttp.ClientError, RuntimeError) as exc:
                        print(f"(failed: {exc})")  # noqa: T201
    finally:
        await runner.cleanup()
